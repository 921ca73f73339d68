"""What the web app holds while it runs, in one typed object stored once on `app.state`.

`create_app` stores it; `fulfil serve` may open `resources` before uvicorn starts (so a failed
connection ends start-up with one line) and sets `drain_deadline` when signalled; the lifespan
fills in the rest. Everything reads it through `app_state`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:  # types only: this module is read from every layer and imports none of them
    from starlette.applications import Starlette

    from fulfil.imports.progress import ProgressHub
    from fulfil.limits import UploadSlots
    from fulfil.queue import InProcessWorker
    from fulfil.resources import Resources
    from fulfil.settings import Settings


@dataclass
class AppState:
    settings: Settings
    # The uploads this process is receiving, against MAX_CONCURRENT_UPLOADS.
    upload_slots: UploadSlots
    resources: Resources | None = None
    # The in-process job worker; None when jobs run in `fulfil worker` (WORKER_IN_PROCESS=false).
    worker: InProcessWorker | None = None
    # One progress subscription shared by every SSE client of this process.
    import_hub: ProgressHub | None = None
    # time.monotonic() by which the job worker's drain must end (see fulfil.shutdown).
    drain_deadline: float | None = None
    # The OpenAPI document, built once from the routes on first request.
    openapi: dict[str, Any] | None = None

    @property
    def opened(self) -> Resources:
        """The process's connections; only while the app runs (its lifespan opened them)."""
        if self.resources is None:
            raise RuntimeError("the app's resources are not open: is its lifespan running?")
        return self.resources

    @property
    def hub(self) -> ProgressHub:
        """The import progress subscription; only while the app runs."""
        if self.import_hub is None:
            raise RuntimeError("the import progress hub is not started: is the app's lifespan running?")
        return self.import_hub


def app_state(app: Starlette) -> AppState:
    """The app's one state object (stored by `create_app`)."""
    return cast("AppState", app.state.fulfil)


def store_state(app: Starlette, state: AppState) -> None:
    app.state.fulfil = state
