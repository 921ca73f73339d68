"""The access domain's hourly clean-up: old audit entries and ended sessions."""

from __future__ import annotations

from typing import Any

from fulfil.access import queries
from fulfil.access.backend import session_limits
from fulfil.resources import Resources


async def prune_access_history(ctx: dict[str, Any]) -> int:
    """Hourly: audit entries older than AUDIT_RETENTION_DAYS (0 keeps them), and sessions past their
    idle or absolute lifetime (already refused at sign-in; this only frees their rows)."""
    resources: Resources = ctx["resources"]
    await resources.db.execute(queries.PRUNE_SESSIONS, session_limits(resources.settings))
    days = resources.settings.audit_retention_days
    if not days:
        return 0
    rows = await resources.db.fetch_all(queries.PRUNE_AUDIT, {"days": days})
    return len(rows)
