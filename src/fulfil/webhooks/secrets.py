"""Webhook secrets at rest: Fernet tokens under keys derived from SECRET_KEY and OLD_SECRET_KEYS.

A receiver's secret has to be read back to sign with, so it is encrypted, not hashed. The key is
HKDF-SHA256 of SECRET_KEY (never SECRET_KEY itself, which also signs product cursors); a
MultiFernet seals with the current key and opens with any listed one, so SECRET_KEY can be
rotated: the old one goes to OLD_SECRET_KEYS and `reseal` (run by the sweep) moves every secret
to the new key. `key_id` names the current key without revealing it, so the sweep finds the
secrets an old key sealed, and the plaintext ones written before this existed, in one query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fulfil.settings import Settings

_INFO = b"fulfil-rk webhook secrets v1"
GENERATED_BYTES = 32


class SecretUnreadable(Exception):
    """A sealed secret none of SECRET_KEY and OLD_SECRET_KEYS opens."""


def _fernet_key(secret_key: str) -> bytes:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


@lru_cache(maxsize=8)
def _box(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(_fernet_key(key)) for key in keys])


def _keys(settings: Settings) -> tuple[str, ...]:
    return (settings.secret_key, *settings.previous_secret_keys)


def key_id(settings: Settings) -> str:
    """A short public name of the current key (an HMAC of a constant, not the key)."""
    return hmac.new(_fernet_key(settings.secret_key), b"key id", hashlib.sha256).hexdigest()[:16]


def seal(settings: Settings, secret: str) -> str:
    """The secret encrypted under the current key."""
    return _box(_keys(settings)).encrypt(secret.encode()).decode()


@lru_cache(maxsize=4096)
def _open(keys: tuple[str, ...], token: str) -> str:
    return _box(keys).decrypt(token.encode()).decode()


def unseal(settings: Settings, token: str) -> str:
    """The secret a token holds (cached: every delivery of a webhook opens the same one)."""
    try:
        return _open(_keys(settings), token)
    except InvalidToken:
        raise SecretUnreadable(
            "a webhook secret was sealed with a key that is neither SECRET_KEY nor one of OLD_SECRET_KEYS"
        ) from None


def reseal(settings: Settings, token: str) -> str:
    """The token sealed again under the current key (MultiFernet.rotate keeps its timestamp)."""
    try:
        return _box(_keys(settings)).rotate(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable("a webhook secret cannot be opened with SECRET_KEY or OLD_SECRET_KEYS") from None


def generate() -> str:
    """A new random secret for a rotation (43 URL-safe characters; like any secret, its UTF-8 bytes are the key)."""
    return secrets.token_urlsafe(GENERATED_BYTES)
