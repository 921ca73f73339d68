"""Schemathesis against a live server: nothing the OpenAPI document allows is refused, nothing it
rules out is accepted, nothing is a 5xx (every check: see schemathesis.toml); a few examples each.

It calls with an admin's API token, so every operation is open to it (and the `ignored_auth`
check sends some requests without it, which must be refused)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from databases import Database

from tests.support.access import issue_token
from tests.support.live import LiveServer

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 30
FAR_ID = 10**15


async def out_of_reach_token(db: Database) -> str:
    """An admin's token whose user and token ids are far past the small ones schemathesis tries, so
    it never sets that user's password or revokes that token (either would end the run's access)."""
    sequences = [f"pg_get_serial_sequence('{table}', 'id')" for table in ("app_user", "api_token")]
    for sequence in sequences:
        await db.execute(f"SELECT setval({sequence}, {FAR_ID})")
    token = await issue_token(db, "admin")
    for sequence in sequences:
        await db.execute(f"SELECT setval({sequence}, 1, false)")
    return token


async def test_the_api_keeps_to_its_openapi_document(live_server: LiveServer, tmp_path: Path) -> None:
    token = await out_of_reach_token(live_server.resources.db)
    proc = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{live_server.url}/openapi.json",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        "1",
        # One worker: Python 3.11's `ast.parse`, which Hypothesis calls, is not safe across threads.
        "--workers",
        "1",
        "--generation-database",
        "none",
        "--report-dir",
        str(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(proc.communicate(), 300)
    assert proc.returncode == 0, output.decode()[-20_000:]
