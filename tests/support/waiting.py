"""Waiting for a condition instead of sleeping: poll it until it holds or a deadline passes.

`eventually` for async code, `eventually_blocking` for blocking code (the browser tests, scripts);
`wait_for_http` and `wait_for_health` wait for a server that is starting.
"""

from __future__ import annotations

import asyncio
import inspect
import subprocess
import time
from collections.abc import Callable
from typing import Any

import httpx


class _Deadline:
    """When a wait gives up, and the failure it gives up with."""

    def __init__(self, within: float, what: str) -> None:
        self.within, self.what = within, what
        self.at = time.monotonic() + within

    def check(self, last: Any) -> None:
        if time.monotonic() > self.at:
            raise AssertionError(f"{self.what}: not met within {self.within:g} s (last: {last!r})")


async def eventually(
    check: Callable[[], Any], within: float = 10, every: float = 0.05, *, what: str = "condition"
) -> Any:
    """Call `check()` (awaiting it if it is async) until it returns something truthy, and return that.

    Fails with an AssertionError naming `what` and the last result after `within` seconds.
    """
    deadline = _Deadline(within, what)
    while True:
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        deadline.check(result)
        await asyncio.sleep(every)


def eventually_blocking(
    check: Callable[[], Any], within: float = 10, every: float = 0.05, *, what: str = "condition"
) -> Any:
    """`eventually` for blocking code: the same contract, sleeping the thread between calls."""
    deadline = _Deadline(within, what)
    while not (result := check()):
        deadline.check(result)
        time.sleep(every)
    return result


async def wait_for_http(url: str, proc: subprocess.Popen[Any] | None = None, within: float = 60) -> httpx.Response:
    """Wait until `url` answers 200 and return that reply; fail at once if `proc` (what serves it) exits."""
    async with httpx.AsyncClient(timeout=5) as http:

        async def answered() -> httpx.Response | None:
            if proc is not None and proc.poll() is not None:
                raise RuntimeError(f"the process serving {url} exited with {proc.returncode} during start-up")
            try:
                response = await http.get(url)
            except httpx.TransportError:
                return None
            return response if response.status_code == 200 else None

        return await eventually(answered, within, every=0.1, what=f"{url} answering 200")  # type: ignore[no-any-return]


async def wait_for_health(
    base_url: str, proc: subprocess.Popen[Any] | None = None, within: float = 60
) -> httpx.Response:
    """Wait until the service at `base_url` reports itself healthy (`/healthz` answers 200)."""
    return await wait_for_http(f"{base_url}/healthz", proc, within)
