"""The products' SQL: plain parameterised strings, plus the builders for the list and bulk actions.

Lists and bulk actions are built only from the fixed fragments below (filters and sort keys are
whitelisted); user text only ever travels as a parameter, with LIKE wildcards escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fulfil.orphans import orphaned_jobs, try_lock
from fulfil.products import history
from fulfil.products.fields import FIELDS
from fulfil.products.schemas import ProductFilter, ProductQuery

COLUMNS = "id, sku, name, description, active, created_at, updated_at"

SELECT_PRODUCT = f"SELECT {COLUMNS} FROM product WHERE id = :id"

SELECT_PRODUCT_FOR_UPDATE = f"SELECT {COLUMNS} FROM product WHERE id = :id FOR UPDATE"

SELECT_BY_SKU = f"SELECT {COLUMNS} FROM product WHERE lower(sku) = lower(:sku)"

# DO NOTHING on the lower(sku) index: a taken SKU returns no row instead of aborting the transaction.
INSERT_PRODUCT = f"""
INSERT INTO product (sku, name, description, active)
VALUES (:sku, :name, :description, :active)
ON CONFLICT ((lower(sku))) DO NOTHING
RETURNING {COLUMNS}
"""

# Whether the server had pg_trgm when the migrations ran (they create the trigram indexes only then).
SEARCH_INDEXED = "SELECT to_regclass('product_name_trgm_idx') IS NOT NULL"

SELECT_SKU_OWNER = "SELECT id FROM product WHERE lower(sku) = lower(:sku) AND id <> :id"

UPDATE_PRODUCT = f"""
UPDATE product
SET sku = :sku, name = :name, description = :description, active = :active, updated_at = now()
WHERE id = :id
RETURNING {COLUMNS}
"""

DELETE_PRODUCT = f"DELETE FROM product WHERE id = :id RETURNING {COLUMNS}"

# Bulk delete: TRUNCATE needs an exclusive lock; an import batch holding the table makes us wait,
# and a queued exclusive lock would stall every reader behind it, so give up after a few seconds.
BULK_DELETE_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '5s'"
LOCK_PRODUCTS = "LOCK TABLE product IN ACCESS EXCLUSIVE MODE"
COUNT_PRODUCTS = "SELECT count(*) FROM product"
TRUNCATE_PRODUCTS = "TRUNCATE product"

# Up to this many matching products `total` is an exact count; past it, the planner's estimate.
# Counting is cheap without a text filter (a sequential read) but a contains-filter rechecks each
# matching row on its heap page, so there the exact count stops sooner.
COUNT_CAP = 10_000
SEARCH_COUNT_CAP = 1_000

# Bulk actions change at most this many rows per statement (each batch commits on its own), so
# no statement holds many row locks or runs for long.
BULK_BATCH = 10_000
# A bulk action matching more than this (more than one batch) runs as a job the dashboard
# follows; up to it, the request does it and answers with the counts.
BULK_JOB_ABOVE = 10_000
# What a bulk batch's changed rows carry for their history entries.
_RETURNED_FIELDS = ", ".join(f"p.{f}" for f in ("id", *FIELDS))

# The columns each text filter looks in. `q` searches SKU and name, the two columns with a trigram
# index (description has none: see the migration that dropped it), so it stays an index search at
# any size.
SEARCHED = {"sku": ("sku",), "name": ("name",), "description": ("description",), "q": ("sku", "name")}
TRIGRAM_INDEXED = ("sku", "name")  # where the server has pg_trgm (migration 0002)
TEXT_FILTERS = tuple(SEARCHED)

# Each sort's key: (SQL expression, the cursor's type for it) in order; id breaks ties, so the key
# is unique and a position in it is one row. Every key has an index (migrations 0002 and 0010).
SORTS: dict[str, tuple[tuple[str, type], ...]] = {
    "id": (("id", int),),
    "sku": (("lower(sku)", str),),  # unique, so no tie-breaker (and the unique index serves it)
    "name": (("product_name_key(name)", str), ("id", int)),
    "description": (("lower(left(coalesce(description, ''), 100))", str), ("id", int)),
    "active": (("active", bool), ("id", int)),
    "created_at": (("created_at", datetime), ("id", int)),
    "updated_at": (("updated_at", datetime), ("id", int)),
}


def contains_pattern(term: str) -> str:
    """An ILIKE pattern matching `term` anywhere; `%`, `_` and `\\` in the term match themselves."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def contains_test(column: str, field: str, term: str, *, indexed: bool) -> str:
    """Whether `column` holds the `:field` pattern, any case, as the cheapest test for that column.

    ILIKE on a trigram-indexed column is an index search. A column read row by row instead takes
    `lower(...) LIKE`, which matches the same rows as ILIKE (ILIKE lowers each value and matches it
    character by character; LIKE matches the lowered bytes): about a third faster through a
    million rows. A term of ASCII characters only needs ASCII case folding, which the "C"
    collation's lower() does byte by byte, about twice as fast again; it matches the same rows but
    for İ and the Kelvin sign, the two capitals whose lower case is ASCII.
    """
    if indexed and column in TRIGRAM_INDEXED:
        return f"{column} ILIKE :{field}"
    if term.isascii():
        return f'lower({column} COLLATE "C") LIKE lower(:{field} COLLATE "C")'
    return f"lower({column}) LIKE lower(:{field})"


def filter_clauses(query: ProductFilter, *, indexed: bool = True) -> tuple[list[str], dict[str, Any]]:
    """The conditions (joined by AND) and their parameters for the query's filters; `indexed`:
    SKU and name have their trigram indexes (false where the server has no pg_trgm)."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for field, columns in SEARCHED.items():
        term = getattr(query, field)
        if term is not None:
            tests = [contains_test(column, field, term, indexed=indexed) for column in columns]
            clauses.append(tests[0] if len(tests) == 1 else f"({' OR '.join(tests)})")
            params[field] = contains_pattern(term)
    if query.active is not None:
        clauses.append("active = :active")
        params["active"] = query.active
    return clauses, params


def list_where(query: ProductFilter, *, indexed: bool = True) -> tuple[str, dict[str, Any]]:
    """The WHERE clause (or "") and its parameters for the query's filters, all combined with AND."""
    clauses, params = filter_clauses(query, indexed=indexed)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def sort_keys(sort: str) -> tuple[tuple[str, type], ...]:
    return SORTS[sort.removeprefix("-")]


def order_by(sort: str, *, reverse: bool = False) -> str:
    """ORDER BY for `sort` (`-` in front: descending); `reverse` reads it from the other end."""
    descending = sort.startswith("-") != reverse
    return ", ".join(key + (" DESC" if descending else "") for key, _ in sort_keys(sort))


def key_columns(sort: str) -> str:
    """The sort key's values as extra columns `_k0`, `_k1`: what a cursor records of a row."""
    return ", ".join(f"{key} AS _k{i}" for i, (key, _) in enumerate(sort_keys(sort)))


def after_clause(sort: str, *, reverse: bool) -> str:
    """Rows past the cursor's position (`:c0`, `:c1`) in the direction read: a row comparison,
    which PostgreSQL answers from the sort's index."""
    keys = sort_keys(sort)
    params = [f":c{i}" for i in range(len(keys))]
    descending = sort.startswith("-") != reverse
    return f"({', '.join(key for key, _ in keys)}) {'<' if descending else '>'} ({', '.join(params)})"


@dataclass(frozen=True)
class ListSql:
    """The statements of one `GET /api/products`: the page, a count that stops past `cap`, an estimate.

    `params` are the filters' (for the count and the estimate); `page_params` add the page's window
    or cursor. `reverse`: the page was read backwards (towards the start) and must be flipped.

    With a text filter, `matching` comes first: the ids of up to `cap + 1` matching rows, in one
    read. Within the cap they are every match, so the count is exact and `page_within` (the page
    among those ids, `:matched_ids`) reads no more than them: a rare term is looked for through
    the table once, not once for the page and again for the count.
    """

    page: str
    page_within: str | None
    matching: str | None
    count: str
    estimate: str
    params: dict[str, Any]
    page_params: dict[str, Any]
    cap: int
    reverse: bool
    cursor: bool  # the page starts past a cursor's position
    offset: int  # rows before a numbered page (0 for a cursor's or the last page)


def list_queries(
    query: ProductQuery, position: list[Any] | None = None, *, reverse: bool = False, indexed: bool = True
) -> ListSql:
    """The list's statements; with `position` (a cursor's key) the page starts past it, reading
    backwards when `reverse`; the page asks for one row more than it shows, to know if more follow.
    `indexed`: as in `filter_clauses`."""
    clauses, params = filter_clauses(query, indexed=indexed)
    page_clauses = list(clauses)
    page_params = dict(params) | {"limit": query.page_size + 1}
    offset = ""
    if position is not None:
        page_clauses.append(after_clause(query.sort, reverse=reverse))
        page_params |= {f"c{i}": value for i, value in enumerate(position)}
    elif not reverse:
        offset = " OFFSET :offset"
        page_params["offset"] = (query.page - 1) * query.page_size
    where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
    searched = any(getattr(query, field) is not None for field in TEXT_FILTERS)
    cap = SEARCH_COUNT_CAP if searched else COUNT_CAP

    def page(conditions: list[str]) -> str:
        page_where = ("WHERE " + " AND ".join(conditions)) if conditions else ""
        return f"""
SELECT {COLUMNS}, {key_columns(query.sort)} FROM product {page_where}
ORDER BY {order_by(query.sort, reverse=reverse)}
LIMIT :limit{offset}
"""

    return ListSql(
        page=page(page_clauses),
        page_within=page([*page_clauses, "id = ANY(:matched_ids)"]) if searched else None,
        matching=f"SELECT array_agg(id) FROM (SELECT id FROM product {where} LIMIT {cap + 1}) AS m"
        if searched
        else None,
        count=f"SELECT count(*) FROM (SELECT 1 FROM product {where} LIMIT {cap + 1}) AS capped",
        estimate=f"EXPLAIN (FORMAT JSON) SELECT 1 FROM product {where}",
        params=params,
        page_params=page_params,
        cap=cap,
        reverse=reverse,
        cursor=position is not None,
        offset=page_params.get("offset", 0),
    )


def bulk_batch(action: str, clauses: list[str]) -> str:
    """One batch of a bulk `action` ("delete" or "update"): up to BULK_BATCH matching rows past
    `:after` in id order; answers how many changed and the last id, where the next batch starts.

    The same statement writes a history entry per changed row (it takes `history.entry_params`):
    a deletion with the whole product, an update with `active` before and after, read from the
    locked batch, so `clauses` must keep only the rows it changes (`active <> :set_active`).
    """
    where = " AND ".join([*clauses, "id > :after"])
    if action == "delete":
        change = f"DELETE FROM product p USING batch WHERE p.id = batch.id RETURNING {_RETURNED_FIELDS}"
        entries = history.deleted_entries("changed")
    else:
        change = (
            "UPDATE product p SET active = :set_active, updated_at = now() FROM batch "
            f"WHERE p.id = batch.id RETURNING {_RETURNED_FIELDS}, batch.active AS was_active"
        )
        entries = history.active_changed_entries("changed")
    return f"""
WITH batch AS (SELECT id, active FROM product WHERE {where} ORDER BY id LIMIT {BULK_BATCH} FOR UPDATE),
changed AS ({change}),
recorded AS ({entries})
SELECT (SELECT count(*) FROM batch) AS seen, (SELECT max(id) FROM batch) AS last_id,
       (SELECT count(*) FROM changed) AS changed
"""


def bulk_count(clauses: list[str]) -> str:
    """How many rows a bulk action's selection matches (its dry run)."""
    return f"SELECT count(*) FROM product WHERE {' AND '.join(clauses)}"


# A bulk action over more than one batch runs as a job (`product_bulk_job`, migration 0013).
BULK_JOB_COLUMNS = "id AS job_id, action, status, matched, affected, error, created_at, finished_at"

INSERT_BULK_JOB = f"""
INSERT INTO product_bulk_job (id, action, filter, set_active, matched, actor_user_id, actor_token_id, actor, address)
VALUES (:id, :action, CAST(:filter AS jsonb), :set_active, :matched, :actor_user_id, :actor_token_id, :actor, :address)
RETURNING {BULK_JOB_COLUMNS}
"""

SELECT_BULK_JOB = f"SELECT {BULK_JOB_COLUMNS} FROM product_bulk_job WHERE id = :id"

CLAIM_BULK_JOB = """
UPDATE product_bulk_job SET status = 'running', updated_at = now()
WHERE id = :id AND status IN ('queued', 'running')
RETURNING action, filter, set_active, matched, affected, after_id, actor_user_id, actor_token_id, actor, address
"""

# In each batch's transaction: the job's progress moves with the rows it changed, so a resumed
# job starts after the last committed batch and counts nothing twice.
BULK_JOB_PROGRESS = """
UPDATE product_bulk_job SET affected = affected + :changed, after_id = :after_id, updated_at = now()
WHERE id = :id
RETURNING affected
"""

# Only a running job finishes, once: a second copy that raced it writes no second summary.
FINISH_BULK_JOB = """
UPDATE product_bulk_job SET status = :status, error = :error, finished_at = now(), updated_at = now()
WHERE id = :id AND status = 'running'
RETURNING affected
"""

# A session advisory lock on the job while it runs (its own namespace): a process that dies
# loses its connection and the lock, which is how the sweep tells an orphaned job from a live one.
BULK_LOCK_NAMESPACE = 4013
TRY_BULK_LOCK = try_lock(BULK_LOCK_NAMESPACE)

ORPHANED_BULK_JOBS = orphaned_jobs("product_bulk_job", BULK_LOCK_NAMESPACE)

# Finished jobs are kept this long (their audit rows and events stay): the dashboard only polls
# a running one.
PRUNE_BULK_JOBS = "DELETE FROM product_bulk_job WHERE finished_at < now() - interval '7 days'"
