"""The import tests run with small batches, so a few hundred rows span several."""

from __future__ import annotations

import pytest

from fulfil.settings import Settings
from tests.support.imports import BATCH_ROWS


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The suite's settings with batches small enough that a few hundred rows span several.

    The upload store is the default one unless a test asks for another (`BOTH_STORES`).
    """
    storage = getattr(request, "param", settings.upload_storage)
    return settings.model_copy(update={"import_batch_rows": BATCH_ROWS, "upload_storage": storage})
