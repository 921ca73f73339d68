"""`GET /healthz`: is each part up, as this process sees it? 200 when all are, 503 naming what is down."""

from __future__ import annotations

import asyncio
import time

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fulfil.api import app_resources
from fulfil.heartbeat import process_id
from fulfil.queue import HEALTH_CHECK_KEY
from fulfil.resources import Resources
from fulfil.state import app_state

CHECK_TIMEOUT = 2.0


async def check_database(resources: Resources) -> str | None:
    try:
        await asyncio.wait_for(resources.db.fetch_val("SELECT 1"), CHECK_TIMEOUT)
    except Exception as exc:
        return f"unreachable: {exc.__class__.__name__}"
    return None


async def check_redis(resources: Resources) -> str | None:
    try:
        await asyncio.wait_for(resources.redis.ping(), CHECK_TIMEOUT)
    except Exception as exc:
        return f"unreachable: {exc.__class__.__name__}"
    return None


async def check_worker(request: Request, resources: Resources) -> str | None:
    worker = app_state(request.app).worker
    if worker is not None:
        return None if worker.alive else "the in-process worker has stopped"
    try:
        seen = await asyncio.wait_for(resources.redis.exists(HEALTH_CHECK_KEY), CHECK_TIMEOUT)
    except Exception:
        return "unknown: Redis is unreachable"
    return None if seen else "no worker has reported in the last few seconds (run `fulfil worker`)"


async def healthz(request: Request) -> JSONResponse:
    resources = app_resources(request)
    started = time.perf_counter()
    problems = {
        "database": await check_database(resources),
        "redis": await check_redis(resources),
        "worker": await check_worker(request, resources),
    }
    runs_jobs = app_state(request.app).worker is not None
    body = {
        "status": "ok" if not any(problems.values()) else "degraded",
        "checks": {name: {"ok": problem is None, "detail": problem or "ok"} for name, problem in problems.items()},
        "process": process_id(),  # this process's view: each web process answers for itself
        "role": "web+worker" if runs_jobs else "web",
        "runs_jobs": runs_jobs,
        "worker_mode": "in-process" if runs_jobs else "external",
        "elapsed_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    down = [name for name, problem in problems.items() if problem]
    if down:
        body["message"] = "down: " + ", ".join(down)
    return JSONResponse(body, status_code=503 if down else 200)


routes = [Route("/healthz", healthz, methods=["GET"])]
