"""Running the async helpers from blocking code: the browser tests, the benchmarks' set-up, scripts."""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion in a fresh thread with its own loop.

    A fresh thread, not `asyncio.run` here: sync Playwright runs an event loop in the calling
    thread, and a second loop cannot start where one is running.
    """
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
