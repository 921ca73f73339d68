"""`fulfil serve | worker | migrate | status | users | tokens`: the service's one entry point (`python -m fulfil`)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import time
from types import FrameType

from fulfil.settings import Settings, SettingsError, load_settings
from fulfil.shutdown import JOB_DRAIN_DEADLINE_SECONDS, OPEN_REQUESTS_SECONDS

log = logging.getLogger("fulfil")


class StartupError(Exception):
    """Something the service needs is missing; the message says what to fix."""


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # arq logs every job start and end at INFO, including the sweeps every few seconds: too chatty
    # for an operator's log unless they asked for debug.
    logging.getLogger("arq").setLevel(logging.DEBUG if level.lower() == "debug" else logging.WARNING)


def describe(exc: BaseException) -> str:
    """The exception's message, or its name when it has none (a timeout's message is empty)."""
    return str(exc) or exc.__class__.__name__


async def check_connections(settings: Settings, *, need_redis: bool = True) -> None:
    """Fail fast, in one line, when a configured server cannot be reached (before uvicorn starts)."""
    from fulfil.db import connect_raw
    from fulfil.redis import create_redis

    if settings.database_url:
        try:
            conn = await asyncio.wait_for(connect_raw(settings.database_url), 15)
            await conn.close()
        except Exception as exc:
            raise StartupError(f"DATABASE_URL: cannot connect to PostgreSQL: {describe(exc)}") from None
    if settings.redis_url and need_redis:
        client = create_redis(settings.redis_url)
        try:
            await asyncio.wait_for(client.ping(), 15)
        except Exception as exc:
            raise StartupError(f"REDIS_URL: cannot connect to Redis: {describe(exc)}") from None
        finally:
            await client.aclose()


def serve(settings: Settings, host: str, port: int) -> None:
    """uvicorn running the app, its connections opened (and migrations applied) first.

    Opened here rather than in the app's lifespan, so a failure (a migration edited after it was
    applied, say) ends start-up with one line from `main`, not a traceback logged by uvicorn.
    """
    import uvicorn

    from fulfil.app import create_app
    from fulfil.limits import uvicorn_options
    from fulfil.resources import open_resources
    from fulfil.state import app_state

    app = create_app(settings)
    state = app_state(app)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=settings.log_level,
        log_config=None,
        timeout_graceful_shutdown=OPEN_REQUESTS_SECONDS,
        proxy_headers=True,
        **uvicorn_options(settings),
    )
    # uvicorn re-raises the signal that stopped it once shutdown is done; a SIGTERM that led to a
    # clean shutdown should end the process with status 0, as SIGINT (KeyboardInterrupt) does.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            # Time the job worker's drain from the signal, not from when uvicorn's wait ends.
            if state.drain_deadline is None:
                state.drain_deadline = time.monotonic() + JOB_DRAIN_DEADLINE_SECONDS
            super().handle_exit(sig, frame)

    async def run() -> None:
        from fulfil.access.commands import announce_setup

        resources = state.resources = await open_resources(settings)  # the lifespan takes them over
        await announce_setup(resources.db, host, port)
        await Server(config).serve()

    with asyncio.Runner(loop_factory=config.get_loop_factory()) as runner:
        runner.run(run())


async def manage_access(settings: Settings, args: argparse.Namespace) -> None:
    """`fulfil users|tokens ...`, on the database (embedded unless DATABASE_URL), migrated first."""
    from fulfil.access.commands import run_command
    from fulfil.embedded import EmbeddedServers, start_postgres
    from fulfil.resources import migrate

    servers = EmbeddedServers()
    try:
        database_url = settings.database_url or start_postgres(settings.data_dir, servers)
        await migrate(database_url)
        await run_command(database_url, args)
    finally:
        servers.stop()


async def migrate_only(settings: Settings) -> None:
    from fulfil.embedded import EmbeddedServers, start_postgres
    from fulfil.resources import migrate

    servers = EmbeddedServers()
    try:
        applied = await migrate(settings.database_url or start_postgres(settings.data_dir, servers))
    finally:
        servers.stop()
    print("applied: " + ", ".join(applied) if applied else "nothing to apply: the database is up to date")


async def show_status(settings: Settings, as_json: bool) -> None:
    """`fulfil status`: the workers alive, the queue, running imports and pending deliveries."""
    import json

    from fulfil.status import collect, render

    if not (settings.database_url and settings.redis_url):
        raise StartupError(
            "fulfil status reads the servers the service uses: set DATABASE_URL and REDIS_URL "
            "(the embedded servers belong to the process that started them)"
        )
    status = await collect(settings.database_url, settings.redis_url)
    print(json.dumps(status, indent=2) if as_json else render(status))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="fulfil", description="Fulfil-RK product catalogue service")
    commands = parser.add_subparsers(dest="command", required=True)
    serve_parser = commands.add_parser("serve", help="run the web app (and, by default, the job worker)")
    serve_parser.add_argument("--host", help="interface to listen on (default: HOST)")
    serve_parser.add_argument("--port", type=int, help="port to listen on (default: PORT)")
    commands.add_parser("worker", help="run background jobs only (for WORKER_IN_PROCESS=false set-ups)")
    commands.add_parser("migrate", help="apply pending database migrations and exit")
    status_parser = commands.add_parser(
        "status", help="show the workers alive, the job queue, running imports and pending webhook deliveries"
    )
    status_parser.add_argument("--json", action="store_true", help="print the status as JSON")
    from fulfil.access.commands import add_commands

    add_commands(commands)
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"fulfil: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # users and tokens print what they did; the connection log would only bury it.
    configure_logging("warning" if args.command in ("users", "tokens") else settings.log_level)

    try:
        asyncio.run(check_connections(settings, need_redis=args.command in ("serve", "worker")))
        if args.command == "serve":
            serve(settings, args.host or settings.host, args.port or settings.port)
        elif args.command == "worker":
            from fulfil.worker import run_standalone

            asyncio.run(run_standalone(settings))
        elif args.command == "status":
            asyncio.run(show_status(settings, args.json))
        elif args.command in ("users", "tokens"):
            asyncio.run(manage_access(settings, args))
        else:
            asyncio.run(migrate_only(settings))
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        from fulfil.access.commands import CommandError
        from fulfil.migrate import MigrationError
        from fulfil.worker import WorkerStopped

        if isinstance(exc, StartupError | MigrationError | WorkerStopped | CommandError | OSError | ConnectionError):
            print(f"fulfil: {describe(exc)}", file=sys.stderr)
            raise SystemExit(1) from None
        raise
