"""The products' use-cases: list, read, create, update, delete one, delete all.

Every change writes its webhook event (`fulfil.webhooks.outbox.record_event`) and its history
entry (`fulfil.products.history`) in the same transaction as the change, then nudges the relay
after commit. Errors are `ApiError`s the routes pass on as they are.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from databases import Database
from pydantic import ValidationError

from fulfil.access.audit import Actor, write_audit
from fulfil.db import CONNECTION_LOST, Direct, direct_transaction, fetch_model
from fulfil.errors import ApiError
from fulfil.products import cursor, history, queries
from fulfil.products.schemas import (
    BulkFilter,
    BulkJob,
    BulkResult,
    BulkSelection,
    Product,
    ProductCreate,
    ProductList,
    ProductQuery,
    ProductUpdate,
    TotalKind,
)
from fulfil.queue import JobName, enqueue
from fulfil.resources import Resources
from fulfil.webhooks.outbox import record_event, relay_soon

log = logging.getLogger(__name__)


def not_found(product_id: int) -> ApiError:
    return ApiError(404, f"No product with id {product_id}")


def sku_taken(sku: str, owner_id: int | None) -> ApiError:
    """The 409 for a SKU in use; `owner_id` None: its product was deleted since the write failed."""
    if owner_id is None:
        return ApiError(
            409,
            f"SKU {sku!r} was in use by a product deleted a moment ago; send the request again",
            details=[{"location": "body", "field": "sku", "message": "was in use; try again"}],
        )
    return ApiError(
        409,
        f"SKU {sku!r} is already used by product {owner_id} (SKUs are compared without regard to case)",
        details=[
            {"location": "body", "field": "sku", "message": f"already used by product {owner_id}", "id": owner_id}
        ],
    )


async def count_total(db: Database, sql: queries.ListSql) -> tuple[int, TotalKind]:
    """(total, kind) without a text filter: exact up to the cap; past it the planner's estimate
    (never below what was counted). A text filter's total comes from `search_first`: its
    estimate would be a guess, so past the cap it is "more than the cap"."""
    counted = int(await db.fetch_val(sql.count, sql.params))
    if counted <= sql.cap:
        return counted, "exact"
    plan = await db.fetch_val(sql.estimate, sql.params)
    return max(int(json.loads(plan)[0]["Plan"]["Plan Rows"]), counted), "about"


def needs_count(sql: queries.ListSql, shown: int, more: bool) -> bool:
    """Whether the total needs its own count: not when a numbered page (or the last page) holds
    the list's end, as then the rows before it and on it are all there is. That spares a rare
    term, which a count would look for through the whole table, a second read."""
    return more or sql.cursor or (shown == 0 and sql.offset > 0)


def paging(query: ProductQuery, secret: str) -> tuple[list[Any] | None, bool]:
    """Where the page starts (a cursor's key, or None for a page number or the end) and whether
    it is read backwards; asking for more than one way to page is a 422 naming them."""
    chosen = [name for name in ("after", "before") if getattr(query, name)] + (["last"] if query.last else [])
    if "page" in query.model_fields_set and query.page != 1:
        chosen.append("page")
    if len(chosen) > 1:
        message = f"give only one of page, after, before and last; got {', '.join(chosen)}"
        raise ApiError(
            422,
            f"Invalid query: {message}",
            details=[{"location": "query", "field": name, "message": message} for name in chosen],
        )
    types = tuple(kind for _, kind in queries.sort_keys(query.sort))
    if query.after:
        return cursor.decode(secret, query.sort, types, query.after, "after"), False
    if query.before:
        return cursor.decode(secret, query.sort, types, query.before, "before"), True
    return None, query.last


async def search_first(db: Database, sql: queries.ListSql) -> tuple[str, dict[str, Any], tuple[int, TotalKind] | None]:
    """With a text filter: the matching ids first (up to the cap), then the page to read and its
    parameters, and the total that read settled (None: count it as usual)."""
    if sql.matching is None or sql.page_within is None:
        return sql.page, sql.page_params, None
    ids = await db.fetch_val(sql.matching, sql.params) or []
    if len(ids) > sql.cap:
        return sql.page, sql.page_params, (sql.cap, "more_than")
    return sql.page_within, sql.page_params | {"matched_ids": ids}, (len(ids), "exact")


async def list_products(resources: Resources, query: ProductQuery) -> ProductList:
    """Products matching every filter given, one page of them, the cursors either side of it, and
    how many match in all."""
    db, secret = resources.db, resources.settings.secret_key
    position, reverse = paging(query, secret)
    indexed = bool(await db.fetch_val(queries.SEARCH_INDEXED))
    sql = queries.list_queries(query, position, reverse=reverse, indexed=indexed)
    page, page_params, counted = await search_first(db, sql)
    rows = [dict(row._mapping) for row in await db.fetch_all(page, page_params)]
    more = len(rows) > query.page_size
    rows = rows[: query.page_size]
    if reverse:
        rows.reverse()
    keys = [[row.pop(f"_k{i}") for i in range(len(queries.sort_keys(query.sort)))] for row in rows]
    # Reading forwards, rows lie before this page when it started past a cursor or a page; reading
    # backwards, they lie after it whenever there was a cursor (there is none for the last page).
    has_before = more if reverse else (position is not None or query.page > 1)
    has_after = (position is not None) if reverse else more
    # An empty page past a cursor (its rows deleted since) still leads back to where it started.
    first, last = (keys[0], keys[-1]) if keys else (position, position)
    if counted is not None:
        total, kind = counted
    elif needs_count(sql, len(rows), more):
        total, kind = await count_total(db, sql)
    else:
        total, kind = sql.offset + len(rows), "exact"
    term = query.q or query.sku
    first_page = position is None and not reverse and query.page == 1
    match = await fetch_model(db, queries.SELECT_BY_SKU, {"sku": term}, Product) if term and first_page else None
    return ProductList(
        items=[Product.model_validate(row) for row in rows],
        page=None if position is not None or reverse else query.page,
        page_size=query.page_size,
        total=total,
        total_exact=kind == "exact",
        total_kind=kind,
        next_cursor=cursor.encode(secret, query.sort, last) if has_after and last is not None else None,
        prev_cursor=cursor.encode(secret, query.sort, first) if has_before and first is not None else None,
        search_indexed=indexed,
        sku_match=match,
    )


async def get_product(db: Database, product_id: int) -> Product:
    product = await fetch_model(db, queries.SELECT_PRODUCT, {"id": product_id}, Product)
    if product is None:
        raise not_found(product_id)
    return product


# The single-product writes below run their transaction straight through asyncpg
# (`fulfil.db.direct_transaction`): the same SQL as through `databases`, without its compile of
# each statement, which cost more than asyncpg itself did (see the README's decisions).


async def create_product(resources: Resources, body: ProductCreate, actor: Actor) -> Product:
    async with direct_transaction(resources.db) as conn:
        row = await conn.fetch_one(queries.INSERT_PRODUCT, body.model_dump())
        if row is None:
            raise sku_taken(body.sku, await conn.fetch_val(queries.SELECT_SKU_OWNER, {"sku": body.sku, "id": 0}))
        product = Product.model_validate(dict(row))
        await record_event(conn, "product.created", product.event_data())
        await history.record_change(conn, actor, before=None, after=product)
    await relay_soon(resources)
    return product


async def record_update(conn: Direct, product_id: int, body: ProductUpdate, actor: Actor) -> tuple[Product, bool]:
    """Inside the caller's transaction: change the fields that differ, write `product.updated` and
    the history entry.

    Returns the product and whether anything changed (nothing changed: no write, no event).
    """
    row = await conn.fetch_one(queries.SELECT_PRODUCT_FOR_UPDATE, {"id": product_id})
    if row is None:
        raise not_found(product_id)
    current = Product.model_validate(dict(row))
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if getattr(current, k) != v}
    if not changes:
        return current, False
    values = current.model_dump(include={"sku", "name", "description", "active"}) | changes
    row = await conn.fetch_one(queries.UPDATE_PRODUCT, {**values, "id": product_id})
    assert row is not None  # locked above, so still there
    product = Product.model_validate(dict(row))
    previous = current.model_dump(mode="json", include=set(changes))  # the changed fields' old values
    await record_event(conn, "product.updated", product.event_data(), previous_attributes=previous)
    await history.record_change(conn, actor, before=current, after=product)
    return product, True


async def update_product(resources: Resources, product_id: int, body: ProductUpdate, actor: Actor) -> Product:
    """The fields sent are changed, the others kept; a SKU another product has is a 409."""
    db = resources.db
    try:
        async with direct_transaction(db) as conn:
            product, changed = await record_update(conn, product_id, body, actor)
    except asyncpg.UniqueViolationError:
        sku = body.sku
        assert sku is not None  # only a new SKU can collide with another product's
        raise sku_taken(sku, await db.fetch_val(queries.SELECT_SKU_OWNER, {"sku": sku, "id": product_id})) from None
    if changed:
        await relay_soon(resources)
    return product


async def delete_product(resources: Resources, product_id: int, actor: Actor) -> Product:
    """Delete one product; returns it as it was."""
    async with direct_transaction(resources.db) as conn:
        row = await conn.fetch_one(queries.DELETE_PRODUCT, {"id": product_id})
        if row is None:
            raise not_found(product_id)
        product = Product.model_validate(dict(row))
        await record_event(conn, "product.deleted", product.event_data())
        await history.record_change(conn, actor, before=product, after=None)
    await relay_soon(resources)
    return product


async def bulk_delete(resources: Resources, actor: Actor) -> int:
    """Every product goes in one TRUNCATE, with one `product.bulk_deleted` event, a history entry per
    product (written first, from the locked table) and the audit row saying who did it.

    Returns how many were deleted; a 409 (`busy`) when an import holds the table too long.
    """
    try:
        async with resources.db.connection() as conn, conn.transaction():
            await conn.execute(queries.BULK_DELETE_LOCK_TIMEOUT)
            await conn.execute(queries.LOCK_PRODUCTS)
            deleted = int(await conn.fetch_val(queries.COUNT_PRODUCTS))
            await history.record_deleted(conn, actor)
            await conn.execute(queries.TRUNCATE_PRODUCTS)
            await record_event(conn, "product.bulk_deleted", {"count": deleted})
            await write_audit(conn, actor, "products.bulk_deleted", details={"deleted": deleted})
    except asyncpg.LockNotAvailableError:
        raise ApiError(
            409,
            "Products are being written right now (an import is probably running); try again when it finishes",
            code="busy",
        ) from None
    await relay_soon(resources)
    return deleted


def body_error(message: str, fields: list[str]) -> ApiError:
    """A 422 for a body whose fields are each valid but do not go together."""
    details = [{"location": "body", "field": name, "message": message} for name in fields]
    return ApiError(422, f"Invalid body: {message}", details=details)


def selection_sql(selection: BulkSelection) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    """The conditions and parameters a bulk action's selection stands for, and how the summary
    event names it (`ids` or `filter`). Neither or both, or an empty filter, is a 422."""
    given = [name for name in ("ids", "filter") if getattr(selection, name) is not None]
    if len(given) != 1:
        raise body_error("give either ids (a selection) or filter (everything it matches)", given or ["ids", "filter"])
    if selection.ids is not None:
        return ["id = ANY(:ids)"], {"ids": selection.ids}, {"ids": selection.ids}
    assert selection.filter is not None
    if selection.filter.is_empty():
        message = "needs at least one condition; to delete every product an admin uses DELETE /api/products/bulk"
        raise ApiError(
            422,
            f"Invalid body: filter {message}",
            details=[{"location": "body", "field": "filter", "message": message}],
        )
    clauses, params = queries.filter_clauses(selection.filter)
    return clauses, params, {"filter": selection.filter.model_dump(exclude_none=True)}


async def run_batches(
    db: Database,
    statement: str,
    params: dict[str, Any],
    actor: Actor,
    *,
    job_id: UUID | None = None,
    after: int = 0,
) -> int:
    """Run a bulk action batch by batch (each its own transaction, at most BULK_BATCH rows), so
    no statement holds many locks or runs long; each batch records its history entries as the
    actor's, from `bulk`. The number of rows changed, starting past id `after`.

    With `job_id` each batch's transaction also moves that job's progress (rows changed, where the
    next batch starts), so progress is exactly what has committed and a resumed job goes on from there.
    """
    params = params | history.entry_params(actor, "bulk")
    changed = 0
    while True:
        async with db.transaction():
            row = await db.fetch_one(statement, params | {"after": after})
            assert row is not None
            batch = int(row._mapping["changed"])
            seen, last_id = int(row._mapping["seen"]), row._mapping["last_id"]
            if job_id is not None and seen:
                progress = {"id": job_id, "changed": batch, "after_id": int(last_id)}
                await db.execute(queries.BULK_JOB_PROGRESS, progress)
        changed += batch
        if seen < queries.BULK_BATCH:
            return changed
        after = int(last_id)


@dataclass(frozen=True)
class BulkPlan:
    """What a bulk action runs: `clauses` select the rows it takes, `changing` those it changes
    (an update skips rows already set), `named` is how its event and audit row name it."""

    action: str
    event: str
    clauses: list[str]
    params: dict[str, Any]  # of `clauses`
    changing: list[str]
    changing_params: dict[str, Any]
    named: dict[str, Any]


def bulk_plan(selection: BulkSelection, set_active: bool | None) -> BulkPlan:
    clauses, params, named = selection_sql(selection)
    if set_active is None:
        return BulkPlan("delete", "product.bulk_deleted", clauses, params, clauses, params, named)
    return BulkPlan(
        "update",
        "product.bulk_updated",
        clauses,
        params,
        [*clauses, "active <> :set_active"],
        params | {"set_active": set_active},
        named | {"set": {"active": set_active}},
    )


async def record_summary(db: Database, actor: Actor, plan: BulkPlan, matched: int, affected: int) -> None:
    """The one summary event and the audit row of a bulk action; inside the caller's transaction."""
    await record_event(db, plan.event, {"count": affected, **plan.named})
    details = {"matched": matched, "affected": affected, **plan.named}
    await write_audit(db, actor, f"products.bulk_{plan.action}d", details=details)


async def bulk_action(
    resources: Resources, actor: Actor, selection: BulkSelection, set_active: bool | None = None
) -> BulkResult:
    """Delete (`set_active` None) or set `active` on the selected products, in batches, each with
    a history entry per product changed, then one summary event (`product.bulk_deleted` or
    `product.bulk_updated`) and one audit row.

    A dry run only counts. What fits in one batch runs now; more is recorded as a job and queued
    (`run_bulk_job`), answered at once with the job to poll, so no request waits for minutes and
    the dashboard shows progress. Changes made while it runs (an import, a single edit) are taken
    or left as each batch finds them: the counts are of what was actually changed.
    """
    db = resources.db
    plan = bulk_plan(selection, set_active)
    matched = int(await db.fetch_val(queries.bulk_count(plan.clauses), plan.params))
    if selection.dry_run:
        changing = queries.bulk_count(plan.changing)
        affected = matched if set_active is None else int(await db.fetch_val(changing, plan.changing_params))
        return BulkResult(matched=matched, affected=affected, dry_run=True, job=None)
    if matched > queries.BULK_JOB_ABOVE:
        assert selection.filter is not None  # ids are at most one batch
        job = await queue_bulk_job(resources, actor, plan, selection.filter, set_active, matched)
        return BulkResult(matched=matched, affected=0, dry_run=False, job=job)
    affected = await run_batches(db, queries.bulk_batch(plan.action, plan.changing), plan.changing_params, actor)
    async with db.transaction():
        await record_summary(db, actor, plan, matched, affected)
    await relay_soon(resources)
    return BulkResult(matched=matched, affected=affected, dry_run=False, job=None)


BULK_JOB = JobName("run_bulk_job")


def bulk_job_model(row: Any) -> BulkJob:
    values = dict(row._mapping)
    return BulkJob.model_validate(values | {"progress_url": f"/api/products/bulk-jobs/{values['job_id']}"})


async def queue_bulk_job(
    resources: Resources, actor: Actor, plan: BulkPlan, selected: BulkFilter, set_active: bool | None, matched: int
) -> BulkJob:
    """Record a bulk job (its row is the truth) and queue it; if Redis is away the sweep
    (`fulfil.products.jobs.resume_bulk_jobs`) queues it once it is back."""
    values = {
        "id": uuid4(),
        "action": plan.action,
        "filter": selected.model_dump_json(exclude_none=True),
        "set_active": set_active,
        "matched": matched,
        **actor.columns(),
        "address": actor.address,
    }
    row = await resources.db.fetch_one(queries.INSERT_BULK_JOB, values)
    job = bulk_job_model(row)
    try:
        await enqueue(resources.queue, BULK_JOB, str(job.job_id), job_id=str(job.job_id))
    except Exception as exc:
        log.warning("bulk job %s saved but not queued yet: %r", job.job_id, exc)
    return job


async def run_bulk_job(resources: Resources, job_id: UUID) -> str:
    """Run (or resume, after its last committed batch) a queued bulk job, then write its summary
    event and audit row as the user who asked for it; the job's status at the end.

    A lost database connection propagates, so the queue runs the job again and it resumes.
    """
    db = resources.db
    row = await db.fetch_one(queries.CLAIM_BULK_JOB, {"id": job_id})
    if row is None:
        return "finished already"
    job = row._mapping
    actor = Actor(
        user_id=job["actor_user_id"], email=job["actor"], token_id=job["actor_token_id"], address=job["address"]
    )
    try:
        plan = bulk_plan(BulkSelection.model_validate({"filter": json.loads(job["filter"])}), job["set_active"])
    except (ValidationError, ApiError):  # recorded by an older version whose filters this one lacks
        unread = "Its filter is not one this version understands; nothing was changed."
        await db.fetch_one(queries.FINISH_BULK_JOB, {"id": job_id, "status": "failed", "error": unread})
        return "failed"
    statement = queries.bulk_batch(plan.action, plan.changing)
    status, error = "completed", None
    try:
        await run_batches(db, statement, plan.changing_params, actor, job_id=job_id, after=int(job["after_id"]))
    except CONNECTION_LOST:
        raise
    except Exception as exc:
        log.exception("bulk job %s stopped unexpectedly", job_id)
        status = "failed"
        error = f"The bulk {plan.action} stopped on an unexpected error ({exc.__class__.__name__}); it has been logged."
    async with db.transaction():
        finished = await db.fetch_one(queries.FINISH_BULK_JOB, {"id": job_id, "status": status, "error": error})
        if finished is not None:  # what was changed, even if it stopped part way, is announced once
            await record_summary(db, actor, plan, int(job["matched"]), int(finished._mapping["affected"]))
    await relay_soon(resources)
    return status


def bulk_job_not_found(job_id: object) -> ApiError:
    return ApiError(404, f"No bulk job with id {job_id}")


async def get_bulk_job(db: Database, job_id: UUID) -> BulkJob:
    row = await db.fetch_one(queries.SELECT_BULK_JOB, {"id": job_id})
    if row is None:
        raise bulk_job_not_found(job_id)
    return bulk_job_model(row)
