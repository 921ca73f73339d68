"""`fulfil serve` as a user runs it: embedded default, data kept across restarts, clean SIGTERM."""

import signal
from pathlib import Path

import httpx

from fulfil.db import connect_raw
from tests.support.ports import free_port
from tests.support.processes import run_service, service_env
from tests.support.waiting import wait_for_health


async def test_serve_on_the_embedded_default_keeps_data_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    env = service_env(PORT=port, DATA_DIR=tmp_path / "data", LOG_LEVEL="info")
    url = f"http://127.0.0.1:{port}"
    for run in range(2):
        with run_service("serve", env=env) as proc:
            health = await wait_for_health(url, proc, within=90)
            assert health.json()["status"] == "ok"
            conn = await connect_raw(f"postgresql://postgres:@/fulfil?host={tmp_path / 'data' / 'postgres'}")
            try:
                if run == 0:
                    await conn.execute("INSERT INTO product (sku, name) VALUES ('KEEP-1', 'Survivor')")
                else:
                    assert await conn.fetchval("SELECT name FROM product WHERE sku = 'KEEP-1'") == "Survivor"
            finally:
                await conn.close()
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=30)
        assert "embedded in" in output
        assert proc.returncode == 0, output


async def test_sigterm_exits_within_ten_seconds_without_traceback(database_url: str, redis_url: str) -> None:
    port = free_port()
    env = service_env(PORT=port, DATABASE_URL=database_url, REDIS_URL=redis_url)
    with run_service("serve", env=env) as proc:
        await wait_for_health(f"http://127.0.0.1:{port}", proc)
        async with httpx.AsyncClient() as http:
            assert (await http.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=10)  # raises TimeoutExpired past the 10 s the issue allows
    assert proc.returncode == 0
    assert "Traceback" not in output
    assert "configured (DATABASE_URL)" in output
