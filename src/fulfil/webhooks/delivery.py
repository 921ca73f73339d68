"""Sending one delivery: one signed POST per attempt, the attempt logged, the next one scheduled.

2xx is success. Anything else, a timeout or a connection error is retried up to the webhook's
`retry_count` times: retry n waits `min(WEBHOOK_RETRY_MAX_SECONDS, WEBHOOK_RETRY_BASE_SECONDS *
2**(n-1))` with ±20% jitter, or the receiver's `Retry-After` kept within [base, max]. A 410 Gone
disables the webhook; an address refused by the outbound policy is not retried.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypedDict

import aiohttp
import anyio

from fulfil.db import through_lost_connections
from fulfil.queue import JobName, enqueue
from fulfil.resources import Resources
from fulfil.settings import Settings
from fulfil.webhooks import outbound, queries
from fulfil.webhooks.schemas import TEST_EVENT
from fulfil.webhooks.signing import delivery_headers

log = logging.getLogger(__name__)

DELIVER_JOB = JobName("deliver_webhooks")
EXCERPT_BYTES = 2048
JITTER = 0.2
# A claim holds a delivery this long and is renewed while its job runs; if the process dies, the
# claim runs out and the sweep queues the delivery again.
LEASE_SECONDS = 60
RENEW_EVERY_SECONDS = 20
RECORD_WITHIN_SECONDS = LEASE_SECONDS - RENEW_EVERY_SECONDS - 10  # recorded before the claim can run out
NOTHING_DUE = "nothing due: sent, or claimed by another job"


def delivery_job_id(first_id: int, message_id: str, attempt_count: int, count: int) -> str:
    """The job id of a batch: its first delivery's id, message id and attempt count, and its size.

    The message id makes it unique across databases (test databases restart identity ids); the
    attempt count tells a retry's job from the first attempt's. The claim in the database, not
    the id, is what guarantees a delivery is not sent twice.
    """
    return f"webhooks:deliver:{first_id}:{message_id}:{attempt_count}+{count}"


class Target(TypedDict):
    """Where a test event goes: the webhook's id, URL, secret and timeout."""

    id: int
    url: str
    secret: str | None
    timeout: int


@dataclass
class Outcome:
    """What one attempt got back."""

    at: datetime
    status_code: int | None
    duration_ms: float
    response_excerpt: str
    error: str | None
    retry_after: float | None = None
    blocked: bool = False

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300

    @property
    def gone(self) -> bool:
        """410 Gone: the receiver says the endpoint is gone for good, so the webhook is disabled."""
        return self.status_code == 410

    def as_attempt(self, retry_in: float | None) -> dict[str, Any]:
        """The attempt as stored in the delivery's `attempts` list."""
        return {
            "at": self.at.isoformat(),
            "status_code": self.status_code,
            "duration_ms": self.duration_ms,
            "response_excerpt": self.response_excerpt,
            "error": self.error,
            "retry_in_seconds": None if retry_in is None else round(retry_in, 3),
        }


def retry_after_seconds(value: str | None) -> float | None:
    """A `Retry-After` header (seconds or an HTTP date) in seconds from now; None if absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def retry_delay(retry: int, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds to wait before retry number `retry` (1 for the first retry)."""
    if retry_after is not None:
        return min(max(retry_after, base), cap)
    backoff: float = base * 2.0 ** (retry - 1) * random.uniform(1 - JITTER, 1 + JITTER)
    return min(cap, backoff)


async def read_excerpt(response: aiohttp.ClientResponse) -> str:
    """The first EXCERPT_BYTES of the reply as text; the rest is not read."""
    chunks, size = [], 0
    while size < EXCERPT_BYTES:
        chunk = await response.content.read(EXCERPT_BYTES - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks).decode("utf-8", errors="replace")


async def post(
    http: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str], timeout_seconds: float
) -> Outcome:
    """One POST of exactly `body`; never raises for the receiver's faults, it reports them."""
    at = datetime.now(UTC)
    started = time.perf_counter()
    status_code, excerpt, error, retry_after, blocked = None, "", None, None, False
    try:
        async with http.post(
            url, data=body, headers=headers, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=timeout_seconds)
        ) as response:
            status_code = response.status
            excerpt = await read_excerpt(response)
            if not 200 <= status_code < 300:
                error = f"the receiver answered {status_code} {response.reason or ''}".rstrip()
                if 300 <= status_code < 400:
                    error += f"; redirect to {response.headers.get('Location', '?')} not followed"
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
    except TimeoutError:
        error = f"no complete reply within the webhook's timeout of {timeout_seconds:g} s"
    except aiohttp.ClientError as exc:
        reason = outbound.blocked_error(exc)
        blocked = reason is not None
        error = reason or f"{exc.__class__.__name__}: {exc}"
    except Exception as exc:  # anything else is still this attempt's failure, never the whole batch's
        log.exception("unexpected error posting to %s", url)
        error = f"{exc.__class__.__name__}: {exc}"
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return Outcome(at, status_code, duration_ms, excerpt, error, retry_after, blocked)


async def attempt(resources: Resources, row: Any, event_type: str | None = None) -> Outcome:
    """Sign and send the delivery `row` (claimed, or a test) once, within its webhook's concurrency."""
    async with outbound.webhook_slot(resources, row["webhook_id"]):
        body = row["body"].encode()
        headers = delivery_headers(
            event_type=event_type or row["event_type"],
            webhook_id=row["webhook_id"],
            message_id=row["message_id"],
            timestamp=int(time.time()),
            body=body,
            secret=row["secret"],
        )
        return await post(outbound.session(resources), row["url"], body, headers, row["timeout"])


@dataclass
class Result:
    """One claimed delivery after its attempt: what happened and what comes next."""

    row: Any
    outcome: Outcome
    status: str  # pending (a retry is scheduled), delivered or failed
    retry_in: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.row["id"],
            "attempt_count": self.row["attempt_count"],
            "attempt": self.outcome.as_attempt(self.retry_in),
            "status": self.status,
            "retry_in": self.retry_in,
            "status_code": self.outcome.status_code,
            "error": self.outcome.error,
        }


def decide(row: Any, outcome: Outcome, settings: Settings) -> Result:
    """Delivered on 2xx; failed on 410, a blocked address or the last retry; otherwise a retry later."""
    if outcome.ok:
        return Result(row, outcome, "delivered")
    retry = row["round_attempts"] + 1  # the retry this failure would lead to
    if outcome.gone or outcome.blocked or retry > row["retry_count"]:
        return Result(row, outcome, "failed")
    base, cap = settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds
    return Result(row, outcome, "pending", retry_delay(retry, base, cap, outcome.retry_after))


async def record(resources: Resources, results: list[Result]) -> set[int]:
    """Store each attempt in one statement; returns the ids stored (a raced duplicate is not).

    The requests have gone out, so a lost connection is waited out rather than raised: unrecorded,
    they would be sent again when their claim runs out. The statement is guarded by the attempt
    count, so running it again after one that did commit stores nothing twice.
    """
    payload = json.dumps([result.as_json() for result in results])
    rows = await through_lost_connections(
        lambda: resources.db.fetch_all(queries.RECORD_ATTEMPTS, {"results": payload}), within=RECORD_WITHIN_SECONDS
    )
    return {row["id"] for row in rows}


async def deliver_batch(resources: Resources, ids: list[int]) -> str:
    """Claim the due deliveries among `ids`, attempt them concurrently, record, schedule retries."""
    db = resources.db
    claimed = await db.fetch_all(queries.CLAIM_DELIVERIES, {"ids": ids, "lease": LEASE_SECONDS})
    if not claimed:
        return NOTHING_DUE
    disabled = [row["id"] for row in claimed if not row["enabled"]]
    if disabled:
        await db.execute(queries.FAIL_UNSENT, {"ids": disabled, "error": "not sent: the webhook is disabled"})
    live = [row for row in claimed if row["enabled"]]
    if not live:
        return f"{len(disabled)} not sent: the webhook is disabled"
    renewing = asyncio.create_task(renew_claims(resources, [row["id"] for row in live]))
    try:
        outcomes = await asyncio.gather(*(attempt(resources, row) for row in live))
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
    results = [decide(row, outcome, resources.settings) for row, outcome in zip(live, outcomes, strict=True)]
    stored = await record(resources, results)
    for result in results:
        if result.row["id"] not in stored:
            continue
        if result.outcome.gone:
            await disable_gone(resources, result)
        elif result.retry_in is not None:
            await schedule(resources, result)
    counts = Counter(result.status for result in results)
    return ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))


async def renew_claims(resources: Resources, ids: list[int]) -> None:
    """Keep the claim on deliveries still in flight (slow receivers, many queued for one webhook).

    A renewal that fails is logged and tried again next time: ending here would make the batch
    raise after its requests were sent, and their attempts would never be recorded.
    """
    while True:
        await asyncio.sleep(RENEW_EVERY_SECONDS)
        try:
            await resources.db.execute(queries.RENEW_CLAIMS, {"ids": ids, "lease": LEASE_SECONDS})
        except Exception as exc:
            log.warning("could not renew the claim on %d deliveries in flight: %r", len(ids), exc)


async def disable_gone(resources: Resources, result: Result) -> None:
    """A 410 Gone: the receiver says the endpoint is gone for good, so stop sending to it."""
    at = result.outcome.at.isoformat(timespec="seconds")
    reason = f"the receiver answered 410 Gone at {at} (delivery {result.row['id']})"
    await resources.db.execute(queries.DISABLE_WEBHOOK, {"id": result.row["webhook_id"], "reason": reason})
    log.warning("webhook %s disabled: %s", result.row["webhook_id"], reason)


async def schedule(resources: Resources, result: Result) -> None:
    """Queue the retry; if Redis is down the periodic sweep queues it once it is overdue."""
    row = result.row
    job_id = delivery_job_id(row["id"], row["message_id"], row["attempt_count"] + 1, 1)
    try:
        await enqueue(resources.queue, DELIVER_JOB, [row["id"]], job_id=job_id, defer_by=result.retry_in)
    except Exception as exc:
        log.warning("could not queue the retry of delivery %s (the sweep will): %r", row["id"], exc)


async def send_test(resources: Resources, webhook: Target, body: str) -> tuple[int, Outcome]:
    """Send one `webhook.test` event right away (no retries), logged as a delivery; returns (id, outcome)."""
    db = resources.db
    created = await db.fetch_one(
        queries.INSERT_TEST_DELIVERY, {"webhook_id": webhook["id"], "event_type": TEST_EVENT, "body": body}
    )
    assert created is not None  # INSERT ... RETURNING always returns its row
    row = {
        **webhook,
        "id": created["id"],
        "webhook_id": webhook["id"],
        "message_id": created["message_id"],
        "body": body,
        "attempt_count": 0,
    }
    try:
        outcome = await attempt(resources, row, TEST_EVENT)
    except BaseException:  # cancelled (shutdown): no test delivery stays pending for ever
        with anyio.CancelScope(shield=True):
            error = "the test was interrupted (the service stopping) before the receiver answered"
            await db.execute(queries.FAIL_UNSENT, {"ids": [created["id"]], "error": error})
        raise
    await record(resources, [Result(row, outcome, "delivered" if outcome.ok else "failed")])
    return created["id"], outcome
