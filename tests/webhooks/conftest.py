"""The webhook tests' receiver: a real aiohttp server on a free port (tests/support/receivers.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support.receivers import Receiver, running_receiver


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as receiver:
        yield receiver
