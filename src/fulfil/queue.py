"""Our only contact with arq: the Redis settings, the enqueueing pool, job names and the Worker.

arq is in maintenance mode; keeping it behind this module (no other module imports arq) means it
could be replaced by editing one file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.constants import health_check_key_suffix, in_progress_key_prefix, job_key_prefix, result_key_prefix
from arq.cron import CronJob, cron
from arq.jobs import serialize_job
from arq.typing import WorkerCoroutine
from arq.utils import timestamp_ms
from arq.worker import Function, Worker, func

log = logging.getLogger(__name__)

# What the rest of the code names without importing arq.
Queue = ArqRedis  # the enqueueing pool (a Redis client)
RegisteredJob = Function  # a job function with the name it is queued under
PeriodicJob = CronJob

QUEUE_NAME = "fulfil:queue"
HEALTH_CHECK_KEY = QUEUE_NAME + health_check_key_suffix
HEALTH_CHECK_SECONDS = 10
MAX_JOBS = 10  # jobs one worker runs at once
# After Redis is lost the worker tries again after 0.2 s, doubling the pause up to 2 s: it is back
# within ~2 s of Redis, and an outage costs a ping every 2 s.
RECONNECT_FIRST_SECONDS = 0.2
RECONNECT_MAX_SECONDS = 2.0


@dataclass(frozen=True)
class JobName:
    """The one name a job is registered under (`job`, `transient`) and queued by (`enqueue`).

    Declare each as a module constant beside the code that queues it, so the worker's list and
    every caller share one value; a test checks that every declared name is registered.
    """

    name: str


async def in_progress(queue: Queue, job_id: str) -> bool:
    """Whether a worker is running job `job_id` now (or died running it, until arq's key expires)."""
    return bool(await queue.exists(in_progress_key_prefix + job_id))


def redis_settings(url: str) -> RedisSettings:
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 2
    settings.conn_retries = 1
    return settings


async def create_queue(url: str) -> Queue:
    return await create_pool(redis_settings(url), default_queue_name=QUEUE_NAME)


async def enqueue(
    queue: Queue, function: JobName, *args: Any, job_id: str | None = None, defer_by: float | None = None
) -> bool:
    """Queue `function(*args)`; False when a job with this id is already queued or running."""
    job = await queue.enqueue_job(function.name, *args, _job_id=job_id, _defer_by=defer_by)
    return job is not None


# Queue a job unless its id is already queued, running or holding a result (what enqueue_job checks),
# without WATCH, so many jobs can go in one pipelined round trip.
_ENQUEUE_IF_NEW = """
if redis.call('exists', KEYS[1], KEYS[2]) > 0 then return 0 end
redis.call('psetex', KEYS[1], ARGV[1], ARGV[2])
redis.call('zadd', KEYS[3], ARGV[3], ARGV[4])
return 1
"""
ENQUEUE_CHUNK = 1000


async def enqueue_many(
    queue: Queue, function: JobName, jobs: Sequence[tuple[str, tuple[Any, ...]]], defer_by: float | None = None
) -> int:
    """Queue `function(*args)` for each `(job_id, args)` in pipelined batches; returns how many were new.

    A job id already queued or running is skipped, exactly as `enqueue` would refuse it.
    """
    script = queue.register_script(_ENQUEUE_IF_NEW)
    added = 0
    for start in range(0, len(jobs), ENQUEUE_CHUNK):
        now = timestamp_ms()
        score = now + int((defer_by or 0) * 1000)
        expires_ms = score - now + queue.expires_extra_ms
        async with queue.pipeline(transaction=False) as pipe:
            for job_id, args in jobs[start : start + ENQUEUE_CHUNK]:
                payload = serialize_job(function.name, args, {}, None, now, serializer=queue.job_serializer)
                keys = [job_key_prefix + job_id, result_key_prefix + job_id, QUEUE_NAME]
                await script(keys=keys, args=[expires_ms, payload, score, job_id], client=pipe)
            added += sum(await pipe.execute())
    return added


def job(coroutine: WorkerCoroutine, name: JobName) -> RegisteredJob:
    """`coroutine` registered under `name`, the constant its callers queue it by."""
    return func(coroutine, name=name.name)


def transient(coroutine: WorkerCoroutine, name: JobName, *, timeout: float | None = None) -> RegisteredJob:
    """A job whose result is not kept, so its id can be queued again the moment it finishes.

    (arq refuses an id while its result exists; a job that raises still keeps its result.)
    """
    return func(coroutine, name=name.name, keep_result=0, timeout=timeout)


def every_few_seconds(coroutine: WorkerCoroutine, seconds: int, *, timeout: float | None = None) -> PeriodicJob:
    """A periodic job run every `seconds` (a divisor of 60) and at start-up, once across all workers."""
    return cron(coroutine, second=set(range(0, 60, seconds)), run_at_startup=True, timeout=timeout)


def every_hour(coroutine: WorkerCoroutine, *, minute: int = 0) -> PeriodicJob:
    """A periodic job run once an hour (at `minute`), once across all workers; not at start-up,
    so every boot (and every test server) stays free of work that can wait."""
    return cron(coroutine, minute=minute, second=0)


async def forget_job(queue: Queue, job_id: str) -> None:
    """Drop arq's records of a job a dead process left behind, so it can be queued again now."""
    await queue.delete(in_progress_key_prefix + job_id, job_key_prefix + job_id, result_key_prefix + job_id)


def build_worker(
    redis_url: str,
    functions: Sequence[RegisteredJob],
    cron_jobs: Sequence[PeriodicJob],
    ctx: dict[str, Any],
) -> Worker:
    """A Worker for the current event loop that leaves signal handling to its host.

    It opens its own Redis pool (Worker.close closes the pool it runs on).
    """
    return Worker(
        functions=list(functions),
        cron_jobs=list(cron_jobs),
        redis_settings=redis_settings(redis_url),
        queue_name=QUEUE_NAME,
        ctx=ctx,
        handle_signals=False,
        max_jobs=MAX_JOBS,
        job_timeout=24 * 3600,
        keep_result=60,
        max_tries=5,
        health_check_interval=HEALTH_CHECK_SECONDS,
        health_check_key=HEALTH_CHECK_KEY,
        poll_delay=0.2,
    )


class InProcessWorker:
    """Runs a Worker as a task beside the web app (or as `fulfil worker`), through any Redis outage.

    arq's `Worker.main` ends with an exception as soon as one Redis call fails. The supervisor
    keeps the same Worker (its running jobs carry on: they need PostgreSQL, not Redis), waits
    for Redis with growing pauses, runs `on_reconnect` (which re-queues from PostgreSQL what the
    outage may have dropped) and starts `main` again; only `drain` ends it.
    """

    def __init__(self, worker: Worker, on_reconnect: Callable[[], Awaitable[object]] | None = None) -> None:
        self.worker = worker
        self.on_reconnect = on_reconnect
        self.task: asyncio.Task[None] | None = None
        self.connected = False  # main() is running (False while waiting for Redis)
        self.outages = 0

    def start(self) -> None:
        self.task = asyncio.create_task(self._supervise(), name="arq-worker")
        self.task.add_done_callback(self._died)

    @property
    def alive(self) -> bool:
        return self.task is not None and not self.task.done() and self.connected

    async def _supervise(self) -> None:
        while True:
            self.connected = True
            try:
                await self.worker.main()
                return  # only a burst worker returns
            except Exception as exc:
                self.connected = False
                self.outages += 1
                log.warning("the job worker lost Redis (%r); reconnecting", exc)
            await self._wait_for_redis()
            # Report in at once rather than up to HEALTH_CHECK_SECONDS later.
            self.worker._last_health_check = 0
            if self.on_reconnect is not None:
                try:
                    await self.on_reconnect()
                except Exception as exc:  # the periodic sweeps do the same a little later
                    log.warning("re-queueing after the Redis outage failed: %r", exc)
            log.info("the job worker reached Redis again; taking jobs")

    async def _wait_for_redis(self) -> None:
        delay = RECONNECT_FIRST_SECONDS
        while True:
            await asyncio.sleep(delay)
            if self.worker._pool is None:  # never connected: main() opens its pool itself
                return
            try:
                await asyncio.wait_for(self.worker.pool.ping(), RECONNECT_MAX_SECONDS)
                return
            except Exception as exc:
                log.debug("Redis still unreachable: %r", exc)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    @staticmethod
    def _died(task: asyncio.Task[None]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.critical("the job worker's supervisor stopped: %r; no jobs will run until restart", exc)

    async def drain(self, grace_seconds: float) -> None:
        """Stop taking jobs, give running ones `grace_seconds` to finish, then close."""
        self.worker.allow_pick_jobs = False
        running = [t for t in self.worker.tasks.values() if not t.done()]
        if running:
            log.info("waiting up to %.0fs for %d running job(s)", grace_seconds, len(running))
            _, pending = await asyncio.wait(running, timeout=grace_seconds)
            if pending:
                log.warning("%d job(s) still running at shutdown; they resume on next start", len(pending))
        if self.task is not None:
            self.task.remove_done_callback(self._died)
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        # arq's close cancels the jobs still running and gathers them without return_exceptions,
        # so a job cancelled in arq's own bookkeeping (before its function runs) would raise
        # CancelledError out of close. They are cancelled and collected here first; arq queues
        # the cancelled ones again as it does in close.
        left = [t for t in self.worker.tasks.values() if not t.done()]
        for task in left:
            task.cancel()
        if left:
            await asyncio.wait(left)
        self.worker.tasks.clear()  # every one has ended now
        try:
            await self.worker.close()
        except Exception as exc:  # Redis gone: the jobs are stopped all the same
            log.warning("the job worker did not close cleanly: %r", exc)
