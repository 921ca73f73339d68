"""The write floors of `bench/webhooks.py`: the products service's update transaction with nothing
around it, and the same behind the barest HTTP server our stack has.

`update(conn, product_id, name)` is the transaction (select for update, update returning, the
outbox event, the history entry, commit), statement for statement as the service runs it, on an
asyncpg connection. `python bench/write_floor.py --port P --dsn URL` serves it as
`PUT /api/products/{id}` from a raw ASGI app on uvicorn (httptools, uvloop, one process, a pool
of WRITERS connections, no session reset on release): no middleware, no access check, no
validation, no relay. What the HTTP server and the JSON cost on this machine, so the service's
HTTP writes can be compared with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from typing import Any

import asyncpg
import uvicorn

from common import script_process
from fulfil.db import positional
from fulfil.products import history
from fulfil.products import queries as product_queries
from fulfil.webhooks import queries as webhook_queries

WRITERS = 8

# The service's update transaction, statement for statement, as asyncpg takes it.
SELECT, UPDATE, INSERT_EVENT, INSERT_ENTRY = (
    positional(sql)[0]
    for sql in (
        product_queries.SELECT_PRODUCT_FOR_UPDATE,
        product_queries.UPDATE_PRODUCT,
        webhook_queries.INSERT_EVENT,
        history.INSERT_ENTRY,
    )
)


async def update(conn: asyncpg.Connection, product_id: int, name: str) -> dict[str, Any]:
    """Rename one product in the service's update transaction; the product as it is now."""
    async with conn.transaction():
        row = await conn.fetchrow(SELECT, product_id)
        after = await conn.fetchrow(UPDATE, row["sku"], name, row["description"], row["active"], product_id)
        product = dict(after)
        payload = {"event": "product.updated", "timestamp": time.time(), "data": product}
        await conn.fetchval(INSERT_EVENT, "product.updated", json.dumps(payload, default=str))
        before, changed = json.dumps({"name": row["name"]}), json.dumps({"name": name})
        entry = (product_id, row["sku"], "updated", "api", before, changed, None, None, None)
        await conn.execute(INSERT_ENTRY, *entry)
        return product


async def untouched(conn: asyncpg.Connection) -> None:
    """The pool's session reset, skipped as the service skips it: `update` leaves no session state."""


def floor_app(dsn: str) -> Any:
    """The raw ASGI app: `PUT /api/products/{id}` with `{"name": ...}`, and 200 on anything else."""
    pool: asyncpg.Pool | None = None

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        nonlocal pool
        if scope["type"] == "lifespan":
            await receive()  # startup
            pool = await asyncpg.create_pool(dsn, min_size=WRITERS, max_size=WRITERS, reset=untouched)
            await send({"type": "lifespan.startup.complete"})
            await receive()  # shutdown
            await pool.close()
            await send({"type": "lifespan.shutdown.complete"})
            return
        body, more = b"", True
        while more:
            message = await receive()
            body, more = body + message.get("body", b""), message.get("more_body", False)
        answer = b"{}"
        if scope["method"] == "PUT":
            assert pool is not None
            async with pool.acquire() as conn:
                product = await update(conn, int(scope["path"].rsplit("/", 1)[1]), json.loads(body)["name"])
            answer = json.dumps(product, default=str).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(answer)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": answer})

    return app


def floor_server(dsn: str) -> contextlib.AbstractContextManager[str]:
    """The floor app in a process of its own on a free port, answering; its URL."""
    return script_process(__file__, "--dsn", dsn, "--port", ready="/ready")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="the write floor behind a bare uvicorn")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    args = parser.parse_args()
    uvicorn.run(
        floor_app(args.dsn), host="127.0.0.1", port=args.port, http="httptools", loop="uvloop", log_level="warning"
    )
