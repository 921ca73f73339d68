"""The import tests run with small batches, so a few hundred rows span several."""

from __future__ import annotations

import pytest

from fulfil.settings import Settings
from tests.support.imports import BATCH_ROWS


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with batches small enough that a few hundred rows span several."""
    return settings.model_copy(update={"import_batch_rows": BATCH_ROWS})
