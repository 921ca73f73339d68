"""Jobs enqueued through the app run in-process, or in `fulfil worker` when told to."""

import asyncio
import signal
import uuid

import httpx
from redis.asyncio import Redis

from fulfil.queue import enqueue
from fulfil.settings import Settings
from fulfil.state import app_state
from fulfil.worker import PING_JOB
from tests.support.live import LiveServer, start_live_server
from tests.support.processes import run_service, service_env
from tests.support.waiting import eventually


async def ran_in(redis: Redis, token: str) -> str:
    """Which process ran the ping job for `token` (the job writes its role under the token)."""
    return await eventually(lambda: redis.get(f"fulfil:ping:{token}"), within=30)  # type: ignore[no-any-return]


async def test_a_job_runs_inside_the_web_process(live_server: LiveServer, redis: Redis) -> None:
    token = uuid.uuid4().hex
    assert await enqueue(live_server.resources.queue, PING_JOB, token)
    assert await ran_in(redis, token) == "serve"


async def test_a_job_runs_in_the_standalone_worker(
    settings: Settings, database_url: str, redis_url: str, redis: Redis
) -> None:
    live = await start_live_server(settings.model_copy(update={"worker_in_process": False}))
    try:
        async with httpx.AsyncClient(base_url=live.url) as http:
            health = await http.get("/healthz")
        assert health.status_code == 503
        assert "fulfil worker" in health.json()["checks"]["worker"]["detail"]

        env = service_env(DATABASE_URL=database_url, REDIS_URL=redis_url, MIGRATE_ON_START="false")
        with run_service("worker", env=env) as proc:
            token = uuid.uuid4().hex
            assert await enqueue(live.resources.queue, PING_JOB, token)
            assert await ran_in(redis, token) == "worker"
            async with httpx.AsyncClient(base_url=live.url) as http:
                assert (await http.get("/healthz")).status_code == 200
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=10)
        assert proc.returncode == 0, output
        assert "Traceback" not in output
    finally:
        await live.stop()


async def test_stopping_the_worker_survives_a_job_cancelled_before_its_function_ran(live_server: LiveServer) -> None:
    """arq's close gathers its job tasks and re-raises one that ended cancelled (a job stopped in
    arq's own bookkeeping, before its function's error handling): the drain collects them first."""
    worker = app_state(live_server.app).worker
    assert worker is not None
    in_preamble = asyncio.get_running_loop().create_future()  # never set: the job is still starting
    worker.worker.tasks["a-job-still-starting"] = asyncio.ensure_future(in_preamble)
    await worker.drain(0)
    assert in_preamble.cancelled() and worker.worker.tasks == {}
