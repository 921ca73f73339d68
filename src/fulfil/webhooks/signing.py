"""Signature headers: the legacy `X-Webhook-Signature` (kept for existing receivers) and the Standard Webhooks trio.

Both HMAC-SHA256 with the UTF-8 bytes of the webhook's secret as the key, over the exact body
bytes that are sent. A receiver using the reference `standardwebhooks` library passes
`"whsec_" + base64(secret bytes)` as its secret. During a rotation's grace `webhook-signature`
carries one signature per secret, newest first and space-separated, as Standard Webhooks allows,
so a receiver holding either secret accepts; the legacy header has room for one: the newest.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence


def legacy_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC of the body>`, the legacy `X-Webhook-Signature` header (no id or timestamp signed)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC of "id.timestamp.body">`, one signature of the Standard Webhooks `webhook-signature`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def delivery_headers(
    *,
    event_type: str,
    webhook_id: int,
    message_id: str,
    timestamp: int,
    body: bytes,
    secrets: Sequence[str],
    custom: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Every header of one attempt: the webhook's `custom` ones (whose names never clash, see
    `schemas.clean_headers`), then ours; the signature headers only when the webhook has a secret
    (`secrets`: the current one first, then the one a rotation still keeps)."""
    headers = {
        **(custom or {}),
        "Content-Type": "application/json",
        "User-Agent": "Fulfil-RK-Webhooks/1.0",
        "X-Webhook-Event": event_type,
        "X-Webhook-ID": str(webhook_id),
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
    }
    if secrets:
        headers["X-Webhook-Signature"] = legacy_signature(secrets[0], body)
        headers["webhook-signature"] = " ".join(
            standard_signature(secret, message_id, timestamp, body) for secret in secrets
        )
    return headers
