"""Background calls that coalesce: at most one in flight per key, however often it is asked for.

A call asked for while one is running is not started beside it: the running one is followed by
exactly one more, which sees everything asked for before it starts. So a burst of N requests
costs two calls, not N, and nothing asked for after a call began is missed. A `gap` spaces the
calls further: the next starts no sooner than `gap` seconds after the last one did.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)

Action = Callable[[], Awaitable[None]]


@dataclass
class _Slot:
    task: asyncio.Task[None] | None = None
    again: Action | None = None  # the call to make once the running one ends

    def busy(self) -> bool:
        # A task of a loop that has since closed (a test's) will never end: not busy.
        task = self.task
        return task is not None and not task.done() and task.get_loop() is asyncio.get_running_loop()


# Per owner (what the calls act on, such as a queue), per key; gone with the owner.
_slots: weakref.WeakKeyDictionary[object, dict[str, _Slot]] = weakref.WeakKeyDictionary()


def soon(owner: object, key: str, action: Action, *, gap: float = 0.0) -> None:
    """Run `action()` in a background task now, or once after the call running for (`owner`,
    `key`) ends (and `gap` seconds after it began). Never waits or raises; a failure is logged."""
    slot = _slots.setdefault(owner, {}).setdefault(key, _Slot())
    if slot.busy():
        slot.again = action
        return
    slot.again = None
    slot.task = asyncio.create_task(_run(slot, action, gap))


def busy(owner: object, key: str) -> bool:
    """Whether a call for (`owner`, `key`) is running or waiting for its gap."""
    slot = _slots.get(owner, {}).get(key)
    return slot is not None and slot.busy()


async def _run(slot: _Slot, action: Action, gap: float) -> None:
    while True:
        began = time.monotonic()
        try:
            await action()
        except Exception as exc:
            log.warning("a background call failed: %r", exc)
        if slot.again is None:
            return
        await asyncio.sleep(gap - (time.monotonic() - began))
        action, slot.again = slot.again, None
