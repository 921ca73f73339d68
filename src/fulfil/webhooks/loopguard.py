"""Never deliver to the service itself: every delivery carries a mark this service refuses.

A webhook pointed at the service's own API (say its `/api/webhooks/{id}/test`) would call itself
for ever. Addresses cannot tell: the service may sit behind a proxy, a load balancer or another
name, in any environment. So each outbound request carries `Fulfil-Loop-Guard`, a value derived
from SECRET_KEY (every process of one deployment shares it, and it reveals nothing of the key),
and `LoopGuard`, outermost in the app, answers any request bearing it with 508 Loop Detected
before anything else runs. The delivery reads that answer as a refusal, not a failure to retry.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from functools import lru_cache

from starlette.types import ASGIApp, Receive, Scope, Send

from fulfil.settings import Settings

HEADER = "Fulfil-Loop-Guard"
REFUSED = "refused"
STATUS = 508
REASON = "not delivered: the URL leads back to this service, and a webhook may not call the service itself"


def mark(settings: Settings) -> str:
    """The value this deployment's deliveries carry."""
    return _mark(settings.secret_key)


@lru_cache(maxsize=4)
def _mark(secret_key: str) -> str:
    return hmac.new(secret_key.encode(), b"webhook loop guard", hashlib.sha256).hexdigest()[:32]


def is_refusal(status: int, refused_header: str | None) -> bool:
    """Whether a receiver's answer is this service refusing its own delivery."""
    return status == STATUS and refused_header == REFUSED


class LoopGuard:
    """ASGI middleware: a request bearing this deployment's mark is answered 508 at once."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.mark = mark(settings).encode()
        self.name = HEADER.lower().encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not any(
            name == self.name and hmac.compare_digest(value, self.mark) for name, value in scope["headers"]
        ):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": {"code": "loop_detected", "message": REASON, "details": []}}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (self.name, REFUSED.encode()),
        ]
        await send({"type": "http.response.start", "status": STATUS, "headers": headers})
        await send({"type": "http.response.body", "body": body})
