"""Schemathesis against a live server: nothing the OpenAPI document allows is refused, nothing it
rules out is accepted, nothing is a 5xx (every check: see schemathesis.toml); a few examples each."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from tests.conftest import LiveServer

SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")
CONFIG = Path(__file__).with_name("schemathesis.toml")
MAX_EXAMPLES = 30


async def test_the_api_keeps_to_its_openapi_document(live_server: LiveServer, tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{live_server.url}/openapi.json",
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
