"""The migration runner: numbered plain-SQL files (`fulfil.shipped.migrations`), applied in order.

Runs under a PostgreSQL advisory lock so two processes starting at once take turns; each file
applies in its own transaction and is recorded with its checksum. A file changed after it was
applied is an error, never silently skipped.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib.resources.abc import Traversable

import asyncpg

from fulfil import shipped

log = logging.getLogger(__name__)

LOCK_KEY = 7_405_118_262  # any constant shared by every process of this service
FILENAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    """The database and the migration files disagree; the message says which file."""


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(folder: Traversable | None = None) -> list[Migration]:
    """The migrations in `folder` (by default the ones shipped with the package), in order."""
    migrations = []
    files = (folder or shipped.migrations()).iterdir()
    for path in sorted((f for f in files if f.name.endswith(".sql")), key=lambda f: f.name):
        match = FILENAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_slug.sql")
        migrations.append(Migration(int(match.group(1)), path.name, path.read_text(encoding="utf-8")))
    versions = [m.version for m in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError("two migration files share a number")
    return migrations


async def apply_migrations(conn: asyncpg.Connection, folder: Traversable | None = None) -> list[str]:
    """Apply every pending migration; returns the names applied (empty when up to date)."""
    migrations = discover(folder)
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(
            """CREATE TABLE IF NOT EXISTS schema_migration (
                   version integer PRIMARY KEY,
                   name text NOT NULL,
                   checksum text NOT NULL,
                   applied_at timestamptz NOT NULL DEFAULT now())"""
        )
        rows = await conn.fetch("SELECT version, name, checksum FROM schema_migration")
        applied = {row["version"]: row for row in rows}
        done = []
        for migration in migrations:
            row = applied.get(migration.version)
            if row is not None:
                if row["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"{migration.name} was changed after it was applied; "
                        "add a new migration instead of editing an applied one"
                    )
                continue
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migration (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
            log.info("applied migration %s", migration.name)
            done.append(migration.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
