"""Settings come from the environment; a bad value is one readable line, not a traceback."""

import subprocess
import sys
from pathlib import Path

import pytest

from fulfil.settings import SettingsError, load_settings
from tests.support.processes import service_env


def test_defaults_follow_the_seed() -> None:
    settings = load_settings(_env_file=None)
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)
    assert (settings.environment, settings.debug) == ("development", True)
    assert settings.max_upload_bytes == 200 * 1024 * 1024
    assert settings.worker_in_process and settings.migrate_on_start


def test_a_bad_port_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PORT", "abc")
    with pytest.raises(SettingsError, match=r"PORT: .*got 'abc'"):
        load_settings(_env_file=None)


def test_a_database_url_must_be_postgresql(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://localhost/db")
    with pytest.raises(SettingsError, match="DATABASE_URL: must be a PostgreSQL URL"):
        load_settings(_env_file=None)


def fulfil(command: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python -m fulfil COMMAND` with these variables set, as a user would run it."""
    return subprocess.run(
        [sys.executable, "-m", "fulfil", command],
        env=service_env(**env),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_prints_one_line_and_exits_2_on_bad_settings(tmp_path: Path) -> None:
    result = fulfil("serve", tmp_path, PORT="abc", MAX_UPLOAD_MB="-1")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "PORT:" in lines[0] and "MAX_UPLOAD_MB:" in lines[0]


def test_an_unreachable_database_is_one_line_naming_it(tmp_path: Path) -> None:
    result = fulfil("migrate", tmp_path, DATABASE_URL="postgresql://postgres@127.0.0.1:1/nothing")
    assert result.returncode == 1
    assert result.stderr.strip().startswith("fulfil: DATABASE_URL: cannot connect to PostgreSQL")
    assert "Traceback" not in result.stderr
