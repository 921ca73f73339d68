"""Password hashes: argon2id through argon2-cffi's `PasswordHasher` (its defaults, RFC 9106's
low-memory profile). Hashing takes tens of milliseconds on purpose, so it runs in a thread."""

from __future__ import annotations

import anyio.to_thread
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

PASSWORD_MIN = 10
PASSWORD_MAX = 1024

_hasher = PasswordHasher()
# Checked against when the email is unknown, so a wrong email takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password anyone has")


def hash_password_now(password: str) -> str:
    """The argon2id hash, computed in the calling thread (for the CLI)."""
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


def _verify(stored: str | None, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`; with `stored` None the same work is done and False returned."""
    return await anyio.to_thread.run_sync(_verify, stored, password)


def password_problem(password: str) -> str | None:
    """Why `password` cannot be used, or None."""
    if len(password) < PASSWORD_MIN:
        return f"password must have at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"password must have at most {PASSWORD_MAX} characters"
    return None
