"""Sending one delivery: one signed POST per attempt, the attempt logged, the next one scheduled.

2xx is success. Anything else, a timeout or a connection error is retried up to the webhook's
`retry_count` times: retry n waits `min(WEBHOOK_RETRY_MAX_SECONDS, WEBHOOK_RETRY_BASE_SECONDS *
2**(n-1))` with ±20% jitter, or the receiver's `Retry-After` kept within [base, max]. A 410 Gone
disables the webhook; an address refused by the outbound policy is not retried.
"""

from __future__ import annotations

import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp

from fulfil.queue import enqueue
from fulfil.resources import Resources
from fulfil.webhooks import outbound, queries
from fulfil.webhooks.signing import delivery_headers

log = logging.getLogger(__name__)

DELIVER_JOB = "deliver_webhook"
EXCERPT_BYTES = 2048
JITTER = 0.2


def delivery_job_id(delivery_id: int, message_id: str, attempt_count: int) -> str:
    """One arq job id per (delivery, attempt): the queue never runs the same attempt twice.

    The message id makes it unique across databases (test databases restart identity ids).
    """
    return f"webhooks:deliver:{delivery_id}:{message_id}:{attempt_count}"


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

    def record(self, retry_in: float | None) -> str:
        """The attempt as stored in the delivery's `attempts` list (JSON)."""
        return json.dumps(
            {
                "at": self.at.isoformat(),
                "status_code": self.status_code,
                "duration_ms": self.duration_ms,
                "response_excerpt": self.response_excerpt,
                "error": self.error,
                "retry_in_seconds": None if retry_in is None else round(retry_in, 3),
            }
        )


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
    return min(cap, base * 2 ** (retry - 1) * random.uniform(1 - JITTER, 1 + JITTER))


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
    duration_ms = round((time.perf_counter() - started) * 1000, 1)
    return Outcome(at, status_code, duration_ms, excerpt, error, retry_after, blocked)


async def attempt(resources: Resources, row: Any, event_type: str | None = None) -> Outcome:
    """Sign and send the delivery `row` (from SELECT_FOR_ATTEMPT or a test) once."""
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


async def record(resources: Resources, row: Any, outcome: Outcome, status: str, retry_in: float | None = None) -> bool:
    """Store the attempt; False when another run recorded this attempt first (nothing stored)."""
    next_at = datetime.now(UTC) + timedelta(seconds=retry_in) if retry_in is not None else None
    values = {
        "id": row["id"],
        "attempt_count": row["attempt_count"],
        "attempt": outcome.record(retry_in),
        "status": status,
        "next_attempt_at": next_at,
        "status_code": outcome.status_code,
        "error": outcome.error,
    }
    return await resources.db.fetch_val(queries.RECORD_ATTEMPT, values) is not None


async def deliver(resources: Resources, delivery_id: int, attempt_count: int) -> str:
    """Make attempt number `attempt_count + 1` of a delivery, if it is still the one due."""
    db = resources.db
    row = await db.fetch_one(queries.SELECT_FOR_ATTEMPT, {"id": delivery_id})
    if row is None or row["status"] != "pending" or row["attempt_count"] != attempt_count:
        return "skipped: not due"
    if not row["enabled"]:
        error = f"not sent: webhook {row['webhook_id']} is disabled"
        await db.execute(queries.FAIL_UNSENT, {"id": delivery_id, "error": error})
        return "failed: webhook disabled"
    outcome = await attempt(resources, row)
    if outcome.ok:
        await record(resources, row, outcome, "delivered")
        return "delivered"
    if outcome.status_code == 410:
        reason = f"the receiver answered 410 Gone at {outcome.at.isoformat(timespec='seconds')} (delivery {row['id']})"
        async with db.transaction():
            if await record(resources, row, outcome, "failed"):
                await db.execute(queries.DISABLE_WEBHOOK, {"id": row["webhook_id"], "reason": reason})
        log.warning("webhook %s disabled: %s", row["webhook_id"], reason)
        return "failed: 410 Gone, webhook disabled"
    retry = row["round_attempts"] + 1  # the retry this failure would lead to
    if outcome.blocked or retry > row["retry_count"]:
        await record(resources, row, outcome, "failed")
        return "failed: " + ("blocked" if outcome.blocked else "retries exhausted")
    settings = resources.settings
    delay = retry_delay(
        retry, settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds, outcome.retry_after
    )
    if await record(resources, row, outcome, "pending", retry_in=delay):
        await schedule(resources, delivery_id, row["message_id"], attempt_count + 1, delay)
    return f"retry {retry} in {delay:.2f}s"


async def schedule(resources: Resources, delivery_id: int, message_id: str, attempt_count: int, delay: float) -> None:
    """Queue the next attempt; if Redis is down the periodic sweep queues it once it is due."""
    job_id = delivery_job_id(delivery_id, message_id, attempt_count)
    try:
        await enqueue(resources.queue, DELIVER_JOB, delivery_id, attempt_count, job_id=job_id, defer_by=delay)
    except Exception as exc:
        log.warning("could not queue delivery %s (the sweep will): %r", delivery_id, exc)


async def send_test(resources: Resources, webhook: Any, body: str) -> tuple[int, Outcome]:
    """Send one `webhook.test` event right away (no retries), logged as a delivery; returns (id, outcome)."""
    db = resources.db
    created = await db.fetch_one(
        queries.INSERT_TEST_DELIVERY, {"webhook_id": webhook["id"], "event_type": "webhook.test", "body": body}
    )
    row = {
        **dict(webhook),
        "id": created["id"],
        "webhook_id": webhook["id"],
        "message_id": created["message_id"],
        "body": body,
        "attempt_count": 0,
    }
    outcome = await attempt(resources, row, "webhook.test")
    await record(resources, row, outcome, "delivered" if outcome.ok else "failed")
    return created["id"], outcome
