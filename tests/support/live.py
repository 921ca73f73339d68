"""The app served by uvicorn in the caller's own event loop, on a socket bound before it starts."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from fulfil.app import create_app
from fulfil.limits import uvicorn_options
from fulfil.resources import Resources
from fulfil.settings import Settings
from fulfil.state import app_state
from fulfil.worker import start_in_process
from tests.support.ports import bound_socket
from tests.support.waiting import eventually


@dataclass
class LiveServer:
    """The app served by uvicorn on a free port, in the test's own event loop."""

    url: str
    app: Starlette
    server: uvicorn.Server
    task: asyncio.Task[None]

    @property
    def resources(self) -> Resources:
        return app_state(self.app).opened

    async def stop_worker(self) -> None:
        """Stop the in-process worker at once: no job runs and no periodic sweep fires until start_worker."""
        worker = app_state(self.app).worker
        assert worker is not None
        await worker.drain(0)

    def start_worker(self) -> None:
        app_state(self.app).worker = start_in_process(self.resources)

    async def stop(self) -> None:
        self.server.should_exit = True
        await asyncio.wait_for(self.task, 15)


async def start_live_server(settings: Settings, app: Starlette | None = None) -> LiveServer:
    """Serve `app` (by default the service's app for `settings`) and wait until it takes requests."""
    app = app or create_app(settings)
    sock = bound_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **uvicorn_options(settings)
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started or task.done(), within=20, every=0.02, what="uvicorn started")
    if task.done():
        task.result()
        raise RuntimeError("the test server stopped during start-up")
    return LiveServer(url=f"http://127.0.0.1:{port}", app=app, server=server, task=task)
