"""Opaque list cursors: a position in one sort's key, signed so a client cannot forge one.

A cursor is base64url(JSON [sort, key values]) + "." + a truncated HMAC of it under the service's
`SECRET_KEY`. It carries no user data beyond what the row already showed, and only ever reaches
SQL as parameters of the expected types, so the signature guards against confusing clients and
probing, not against injection. A cursor from another sort, or malformed, or unsigned, is a 422
naming the parameter.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from fulfil.errors import ApiError

_SIGNATURE_BYTES = 12
_NOT_OURS = "is not a cursor this list gave out (use next_cursor or prev_cursor as given)"


def _signature(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), b"products-cursor:" + payload, hashlib.sha256).digest()[:_SIGNATURE_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode(secret: str, sort: str, key: list[Any]) -> str:
    """The cursor for the row whose sort key is `key`, in `sort`."""
    values = [value.isoformat() if isinstance(value, datetime) else value for value in key]
    payload = json.dumps([sort.removeprefix("-"), *values], separators=(",", ":")).encode()
    return f"{_b64(payload)}.{_b64(_signature(secret, payload))}"


def bad_cursor(field: str, message: str) -> ApiError:
    return ApiError(
        422,
        f"Invalid query: {field}: {message}",
        details=[{"location": "query", "field": field, "message": message}],
    )


def decode(secret: str, sort: str, types: tuple[type, ...], cursor: str, field: str) -> list[Any]:
    """The key values in `cursor`, checked against its signature and `sort`'s key `types`."""
    try:
        body, signature = cursor.split(".")
        payload = _unb64(body)
        valid = hmac.compare_digest(_unb64(signature), _signature(secret, payload))
    except (ValueError, binascii.Error):
        valid = False
    if not valid:
        raise bad_cursor(field, _NOT_OURS)
    try:
        made_for, *key = json.loads(payload)
    except (ValueError, TypeError):
        raise bad_cursor(field, _NOT_OURS) from None
    if made_for != sort.removeprefix("-"):
        raise bad_cursor(field, f"was made for the sort {made_for!r}, not {sort!r}: start again from the first page")
    pairs = list(zip(key, types, strict=False))
    if len(key) != len(types) or not all(_fits(value, kind) for value, kind in pairs):
        raise bad_cursor(field, "does not fit this sort: start again from the first page")
    return [datetime.fromisoformat(value) if kind is datetime else value for value, kind in pairs]


def _fits(value: Any, kind: type) -> bool:
    if kind is int:
        return type(value) is int and -(2**63) <= value < 2**63
    if kind is bool:
        return type(value) is bool
    if kind is datetime:
        try:
            datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return False
        return True
    return type(value) is str
