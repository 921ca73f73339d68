"""Roles and scopes: what each role may do, each role including the one before it.

Import-free, so the route table, the OpenAPI document and the CLI can all read it.
"""

from __future__ import annotations

from typing import Literal, get_args

Role = Literal["viewer", "editor", "admin"]
Scope = Literal["products:read", "products:write", "imports:read", "imports:write", "webhooks:manage", "admin"]

ROLES: tuple[Role, ...] = get_args(Role)
SCOPES: tuple[Scope, ...] = get_args(Scope)

# Every signed-in caller holds this marker: it guards what anyone with an account may do
# (see who they are, manage their own tokens), so no role scope has to be borrowed for it.
AUTHENTICATED = "authenticated"

_VIEWER: tuple[Scope, ...] = ("products:read", "imports:read")
_EDITOR: tuple[Scope, ...] = (*_VIEWER, "products:write", "imports:write")
_ADMIN: tuple[Scope, ...] = (*_EDITOR, "webhooks:manage", "admin")
ROLE_SCOPES: dict[str, frozenset[str]] = {
    "viewer": frozenset(_VIEWER),
    "editor": frozenset(_EDITOR),
    "admin": frozenset(_ADMIN),
}


def role_scopes(role: str) -> frozenset[str]:
    """The scopes `role` grants (none for a role this version does not know)."""
    return ROLE_SCOPES.get(role, frozenset())


def granted_scopes(role: str, token_scopes: list[str] | None) -> list[str]:
    """What a caller may do now: the role's scopes, narrowed to the token's when there is one.

    Evaluated at each request, so a token loses at once whatever its owner's role loses.
    """
    allowed = role_scopes(role)
    if token_scopes is not None:
        allowed = allowed & frozenset(token_scopes)
    return [AUTHENTICATED, *sorted(allowed)]
