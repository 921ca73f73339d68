"""Signature headers: the original `X-Webhook-Signature` (kept for existing receivers) and the Standard Webhooks trio.

Both HMAC-SHA256 with the UTF-8 bytes of the webhook's secret as the key, over the exact body
bytes that are sent. A receiver using the reference `standardwebhooks` library passes
`"whsec_" + base64(secret bytes)` as its secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac


def seed_signature(secret: str, body: bytes) -> str:
    """`sha256=<hex HMAC of the body>`, the original `X-Webhook-Signature` header."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """`v1,<base64 HMAC of "id.timestamp.body">`, the Standard Webhooks `webhook-signature`."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha256).digest()).decode()


def delivery_headers(
    *, event_type: str, webhook_id: int, message_id: str, timestamp: int, body: bytes, secret: str | None
) -> dict[str, str]:
    """Every header of one attempt; the signature headers only when the webhook has a secret."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Fulfil-RK-Webhooks/1.0",
        "X-Webhook-Event": event_type,
        "X-Webhook-ID": str(webhook_id),
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
    }
    if secret:
        headers["X-Webhook-Signature"] = seed_signature(secret, body)
        headers["webhook-signature"] = standard_signature(secret, message_id, timestamp, body)
    return headers
