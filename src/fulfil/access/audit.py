"""The audit log: who (user, token, address), what (action, target, details) and when.

A use-case that changes something worth auditing takes the `Actor` (a route passes
`actor_of(request)`, the CLI its own) and calls `write_audit` inside the change's transaction, so
the change and its audit row commit together or not at all.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from databases import Database
from databases.core import Connection
from starlette.requests import Request

from fulfil.access import queries
from fulfil.access.backend import caller_of


@dataclass(frozen=True)
class Actor:
    """Who acted: the signed-in user (and the token they used), or nobody; and from which address."""

    user_id: int | None = None
    email: str | None = None
    token_id: int | None = None
    address: str | None = None

    def columns(self) -> dict[str, Any]:
        """The three columns that name the actor wherever a row records one (audit, history, jobs)."""
        return {"actor_user_id": self.user_id, "actor_token_id": self.token_id, "actor": self.email}


def client_address(request: Request) -> str | None:
    """The address the request came from (what uvicorn saw)."""
    return request.client.host if request.client else None


def actor_of(request: Request) -> Actor:
    """The request's caller as an `Actor`."""
    caller = caller_of(request)
    address = client_address(request)
    if caller is None:
        return Actor(address=address)
    return Actor(user_id=caller.id, email=caller.email, token_id=caller.token_id, address=address)


async def write_audit(
    db: Database | Connection,
    actor: Actor,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """One audit row; `db` is a connection inside the change's transaction when there is one."""
    values = {
        **actor.columns(),
        "address": actor.address,
        "action": action,
        "target": target,
        "details": json.dumps(details or {}),
    }
    await db.execute(queries.INSERT_AUDIT, values)
