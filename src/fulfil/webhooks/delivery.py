"""Sending one delivery: one signed POST per attempt, the attempt logged, the next one scheduled.

2xx is success. Anything else, a timeout or a connection error is retried up to the webhook's
`retry_count` times: retry n waits `min(WEBHOOK_RETRY_MAX_SECONDS, WEBHOOK_RETRY_BASE_SECONDS *
2**(n-1))` with ±20% jitter, or the receiver's `Retry-After` kept within [base, max]; a 429 also
pauses the whole webhook for that long (`pacing`). A 410 Gone disables the webhook, and so do
deliveries that all failed for WEBHOOK_DISABLE_AFTER_HOURS (`disable`); an address refused by the
outbound policy, or the service itself (`loopguard`), is not retried.
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

from fulfil.access.audit import Actor, write_audit
from fulfil.db import through_lost_connections
from fulfil.queue import JobName, enqueue
from fulfil.resources import Resources
from fulfil.settings import Settings
from fulfil.webhooks import loopguard, outbound, pacing, queries, secrets
from fulfil.webhooks.outbox import record_event, relay_soon
from fulfil.webhooks.schemas import DISABLED_EVENT, TEST_EVENT
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
# Sustained failure disables a webhook only after this many failed deliveries, however long.
DISABLE_AFTER_FAILURES = 5


def delivery_job_id(first_id: int, message_id: str, attempt_count: int, count: int) -> str:
    """The job id of a batch: its first delivery's id, message id and attempt count, and its size.

    The message id makes it unique across databases (test databases restart identity ids); the
    attempt count tells a retry's job from the first attempt's. The claim in the database, not
    the id, is what guarantees a delivery is not sent twice.
    """
    return f"webhooks:deliver:{first_id}:{message_id}:{attempt_count}+{count}"


class Target(TypedDict):
    """Where a test event goes: the webhook's columns that `attempt` reads (secrets still sealed)."""

    id: int
    url: str
    secret: str | None
    secret_sealed: str | None
    previous_secret_sealed: str | None
    timeout: int
    headers_sealed: str | None
    max_per_second: int | None


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
    peer: str | None = None  # the address the request went to, when it reached one

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
    status_code, excerpt, error, retry_after, blocked, peer = None, "", None, None, False, None
    try:
        async with http.post(
            url, data=body, headers=headers, allow_redirects=False, timeout=aiohttp.ClientTimeout(total=timeout_seconds)
        ) as response:
            status_code = response.status
            peer = peer_address(response)
            excerpt = await read_excerpt(response)
            if loopguard.is_refusal(status_code, response.headers.get(loopguard.HEADER)):
                error, blocked = loopguard.REASON, True
            elif not 200 <= status_code < 300:
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
    return Outcome(at, status_code, duration_ms, excerpt, error, retry_after, blocked, peer)


def peer_address(response: aiohttp.ClientResponse) -> str | None:
    """The IP address the reply came from."""
    transport = response.connection.transport if response.connection else None
    peer = transport.get_extra_info("peername") if transport else None
    return str(peer[0]) if peer else None


def signing_secrets(settings: Settings, row: Any) -> list[str]:
    """The secrets that sign a delivery: the current one (plaintext until the sweep seals it), then
    the one a rotation keeps through its grace."""
    if row["secret"] is not None:
        found = [row["secret"]]
    elif row["secret_sealed"] is not None:
        found = [secrets.unseal(settings, row["secret_sealed"])]
    else:
        return []
    if row["previous_secret_sealed"] is not None:
        found.append(secrets.unseal(settings, row["previous_secret_sealed"]))
    return found


def custom_headers(settings: Settings, row: Any) -> dict[str, str]:
    """The webhook's own headers, opened from their sealed JSON."""
    sealed = row["headers_sealed"]
    return {} if sealed is None else dict(json.loads(secrets.unseal(settings, sealed)))


class Postponed(Exception):
    """The webhook's rate or pause puts this attempt more than `pacing.MAX_WAIT_SECONDS` away."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"postponed by {wait:.3f} s")
        self.wait = wait


async def wait_for_turn(resources: Resources, webhook_id: int, max_per_second: int | None) -> None:
    """Wait for the webhook's next slot (its rate, a pause); raises Postponed when it is too far off.

    Without Redis the attempt goes ahead unpaced: a job only runs while Redis is up, and losing a
    pause's last moments is better than failing the delivery.
    """
    try:
        wait = await pacing.take_slot(resources.redis, webhook_id, max_per_second)
    except Exception as exc:
        log.warning("could not read webhook %s's pace from Redis; sending now: %r", webhook_id, exc)
        return
    if wait < 0:
        raise Postponed(-wait)
    if wait > 0:
        await asyncio.sleep(wait)


async def attempt(resources: Resources, row: Any, event_type: str | None = None, *, paced: bool = True) -> Outcome:
    """Sign and send the delivery `row` (claimed, or a test) once, within its webhook's concurrency
    and, for a webhook with `max_per_second` (`paced`), at its rate."""
    async with outbound.webhook_slot(resources, row["webhook_id"]):
        if paced and row["max_per_second"]:
            await wait_for_turn(resources, row["webhook_id"], row["max_per_second"])
        body = row["body"].encode()
        try:
            headers = delivery_headers(
                event_type=event_type or row["event_type"],
                webhook_id=row["webhook_id"],
                message_id=row["message_id"],
                timestamp=int(time.time()),
                body=body,
                secrets=signing_secrets(resources.settings, row),
                custom=custom_headers(resources.settings, row),
            )
        except secrets.SecretUnreadable as exc:  # not sent: a failure to recover once the key is listed again
            log.error("webhook %s: %s", row["webhook_id"], exc)
            return Outcome(datetime.now(UTC), None, 0.0, "", f"not sent: {exc}", blocked=True)
        headers[loopguard.HEADER] = loopguard.mark(resources.settings)
        outcome = await post(outbound.session(resources), row["url"], body, headers, row["timeout"])
    if outcome.status_code == 429:
        await pause_webhook(resources, row["webhook_id"], outcome)
    return outcome


async def pause_webhook(resources: Resources, webhook_id: int, outcome: Outcome) -> None:
    """A 429: no attempt to this webhook from any worker for its Retry-After (the base retry delay without one)."""
    settings = resources.settings
    seconds = retry_delay(
        1, settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds, outcome.retry_after
    )
    try:
        await pacing.pause(resources.redis, webhook_id, seconds)
    except Exception as exc:
        log.warning("could not pause webhook %s after its 429: %r", webhook_id, exc)


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
    delivered = list({result.row["webhook_id"] for result in results if result.status == "delivered"})
    if delivered:  # the sustained-failure check counts from a webhook's last success
        try:
            await resources.db.execute(queries.MARK_DELIVERED, {"ids": delivered})
        except Exception as exc:
            log.warning("could not note the last success of webhooks %s: %r", delivered, exc)
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
        outcomes = await asyncio.gather(*(paced_attempt(resources, row) for row in live))
    finally:
        renewing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewing
    postponed = [(row, wait) for row, wait in zip(live, outcomes, strict=True) if isinstance(wait, float)]
    if postponed:
        await postpone(resources, postponed)
    sent = [(row, outcome) for row, outcome in zip(live, outcomes, strict=True) if isinstance(outcome, Outcome)]
    results = [decide(row, outcome, resources.settings) for row, outcome in sent]
    stored = await record(resources, results) if results else set()
    failing: set[int] = set()
    for result in results:
        if result.row["id"] not in stored:
            continue
        if result.outcome.gone:
            await disable_gone(resources, result)
        elif result.retry_in is not None:
            await schedule(resources, result)
        elif result.status == "failed":
            failing.add(result.row["webhook_id"])
    for webhook_id in failing:
        await disable_if_failing(resources, webhook_id)
    counts = Counter(result.status for result in results)
    if postponed:
        counts["postponed"] = len(postponed)
    return ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))


async def paced_attempt(resources: Resources, row: Any) -> Outcome | float:
    """The attempt's outcome, or the seconds it was postponed by (its webhook's rate or pause)."""
    try:
        if not row["max_per_second"]:  # unpaced: only a pause can hold it; see `batch_turn`
            await batch_turn(resources, row["webhook_id"])
        return await attempt(resources, row)
    except Postponed as postponed:
        return postponed.wait


async def batch_turn(resources: Resources, webhook_id: int) -> None:
    """A webhook without a rate checks for a pause once per batch and per process, not once per
    delivery: the first attempt of a batch reads it, the others wait for that read."""
    turns = resources.webhook_turns
    turn = turns.get(webhook_id)
    if turn is None:
        turn = turns[webhook_id] = asyncio.ensure_future(wait_for_turn(resources, webhook_id, None))
        turn.add_done_callback(lambda _: turns.pop(webhook_id, None))
    await asyncio.shield(turn)


async def postpone(resources: Resources, postponed: list[tuple[Any, float]]) -> None:
    """Put deliveries whose turn is far off back in the queue for that long (no attempt counted)."""
    wait = max(seconds for _, seconds in postponed)
    ids = [row["id"] for row, _ in postponed]
    await resources.db.execute(queries.POSTPONE_DELIVERIES, {"ids": ids, "wait": wait})
    first = postponed[0][0]
    batch_id = delivery_job_id(first["id"], first["message_id"], first["attempt_count"], len(ids))
    job_id = f"{batch_id}:at{time.time() + wait:.3f}"  # unlike the id of the job running now
    try:
        await enqueue(resources.queue, DELIVER_JOB, ids, job_id=job_id, defer_by=wait)
    except Exception as exc:
        log.warning("could not queue %d postponed deliveries (the sweep will): %r", len(ids), exc)


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
    await _disable(resources, queries.DISABLE_WEBHOOK, {"id": result.row["webhook_id"], "reason": reason})


async def disable_if_failing(resources: Resources, webhook_id: int) -> None:
    """Disable the webhook if its deliveries have all failed for WEBHOOK_DISABLE_AFTER_HOURS (5 at least)."""
    params = {
        "id": webhook_id,
        "hours": resources.settings.webhook_disable_after_hours,
        "min_failed": DISABLE_AFTER_FAILURES,
    }
    await _disable(resources, queries.DISABLE_FAILING, params)


async def _disable(resources: Resources, statement: str, params: dict[str, Any]) -> None:
    """Run a disabling `statement` (it returns the webhook only when it disabled it, once) and
    announce it in the same transaction; then relay the announcement."""
    db = resources.db
    async with db.transaction():
        row = await db.fetch_one(statement, params)
        if row is None:
            return
        await announce_disabled(db, row["id"], row["url"], row["disabled_reason"])
    log.warning("webhook %s disabled: %s", row["id"], row["disabled_reason"])
    await relay_soon(resources)


async def announce_disabled(db: Any, webhook_id: int, url: str, reason: str) -> None:
    """Inside the disabling transaction: the `webhook.disabled` event (to the other webhooks
    subscribed to it; this one is disabled already) and the audit entry (by the service itself)."""
    data = {"webhook_id": webhook_id, "url": url, "reason": reason, "disabled_at": datetime.now(UTC).isoformat()}
    await record_event(db, DISABLED_EVENT, data)
    await write_audit(db, Actor(), "webhook.disabled", f"webhook {webhook_id}", {"reason": reason})


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
        outcome = await attempt(resources, row, TEST_EVENT, paced=False)
    except BaseException:  # cancelled (shutdown): no test delivery stays pending for ever
        with anyio.CancelScope(shield=True):
            error = "the test was interrupted (the service stopping) before the receiver answered"
            await db.execute(queries.FAIL_UNSENT, {"ids": [created["id"]], "error": error})
        raise
    await record(resources, [Result(row, outcome, "delivered" if outcome.ok else "failed")])
    return created["id"], outcome
