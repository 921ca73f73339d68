"""Fault tests: the service on servers of the test's own, which the test stops and starts."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from fulfil.settings import Settings
from tests.support.imports import BATCH_ROWS
from tests.support.private_servers import PrivateRedis, private_redis
from tests.support.receivers import Receiver, running_receiver


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Small batches, so an import of a few thousand rows commits many times and can be cut mid-way."""
    return settings.model_copy(update={"import_batch_rows": BATCH_ROWS})


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async with running_receiver() as receiver:
        yield receiver


@pytest.fixture
async def own_redis() -> AsyncIterator[PrivateRedis]:
    async with private_redis() as server:
        yield server
