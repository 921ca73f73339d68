"""The products domain's hourly clean-up: history entries past PRODUCT_HISTORY_DAYS."""

from __future__ import annotations

from typing import Any

from fulfil.products import history
from fulfil.resources import Resources


async def prune_product_history(ctx: dict[str, Any]) -> None:
    """Hourly: forget history entries older than PRODUCT_HISTORY_DAYS (0 keeps them)."""
    resources: Resources = ctx["resources"]
    await history.prune(resources.db, resources.settings.product_history_days)
