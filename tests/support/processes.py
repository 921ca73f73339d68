"""`python -m fulfil` as a real process, run from the checkout, as a user or a platform runs it.

`run_command` runs a command that ends (`fulfil users create`, say) to its end; `run_service`
starts any command and makes sure the process is gone afterwards; `serve` starts `fulfil serve`
on a free port and returns once it answers its health check.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from tests.support.blocking import run_async
from tests.support.ports import free_port
from tests.support.waiting import wait_for_health

ROOT = Path(__file__).resolve().parents[2]  # the checkout; processes run from here


def service_env(**overrides: Any) -> dict[str, str]:
    """The environment for a `python -m fulfil` subprocess: ours, less any URL, plus overrides."""
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env.update({k: str(v) for k, v in overrides.items()})
    return env


def run_command(*args: str, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`python -m fulfil ARGS` to its end, `stdin` as its input; its exit code and output, captured."""
    return subprocess.run(
        [sys.executable, "-m", "fulfil", *args], env=env, cwd=ROOT, input=stdin, capture_output=True, text=True
    )


def stop_process(proc: subprocess.Popen[Any], grace: float) -> None:
    """End `proc` if it still runs: SIGTERM and up to `grace` seconds to stop (0: none), then SIGKILL."""
    if proc.poll() is not None:
        return
    if grace > 0:
        proc.terminate()
        try:
            proc.wait(grace)
            return
        except subprocess.TimeoutExpired:
            pass
    proc.kill()
    proc.wait(10)


@contextmanager
def run_service(
    *args: str, env: dict[str, str], stdout: int | IO[str] | None = subprocess.PIPE, grace: float = 0
) -> Iterator[subprocess.Popen[str]]:
    """`python -m fulfil ARGS`, its output (stderr too) to `stdout`; stopped on leaving (see `stop_process`).

    The default, a pipe and no grace, suits a test: it reads the output with `communicate()`
    after signalling the process itself, and one it leaves running is killed at once.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "fulfil", *args], env=env, cwd=ROOT, stdout=stdout, stderr=subprocess.STDOUT, text=True
    )
    try:
        yield proc
    finally:
        stop_process(proc, grace)


@dataclass
class Served:
    """A running `fulfil serve`: where it answers and its process."""

    url: str
    proc: subprocess.Popen[str]


@contextmanager
def serve(
    env: dict[str, str], *, stdout: int | IO[str] | None = None, within: float = 60, grace: float = 30
) -> Iterator[Served]:
    """`fulfil serve` on a free port of 127.0.0.1, healthy; SIGTERM and `grace` seconds to stop at the end.

    For blocking callers (the browser tests, benchmarks, scripts); its output goes to `stdout`
    (by default ours). Fails if it does not answer its health check within `within` seconds.
    """
    port = free_port()
    with run_service("serve", "--host", "127.0.0.1", "--port", str(port), env=env, stdout=stdout, grace=grace) as proc:
        url = f"http://127.0.0.1:{port}"
        run_async(wait_for_health(url, proc, within))
        yield Served(url, proc)
