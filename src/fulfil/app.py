"""The Starlette app factory and its lifespan.

The lifespan opens the process's `Resources`, starts the in-process job worker (unless
WORKER_IN_PROCESS=false) and, on shutdown, drains the worker before closing connections.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from fulfil import health, openapi, shipped
from fulfil.errors import EXCEPTION_HANDLERS
from fulfil.imports import routes as imports_routes
from fulfil.imports.progress import ProgressHub
from fulfil.limits import BodyDeadline, UploadSlots
from fulfil.products import routes as products_routes
from fulfil.resources import open_resources
from fulfil.settings import Settings
from fulfil.shutdown import job_drain_seconds
from fulfil.state import AppState, app_state, store_state
from fulfil.webhooks import routes as webhooks_routes
from fulfil.worker import start_in_process

log = logging.getLogger(__name__)


def api_routes() -> list[BaseRoute]:
    return [
        *health.routes,
        *products_routes.routes,
        *imports_routes.routes,
        *webhooks_routes.routes,
        *openapi.routes,
    ]


async def drain_worker(state: AppState) -> None:
    """Drain the in-process worker, if there is one (looked up at shutdown: a test may add one)."""
    if state.worker is not None:
        await state.worker.drain(job_drain_seconds(state.drain_deadline))


def create_app(settings: Settings) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Shutdown runs in reverse order, each step even if one before it failed.
        async with contextlib.AsyncExitStack() as stack:
            state = app_state(app)
            # `fulfil serve` opens them before uvicorn starts (see cli.serve); closed here either way.
            resources = state.resources or await open_resources(settings)
            stack.push_async_callback(resources.close)
            state.resources = resources
            hub = state.import_hub = ProgressHub(resources.redis)
            hub.start()
            stack.push_async_callback(hub.stop)
            state.worker = start_in_process(resources) if settings.worker_in_process else None
            stack.push_async_callback(drain_worker, state)
            log.info("ready; job worker %s", "in this process" if state.worker else "external (fulfil worker)")
            yield

    routes = [*api_routes(), Mount("/", StaticFiles(directory=shipped.web_dir(), html=True), name="web")]
    app = Starlette(
        debug=False,
        routes=routes,
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[Middleware(BodyDeadline, settings=settings)],
    )
    store_state(app, AppState(settings=settings, upload_slots=UploadSlots(settings.max_concurrent_uploads)))
    return app
