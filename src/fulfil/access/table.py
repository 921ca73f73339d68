"""The one table of who may call what: every (method, path) of the app and the scope it needs.

`fulfil.access.guard` enforces it for every route; a route missing here is refused to everyone,
so a new endpoint cannot be left open by mistake (and a test lists every route the app has).
HEAD shares GET's entry. The static dashboard (its HTML, JS, CSS) is public: its data is not.
"""

from __future__ import annotations

from fulfil.access.roles import AUTHENTICATED
from fulfil.openapi import PUBLIC_SCOPE

PUBLIC = PUBLIC_SCOPE  # no credentials needed (the API document marks such operations as open)

_PRODUCTS_READ, _PRODUCTS_WRITE = "products:read", "products:write"
_IMPORTS_READ, _IMPORTS_WRITE = "imports:read", "imports:write"
_WEBHOOKS, _ADMIN = "webhooks:manage", "admin"

ROUTE_SCOPES: dict[tuple[str, str], str] = {
    # Open to anyone: health, docs, the sign-in pages and the calls that sign in or out.
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/openapi.json"): PUBLIC,
    ("GET", "/docs"): PUBLIC,
    ("GET", "/redoc"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("GET", "/setup"): PUBLIC,
    ("POST", "/api/auth/login"): PUBLIC,
    ("POST", "/api/auth/logout"): PUBLIC,
    ("POST", "/api/auth/setup"): PUBLIC,
    # Anyone signed in: who am I, and my own tokens (admins see and revoke every token).
    ("GET", "/api/auth/me"): AUTHENTICATED,
    ("GET", "/api/tokens"): AUTHENTICATED,
    ("POST", "/api/tokens"): AUTHENTICATED,
    ("DELETE", "/api/tokens/{id}"): AUTHENTICATED,
    # Products.
    ("GET", "/api/products"): _PRODUCTS_READ,
    ("GET", "/api/products/{id}"): _PRODUCTS_READ,
    ("GET", "/api/products/export"): _PRODUCTS_READ,
    ("POST", "/api/products"): _PRODUCTS_WRITE,
    ("PUT", "/api/products/{id}"): _PRODUCTS_WRITE,
    ("DELETE", "/api/products/{id}"): _PRODUCTS_WRITE,
    ("POST", "/api/products/bulk-delete"): _PRODUCTS_WRITE,
    ("POST", "/api/products/bulk-update"): _PRODUCTS_WRITE,
    ("DELETE", "/api/products/bulk"): _ADMIN,
    ("GET", "/api/products/bulk-jobs/{job_id}"): _PRODUCTS_READ,
    ("GET", "/api/products/history"): _PRODUCTS_READ,
    ("GET", "/api/products/{id}/history"): _PRODUCTS_READ,
    # Imports.
    ("GET", "/api/uploads"): _IMPORTS_READ,
    ("GET", "/api/upload/{job_id}/progress"): _IMPORTS_READ,
    ("GET", "/api/upload/{job_id}/stream"): _IMPORTS_READ,
    ("GET", "/api/upload/{job_id}/rejects"): _IMPORTS_READ,
    ("POST", "/api/upload"): _IMPORTS_WRITE,
    ("POST", "/api/upload/{job_id}/cancel"): _IMPORTS_WRITE,
    ("POST", "/api/upload/{job_id}/undo"): _IMPORTS_WRITE,
    ("GET", "/api/upload/{job_id}/conflicts"): _IMPORTS_READ,
    ("POST", "/api/upload/{job_id}/confirm"): _IMPORTS_WRITE,
    ("GET", "/api/upload/{job_id}/changes"): _IMPORTS_READ,
    ("GET", "/api/import-profiles"): _IMPORTS_READ,
    ("POST", "/api/import-profiles"): _IMPORTS_WRITE,
    ("GET", "/api/import-profiles/{name}"): _IMPORTS_READ,
    ("PUT", "/api/import-profiles/{name}"): _IMPORTS_WRITE,
    ("DELETE", "/api/import-profiles/{name}"): _IMPORTS_WRITE,
    # Webhooks, read or write: a webhook is a channel out of the building.
    ("GET", "/api/webhooks"): _WEBHOOKS,
    ("POST", "/api/webhooks"): _WEBHOOKS,
    ("GET", "/api/webhooks/{id}"): _WEBHOOKS,
    ("PUT", "/api/webhooks/{id}"): _WEBHOOKS,
    ("DELETE", "/api/webhooks/{id}"): _WEBHOOKS,
    ("GET", "/api/webhooks/{id}/deliveries"): _WEBHOOKS,
    ("POST", "/api/webhooks/{id}/test"): _WEBHOOKS,
    ("POST", "/api/webhooks/deliveries/{id}/resend"): _WEBHOOKS,
    ("POST", "/api/webhooks/{id}/rotate-secret"): _WEBHOOKS,
    ("POST", "/api/webhooks/{id}/recover"): _WEBHOOKS,
    ("GET", "/api/webhooks/{id}/stats"): _WEBHOOKS,
    ("GET", "/api/events"): _WEBHOOKS,
    # Administration.
    ("GET", "/api/users"): _ADMIN,
    ("POST", "/api/users"): _ADMIN,
    ("PUT", "/api/users/{id}"): _ADMIN,
    ("GET", "/api/audit"): _ADMIN,
}


def required_scope(method: str, path: str) -> str | None:
    """The scope `method path` needs, PUBLIC, or None when the table has no entry (refused)."""
    return ROUTE_SCOPES.get(("GET" if method == "HEAD" else method, path))
