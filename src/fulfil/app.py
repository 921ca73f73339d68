"""The Starlette app factory and its lifespan.

The lifespan opens the process's `Resources`, starts the in-process job worker (unless
WORKER_IN_PROCESS=false) and, on shutdown, drains the worker before closing connections.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from fulfil import health, openapi, shipped
from fulfil.access import routes as access_routes
from fulfil.access.guard import protect
from fulfil.access.middleware import access_middleware
from fulfil.access.table import required_scope
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
from fulfil.webhooks.loopguard import LoopGuard
from fulfil.worker import start_in_process

log = logging.getLogger(__name__)


class WebFiles(StaticFiles):
    """The dashboard's files. A method other than GET or HEAD on a path with no file is a 404, not a
    405: this mount takes every path the API has not, and only a resource that exists has methods."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        if scope["method"] not in ("GET", "HEAD"):
            _, found = await anyio.to_thread.run_sync(self.lookup_path, path)
            if found is None:
                raise HTTPException(404)
        return await super().get_response(path, scope)


def api_routes() -> list[BaseRoute]:
    return [
        *health.routes,
        *access_routes.routes,
        *access_routes.page_routes(shipped.web_dir()),
        *products_routes.routes,
        *imports_routes.routes,
        *webhooks_routes.routes,
        *openapi.document_routes(required_scope),
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

    # Every route behind the access check of the route table; the static dashboard is public.
    routes = [*protect(api_routes()), Mount("/", WebFiles(directory=shipped.web_dir(), html=True), name="web")]
    app = Starlette(
        debug=False,
        routes=routes,
        # The body deadline sits inside the access checks: a refused request's body is never awaited.
        # The loop guard is outermost: the service's own deliveries reach nothing (webhooks/loopguard.py).
        middleware=[
            Middleware(LoopGuard, settings=settings),
            *access_middleware(settings),
            Middleware(BodyDeadline, settings=settings),
        ],
        lifespan=lifespan,
        exception_handlers=EXCEPTION_HANDLERS,
    )
    store_state(app, AppState(settings=settings, upload_slots=UploadSlots(settings.max_concurrent_uploads)))
    return app
