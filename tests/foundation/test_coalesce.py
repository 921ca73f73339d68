"""Coalesced background calls: a burst of requests costs two calls, and none asked for after a call began is missed."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from fulfil import coalesce
from tests.support.waiting import eventually


class Owner:
    """What the calls act on (a queue, in the app); any object a weak reference can point to."""


class Counter:
    """An action that counts its calls and waits for `release` while it runs."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.started: list[float] = []

    async def __call__(self) -> None:
        self.calls += 1
        self.started.append(time.monotonic())
        await self.release.wait()


async def test_requests_while_a_call_runs_fold_into_one_more_call() -> None:
    owner, action = Owner(), Counter()
    coalesce.soon(owner, "k", action)
    await eventually(lambda: action.calls == 1, what="the first call")
    for _ in range(50):
        coalesce.soon(owner, "k", action)
    action.release.set()
    await eventually(lambda: not coalesce.busy(owner, "k"), what="the calls to end")
    assert action.calls == 2


async def test_a_request_after_the_calls_ended_makes_a_new_call() -> None:
    owner, action = Owner(), Counter()
    action.release.set()
    coalesce.soon(owner, "k", action)
    await eventually(lambda: not coalesce.busy(owner, "k"), what="the call to end")
    coalesce.soon(owner, "k", action)
    await eventually(lambda: action.calls == 2, what="a second call")


async def test_keys_and_owners_do_not_share_a_slot() -> None:
    first, second = Counter(), Counter()
    owner = Owner()
    coalesce.soon(owner, "a", first)
    coalesce.soon(owner, "b", second)
    coalesce.soon(Owner(), "a", second)
    await eventually(lambda: first.calls == 1 and second.calls == 2, what="three calls at once")
    first.release.set()
    second.release.set()


async def test_the_next_call_waits_for_the_gap() -> None:
    owner, action = Owner(), Counter()
    action.release.set()
    coalesce.soon(owner, "k", action, gap=0.2)
    coalesce.soon(owner, "k", action, gap=0.2)
    await eventually(lambda: action.calls == 2, what="the second call")
    assert action.started[1] - action.started[0] >= 0.2


async def test_a_failed_call_is_logged_and_the_next_one_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    owner, calls = Owner(), list[int]()

    async def failing() -> None:
        calls.append(len(calls))
        await asyncio.sleep(0)
        if len(calls) == 1:
            raise ConnectionError("Redis is away")

    with caplog.at_level(logging.WARNING, logger="fulfil.coalesce"):
        coalesce.soon(owner, "k", failing)
        coalesce.soon(owner, "k", failing)
        await eventually(lambda: len(calls) == 2, what="the call after the failure")
    assert "Redis is away" in caplog.text
