"""Random secrets (session ids, API tokens, CSRF and setup tokens) and how they are stored.

Session ids and tokens are stored as their SHA-256, not as a slow password hash: each is 256
random bits from `secrets`, so there is no dictionary to guess from and a fast hash is as safe as
argon2 would be, while keeping the per-request lookup to one indexed equality match.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "fk_"
_BYTES = 32  # 256 bits


def new_secret() -> str:
    """A URL-safe random string of 256 bits (43 characters)."""
    return secrets.token_urlsafe(_BYTES)


def new_api_token() -> str:
    return TOKEN_PREFIX + new_secret()


def digest(secret: str) -> bytes:
    """What the database keeps of a session id or token: its SHA-256."""
    return hashlib.sha256(secret.encode()).digest()


def shown_prefix(token: str) -> str:
    """The first characters of a token, enough to tell tokens apart in a list, not to use one."""
    return token[: len(TOKEN_PREFIX) + 6]
