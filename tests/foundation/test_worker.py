"""Jobs enqueued through the app run in-process, or in `fulfil worker` when told to."""

import signal
import uuid

import httpx
from redis.asyncio import Redis

from fulfil.queue import enqueue
from fulfil.settings import Settings
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
