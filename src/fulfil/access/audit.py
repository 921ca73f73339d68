"""The audit log: who (user, token, address), what (action, target, details) and when.

Routes call `record_audit(request, ...)`, which takes the actor from the request; the CLI and the
sign-in paths, which act before anyone is signed in, call `write_audit` with the actor spelled out.
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
from fulfil.api import app_resources


@dataclass(frozen=True)
class Actor:
    user_id: int | None = None
    email: str | None = None
    token_id: int | None = None
    address: str | None = None


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def actor_of(request: Request) -> Actor:
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
    values = {
        "actor_user_id": actor.user_id,
        "actor_token_id": actor.token_id,
        "actor": actor.email,
        "address": actor.address,
        "action": action,
        "target": target,
        "details": json.dumps(details or {}),
    }
    await db.execute(queries.INSERT_AUDIT, values)


async def record_audit(
    request: Request,
    action: str,
    target: str | None = None,
    details: dict[str, Any] | None = None,
    *,
    db: Database | Connection | None = None,
) -> None:
    """One audit row for what the request's caller did (`db`: a connection inside the change's transaction)."""
    await write_audit(db or app_resources(request).db, actor_of(request), action, target, details)
