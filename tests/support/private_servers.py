"""PostgreSQL and Redis servers a fault test owns: started on a free port, stopped and started at will.

Never the shared servers: a test that stops its server stops only its own. Redis keeps nothing on
disk (`--save ""`), so a restart comes back empty, as a managed Redis without persistence does.
PostgreSQL is Debian's binaries (initdb into a temporary directory, trust authentication); as
root it runs as the `postgres` user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
from redis.asyncio import Redis

from tests.support.ports import free_port
from tests.support.waiting import eventually

PG_BIN = Path("/usr/lib/postgresql/15/bin")


@dataclass
class PrivateRedis:
    """`redis-server` on 127.0.0.1:`port`; `stop()` and `start()` as often as a test likes."""

    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = await asyncio.to_thread(
            subprocess.Popen, args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

        async def answers() -> bool:
            client = Redis.from_url(self.url, socket_connect_timeout=0.5)
            try:
                return bool(await client.ping())
            except Exception:
                return False
            finally:
                await client.aclose()

        await eventually(answers, within=10, every=0.05, what=f"redis-server on port {self.port}")

    async def stop(self) -> None:
        """Kill it outright (every client connection drops, and the data with it)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            await asyncio.to_thread(self.proc.wait, 10)
        self.proc = None


@asynccontextmanager
async def private_redis() -> AsyncIterator[PrivateRedis]:
    server = PrivateRedis()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


def _as_postgres(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class PrivatePostgres:
    """A PostgreSQL 15 cluster in `directory`, on 127.0.0.1:`port`, user `postgres`, trust auth."""

    directory: Path
    port: int = field(default_factory=free_port)
    options: str = ""  # more server settings, as `-c name=value` options

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _ctl(self, *args: str) -> None:
        command = _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.directory / "data"), *args])
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)

    async def init(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres")
        command = [str(PG_BIN / "initdb"), "-D", str(self.directory / "data"), "-U", "postgres", "-A", "trust"]
        await asyncio.to_thread(
            subprocess.run, _as_postgres(command), check=True, stdout=subprocess.DEVNULL, timeout=120
        )

    async def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off {self.options}"
        await asyncio.to_thread(self._ctl, "-w", "-o", options, "-l", str(self.directory / "log"), "start")

        async def accepts() -> bool:
            try:
                conn = await asyncpg.connect(self.url(), timeout=1)
            except Exception:
                return False
            await conn.close()
            return True

        await eventually(accepts, within=30, every=0.05, what=f"PostgreSQL on port {self.port}")

    async def stop(self, mode: str = "fast") -> None:
        """`pg_ctl stop -m fast`: every session is ended and the server goes away until `start()`."""
        await asyncio.to_thread(self._ctl, "-w", "-m", mode, "stop")


@asynccontextmanager
async def private_postgres(options: str = "") -> AsyncIterator[PrivatePostgres]:
    with tempfile.TemporaryDirectory(prefix="fulfil-pg-") as directory:
        server = PrivatePostgres(Path(directory), options=options)
        await server.init()
        await server.start()
        try:
            yield server
        finally:
            with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
                await server.stop("immediate")
