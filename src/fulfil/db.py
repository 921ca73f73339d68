"""The one database pool, owned by `databases` (asyncpg backend), and the import's own connection.

Everyday queries go through `Database`, one pooled connection per query or transaction; the
classes below `create_database` make that pool give back every connection the server ends. A
path where `databases`' own cost shows (its SQLAlchemy compile of every statement: a single
product's write spent more time there than in asyncpg) borrows the same pool's asyncpg
connection through `direct_transaction` and runs the same `:name` SQL as positional statements.
A CSV import holds one connection for its whole run (its advisory lock, its staging table, its batches):
that connection is asyncpg's own (`dedicated_connection`), not one borrowed from the pool, because
`databases` binds a borrowed connection to the task, and once the server drops it every later
query of that task fails with "connection has been released back to the pool" until the task ends
(tests/faults/test_database.py shows it).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from types import TracebackType
from typing import Any, Protocol, TypeVar

import asyncpg
import databases.core
from databases import Database
from databases.backends.postgres import PostgresBackend, PostgresConnection
from pydantic import BaseModel

Model = TypeVar("Model", bound=BaseModel)
Value = TypeVar("Value")


def create_database(url: str, pool_size: int = 10) -> Database:
    """The pool. `databases` reads only the URL's host, port, user, password and name; the whole
    URL also goes to asyncpg as its `dsn`, so query options such as a unix-socket `host` or
    `sslmode=verify-full` take effect instead of being dropped."""
    return PoolDatabase(
        url.split("?", 1)[0], min_size=1, max_size=pool_size, dsn=url, connection_class=ServerEndableConnection
    )


# The server went away or dropped the connection (a failover, a restart, pg_terminate_backend),
# or turned a new one away while full: worth waiting for, unlike an error in the query itself.
CONNECTION_LOST: tuple[type[Exception], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.OperatorInterventionError,  # "terminating connection due to administrator command"
    asyncpg.TooManyConnectionsError,  # "sorry, too many clients already", only ever on connecting
    asyncpg.InterfaceError,
    ConnectionError,
    OSError,
)


class ServerEndableConnection(asyncpg.Connection):  # type: ignore[misc]
    """asyncpg's connection, except that a statement asyncpg's protocol cannot run ends the
    connection and fails as a lost connection (a 503, and the pool slot given back at once).

    When the server ends an idle session it sends "terminating connection" and closes the socket;
    asyncpg reads the message a loop turn before it sees the socket close, and in that turn the
    pool hands the connection out as alive (or an import runs its next batch on its own
    connection). The next statement then fails inside asyncpg's protocol with an
    InternalClientError naming a protocol state (which the API would answer as a 500). The
    protocol is then either closed without telling the pool, whose slot stays taken until someone
    releases it, or (a COPY) left with an operation pending, so the transaction's ROLLBACK fails
    too. Either way nothing more can run on the connection.

    Also: the pool's release resets a connection's session (advisory locks, LISTEN, SET, cursors:
    one more round trip). A direct statement or transaction leaves nothing of the kind behind, so
    it marks its connection `session_untouched` and that release skips the reset.
    """

    _session_untouched = False

    def session_untouched(self) -> None:
        """The statements since this connection was handed out left no session state: the pool's
        next release need not reset it (an open transaction is still rolled back)."""
        self._session_untouched = True

    def get_reset_query(self) -> str:
        untouched, self._session_untouched = self._session_untouched, False
        return "" if untouched else super().get_reset_query()

    @contextlib.contextmanager
    def _ended_by_server(self) -> Iterator[None]:
        try:
            yield
        except asyncpg.InternalClientError:
            self.terminate()
            # Not chained: asyncpg's message names a protocol state, not the ended session it means.
            raise asyncpg.ConnectionDoesNotExistError(
                "the connection to the database had ended (asyncpg's protocol could not run the statement)"
            ) from None

    async def execute(self, query: str, *args: Any, **options: Any) -> str:
        with self._ended_by_server():
            return await super().execute(query, *args, **options)  # type: ignore[no-any-return]

    async def executemany(self, command: str, args: Any, **options: Any) -> None:
        with self._ended_by_server():
            await super().executemany(command, args, **options)

    async def fetch(self, query: str, *args: Any, **options: Any) -> list[Any]:
        with self._ended_by_server():
            return await super().fetch(query, *args, **options)  # type: ignore[no-any-return]

    async def fetchrow(self, query: str, *args: Any, **options: Any) -> Any:
        with self._ended_by_server():
            return await super().fetchrow(query, *args, **options)

    async def fetchval(self, query: str, *args: Any, **options: Any) -> Any:
        with self._ended_by_server():
            return await super().fetchval(query, *args, **options)

    async def copy_records_to_table(self, table_name: str, **options: Any) -> str:
        with self._ended_by_server():
            return await super().copy_records_to_table(table_name, **options)  # type: ignore[no-any-return]


class PoolDatabase(Database):
    """`databases`' Database, with transactions and releases that survive a lost connection.

    `databases` 0.9 counts a task's uses of its pooled connection and gives the connection back
    when the count drops to zero. A transaction whose BEGIN, COMMIT or ROLLBACK fails skips the
    decrement, so the task keeps a dead connection: its later queries fail with "connection has
    been released back to the pool" and, when BEGIN failed, the pool slot is never given back
    (enough of those and every request waits for a connection). A release whose reset fails
    leaves the task's connection half-acquired, so its next query fails an assertion.
    tests/foundation/test_db.py shows both against the stock classes.
    """

    def __init__(self, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self._backend = _ReleasingBackend(self.url, **self.options)

    @property
    def raw_pool(self) -> asyncpg.Pool:
        """asyncpg's pool under `databases` (connected), for `direct_transaction`."""
        pool = self._backend._pool
        assert pool is not None, "the database is not connected"
        return pool

    def connection(self) -> databases.core.Connection:
        if self._connection is None and self._global_connection is None:
            self._connection = _Connection(self, self._backend)
        return super().connection()

    def transaction(self, *, force_rollback: bool = False, **kwargs: Any) -> databases.core.Transaction:
        return _Transaction(self.connection, force_rollback=force_rollback, **kwargs)


class _ReleasingBackend(PostgresBackend):
    def connection(self) -> PostgresConnection:
        return _ReleasingConnection(self, self._dialect)


class _ReleasingConnection(PostgresConnection):
    async def release(self) -> None:
        """Give the connection back; one the server ended was dropped by the pool, so there is
        nothing left to give and the task is free to take a new one."""
        try:
            await super().release()
        except CONNECTION_LOST:
            self._connection = None


class _Connection(databases.core.Connection):
    def transaction(self, *, force_rollback: bool = False, **kwargs: Any) -> databases.core.Transaction:
        return _Transaction(lambda: self, force_rollback=force_rollback, **kwargs)


class _Transaction(databases.core.Transaction):
    """`databases`' transaction, except that the connection it took is given back whatever its
    BEGIN, COMMIT or ROLLBACK does, and a ROLLBACK the lost connection cannot run leaves the
    body's own error (the one that says what happened) to propagate."""

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None = None,
        exc_value: BaseException | None = None,
        traceback: TracebackType | None = None,
    ) -> None:
        if exc_type is None and not self._force_rollback:
            await self.commit()
            return
        try:
            await self.rollback()
        except CONNECTION_LOST:
            if exc_type is None:
                raise

    async def start(self) -> _Transaction:
        connection = self._connection
        self._transaction = connection._connection.transaction()
        async with connection._transaction_lock:
            is_root = not connection._transaction_stack
            await connection.__aenter__()
            try:
                await self._transaction.start(is_root=is_root, extra_options=self._extra_options)
            except BaseException:
                self._transaction = None
                await connection.__aexit__()
                raise
            connection._transaction_stack.append(self)
        return self

    async def commit(self) -> None:
        await self._end(commit=True)

    async def rollback(self) -> None:
        await self._end(commit=False)

    async def _end(self, *, commit: bool) -> None:
        connection = self._connection
        async with connection._transaction_lock:
            assert connection._transaction_stack[-1] is self
            connection._transaction_stack.pop()
            transaction, self._transaction = self._transaction, None
            assert transaction is not None
            try:
                await (transaction.commit() if commit else transaction.rollback())
            finally:
                await connection.__aexit__()


@contextlib.asynccontextmanager
async def dedicated_connection(url: str) -> AsyncIterator[asyncpg.Connection]:
    """One asyncpg connection of the caller's own for a long unit of work, closed at the end (or
    dropped outright if closing fails), so no pool ever sees it."""
    conn = await asyncpg.connect(url, connection_class=ServerEndableConnection)
    try:
        yield conn
    finally:
        try:
            await asyncio.wait_for(conn.close(), 5)
        except Exception:
            conn.terminate()


async def through_lost_connections(statement: Callable[[], Awaitable[Value]], *, within: float) -> Value:
    """`statement()`, run again while the connection is lost (a failover, a restart), for up to
    `within` seconds. Only for a statement that is safe to run twice: whether a lost one
    committed is not known."""
    deadline = time.monotonic() + within
    pause = 0.1
    while True:
        try:
            return await statement()
        except CONNECTION_LOST:
            if time.monotonic() + pause > deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, 2.0)


async def connect_raw(url: str) -> asyncpg.Connection:
    """A single asyncpg connection outside the pool, for the migration runner and tools."""
    return await asyncpg.connect(url)


async def fetch_model(db: Database, query: str, values: dict[str, Any], model: type[Model]) -> Model | None:
    """The row `query` returns as a `model`, or None when it returns none."""
    row = await db.fetch_one(query, values)
    return None if row is None else model.model_validate(dict(row._mapping))


class Queries(Protocol):
    """What a statement helper needs from where it runs: `databases`' Database or Connection, or
    a `Direct` connection; each takes SQL with `:name` parameters and a dict of their values."""

    async def fetch_val(self, query: str, values: dict[str, Any] | None = None) -> Any: ...

    async def execute(self, query: str, values: dict[str, Any] | None = None) -> Any: ...


# A `:name` parameter as SQLAlchemy's text() finds it (its pattern: not `::type`, not `\:`), so
# a statement means the same through `databases` and through `positional`.
_NAMED = re.compile(r"(?<![:\w\\]):(\w+)(?![:\w])")


@functools.lru_cache(maxsize=512)
def positional(query: str) -> tuple[str, tuple[str, ...]]:
    """`query` with its `:name` parameters numbered as asyncpg's `$1`, `$2`…, and the names in
    that order (a name used twice keeps its number). Cached: statements are module constants."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    return _NAMED.sub(number, query), tuple(names)


class Direct:
    """One pooled asyncpg connection inside a transaction (`direct_transaction`), taking the same
    `:name` SQL and value dicts as `databases`; rows are asyncpg's Records (`dict(row)`).

    Its connection goes back to the pool without a session reset, so a statement run here must
    leave no session state: no SET without LOCAL, no session advisory lock, no LISTEN, no cursor
    WITH HOLD (transaction-scoped state ends with the commit or rollback)."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @staticmethod
    def _args(query: str, values: dict[str, Any] | None) -> tuple[str, list[Any]]:
        sql, names = positional(query)
        given = values or {}
        return sql, [given[name] for name in names]

    async def fetch_one(self, query: str, values: dict[str, Any] | None = None) -> asyncpg.Record | None:
        sql, args = self._args(query, values)
        return await self.conn.fetchrow(sql, *args)

    async def fetch_all(self, query: str, values: dict[str, Any] | None = None) -> list[asyncpg.Record]:
        sql, args = self._args(query, values)
        return await self.conn.fetch(sql, *args)  # type: ignore[no-any-return]

    async def fetch_val(self, query: str, values: dict[str, Any] | None = None) -> Any:
        sql, args = self._args(query, values)
        return await self.conn.fetchval(sql, *args)

    async def execute(self, query: str, values: dict[str, Any] | None = None) -> None:
        sql, args = self._args(query, values)
        await self.conn.execute(sql, *args)


def _raw_pool(db: Database) -> asyncpg.Pool:
    if not isinstance(db, PoolDatabase):
        raise TypeError("a direct statement needs the pool of fulfil.db.create_database")
    return db.raw_pool


async def direct_fetch_one(db: Database, query: str, values: dict[str, Any]) -> asyncpg.Record | None:
    """One statement's first row, on one of the pool's connections straight through asyncpg, for a
    lookup every request makes (who is calling): `databases`' compile would be most of its cost."""
    async with _raw_pool(db).acquire() as conn:
        row = await Direct(conn).fetch_one(query, values)
        conn.session_untouched()
        return row


@contextlib.asynccontextmanager
async def direct_transaction(db: Database) -> AsyncIterator[Direct]:
    """A transaction on one of the pool's connections, straight through asyncpg: committed when
    the body ends, rolled back when it raises. As with `PoolDatabase`'s transactions, a ROLLBACK
    the lost connection cannot run leaves the body's own error to propagate, and a connection the
    server ended goes back to the pool, which drops it."""
    async with _raw_pool(db).acquire() as conn:
        transaction = conn.transaction()
        await transaction.start()
        try:
            yield Direct(conn)
        except BaseException:
            with contextlib.suppress(*CONNECTION_LOST):
                await transaction.rollback()
            raise
        await transaction.commit()
        conn.session_untouched()
