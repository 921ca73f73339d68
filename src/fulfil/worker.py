"""Every background job and periodic task in one list, and the two ways to run them.

`start_in_process` runs them inside the web app's event loop (the default); `run_standalone` is
`fulfil worker`, for scaling out with WORKER_IN_PROCESS=false on the web processes.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from fulfil.access import jobs as access_jobs
from fulfil.heartbeat import heartbeat
from fulfil.imports import jobs as import_jobs
from fulfil.imports import undo_run
from fulfil.products import jobs as product_jobs
from fulfil.products import service as product_service
from fulfil.queue import (
    InProcessWorker,
    JobName,
    PeriodicJob,
    RegisteredJob,
    build_worker,
    every_few_seconds,
    every_hour,
    job,
    transient,
)
from fulfil.resources import Resources, open_resources
from fulfil.settings import Settings
from fulfil.shutdown import JOB_DRAIN_SECONDS
from fulfil.webhooks import delivery, outbox
from fulfil.webhooks import jobs as webhook_jobs

log = logging.getLogger(__name__)


PING_JOB = JobName("ping")


async def ping(ctx: dict[str, Any], token: str) -> str:
    """Proves a worker is taking jobs: records which process ran the token."""
    resources: Resources = ctx["resources"]
    await resources.redis.set(f"fulfil:ping:{token}", resources.role, ex=300)
    return token


# Each job under the name its callers queue it by (a test checks that every declared name is here).
FUNCTIONS: list[RegisteredJob] = [
    job(ping, PING_JOB),
    transient(webhook_jobs.relay_events, outbox.RELAY_JOB),
    transient(webhook_jobs.deliver_webhooks, delivery.DELIVER_JOB, timeout=webhook_jobs.DELIVERY_JOB_TIMEOUT),
    job(import_jobs.import_csv, import_jobs.IMPORT_JOB),
    job(undo_run.undo_import, import_jobs.UNDO_JOB),
    job(product_jobs.run_bulk_job, product_service.BULK_JOB),
]
CRON_JOBS: list[PeriodicJob] = [
    every_few_seconds(webhook_jobs.sweep_webhooks, webhook_jobs.SWEEP_EVERY_SECONDS),
    every_few_seconds(import_jobs.resume_imports, import_jobs.SWEEP_SECONDS),
    every_few_seconds(product_jobs.resume_bulk_jobs, product_jobs.SWEEP_SECONDS),
    every_hour(import_jobs.prune_import_history, minute=5),
    every_hour(webhook_jobs.prune_webhook_history, minute=35),
    every_hour(access_jobs.prune_access_history, minute=50),
    every_hour(product_jobs.prune_product_history, minute=20),
]


async def requeue_from_database(resources: Resources) -> None:
    """After a Redis outage: queue again what PostgreSQL says is owed, at once rather than at the
    next sweep. A Redis that restarted empty has lost its queue; the job rows (queued imports,
    their age no matter) and the deliveries due are the truth, and every job id is idempotent.
    """
    ctx = {"resources": resources}
    await import_jobs.resume_imports(ctx, queued_grace=0)
    await product_jobs.resume_bulk_jobs(ctx, queued_grace=0)
    await webhook_jobs.sweep_webhooks(ctx)


# The heartbeat tasks (fulfil.heartbeat) of the workers this process runs; each ends with its worker.
_heartbeats: set[asyncio.Task[None]] = set()


def start_in_process(resources: Resources, role: str = "serve") -> InProcessWorker:
    resources.role = role
    worker = InProcessWorker(
        build_worker(resources.redis_url, FUNCTIONS, CRON_JOBS, {"resources": resources}),
        on_reconnect=lambda: requeue_from_database(resources),
    )
    worker.start()
    beat = asyncio.create_task(heartbeat(resources.redis, role, worker), name="worker-heartbeat")
    _heartbeats.add(beat)
    beat.add_done_callback(_heartbeats.discard)
    return worker


class WorkerStopped(Exception):
    """`fulfil worker`'s job worker ended without being asked to (Redis unreachable, say)."""


async def run_standalone(settings: Settings) -> None:
    """`fulfil worker`: the same jobs without the web app, until SIGTERM or SIGINT.

    Raises WorkerStopped if the job worker dies on its own, so the process exits non-zero and
    whatever supervises it starts it again.
    """
    resources = await open_resources(settings)
    try:
        worker = start_in_process(resources, role="worker")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info("worker started; waiting for jobs")
        assert worker.task is not None
        stopping = asyncio.create_task(stop.wait())
        await asyncio.wait([stopping, worker.task], return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        await worker.drain(JOB_DRAIN_SECONDS)
    finally:
        await resources.close()
    if not stop.is_set():
        raise WorkerStopped("the job worker stopped on its own (see the log above); is Redis reachable?")
