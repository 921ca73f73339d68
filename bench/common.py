"""What the benchmarks share: the servers they use, a Redis database of their own, percentiles.

Each benchmark uses the machine's PostgreSQL at DATABASE_URL (else
postgresql://postgres@127.0.0.1:5432/test) as admin, to make and drop a database of its own, and
its own Redis database number on the server of REDIS_URL (else redis://127.0.0.1:6379), which it
may flush: never the database a service or a test suite uses. Databases, free ports, health waits
and the service process come from `tests.support`, shared with the test suite.

Importing this module puts the checkout on `sys.path`, so `python bench/x.py` run from anywhere
can import `tests.support`: import it before anything from `tests`.
"""

from __future__ import annotations

import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.support.databases import empty_redis, redis_db_url  # noqa: E402

ADMIN_URL = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_SERVER = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379")


async def fresh_redis(db: int) -> str:
    """Empty Redis database number `db` on the server of REDIS_URL (no job of an earlier run left); its URL."""
    url = redis_db_url(REDIS_SERVER, db)
    await empty_redis(url)
    return url


def percentile(values: list[float], q: int) -> float:
    """The q-th percentile (1..99) of `values`."""
    if len(values) < 2:
        return max(values, default=0.0)
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]
