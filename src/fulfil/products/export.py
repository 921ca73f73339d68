"""`GET /api/products/export`: what the list shows (its filters and sort) or a selection of ids, as
a CSV or XLSX download of any size, in constant memory.

CSV is written by PostgreSQL: `COPY (SELECT …) TO STDOUT (FORMAT csv, HEADER)` on a connection of
the export's own (`db.dedicated_connection`, as an import has), its chunks passed on as they
arrive through a queue of a few chunks, so a slow client slows the COPY instead of filling
memory, and the header leaves as soon as the statement starts. COPY quotes as RFC 4180 does (a
field with a comma, a double quote or a line break goes in double quotes, a quote doubled) and
ends each record with a line feed. Cells are the stored text exactly, so importing the file back
changes nothing; `for=spreadsheet` makes cells a spreadsheet would run as formulas inert
(`fulfil.spreadsheet`, done in the SELECT) and starts the file with a UTF-8 byte order mark, which
Excel needs to read UTF-8.

XLSX is written by XlsxWriter in `constant_memory` mode (each row goes to a temporary file as it
is written), rows read from a server-side cursor a batch at a time, the writing in a worker
thread; the finished file is then streamed. Its cells are strings (never formulas), so they are
inert without `for=spreadsheet`.

A process runs at most EXPORTS_AT_ONCE exports at a time (each holds a connection for as long as
its download lasts); one more is a 429 with Retry-After.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import re
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import anyio
import anyio.to_thread
import asyncpg
import xlsxwriter
from pydantic import Field
from starlette.responses import Response, StreamingResponse

from fulfil.db import dedicated_connection
from fulfil.errors import ApiError
from fulfil.products import queries
from fulfil.products.schemas import ProductFilter, SortKey
from fulfil.spreadsheet import inert_sql

ALL_COLUMNS = ("id", "sku", "name", "description", "active", "created_at", "updated_at")
DEFAULT_COLUMNS = "sku,name,description,active"
# A selection travels in the URL: 1,000 ids stay far below any server's or proxy's URL limit.
IDS_MAX = 1000
BIGINT_MAX = 2**63 - 1
XLSX_ROWS_MAX = 1_048_575  # a worksheet's 1,048,576 rows, less the header
# Each export holds a database connection of its own for as long as its download lasts.
EXPORTS_AT_ONCE = 4
CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

_COLUMN = "|".join(ALL_COLUMNS)
COLUMNS_PATTERN = rf"^({_COLUMN})(,({_COLUMN})){{0,{len(ALL_COLUMNS) - 1}}}$"
IDS_PATTERN = rf"^[0-9]{{1,19}}(,[0-9]{{1,19}}){{0,{IDS_MAX - 1}}}$"
_TIMESTAMP = "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

_BUFFERED_CHUNKS = 8  # COPY chunks waiting for the client (each what one socket read brought)
_XLSX_BATCH = 5000  # rows fetched from the cursor, and written in the thread, at a time
_FILE_CHUNK = 256 * 1024


class ExportQuery(ProductFilter):
    """`GET /api/products/export` parameters: the list's filters and sort, or `ids`; the format."""

    format: Literal["csv", "xlsx"] = Field("csv", description="csv (streamed as it is read) or xlsx")
    for_: Literal["spreadsheet"] | None = Field(
        None,
        alias="for",
        description="spreadsheet: cells starting with = + - @ tab or CR get a ' in front (and the CSV a BOM), "
        "so a spreadsheet runs nothing; left out, the cells are exact and the file imports back unchanged",
    )
    sort: SortKey = Field("id", description="As the list's: a field, `-` in front for descending")
    ids: str | None = Field(
        None,
        pattern=IDS_PATTERN,
        description=f"Comma-separated product ids, at most {IDS_MAX:,}: only these (with the filters), in the sort's "
        "order; unknown ones are skipped",
    )
    columns: str = Field(
        DEFAULT_COLUMNS,
        pattern=COLUMNS_PATTERN,
        description=f"Comma-separated, in the file's order, from {', '.join(ALL_COLUMNS)}",
    )

    def selected_ids(self) -> list[int] | None:
        """The `ids` given, less those past a bigint's range, which no product can have."""
        if self.ids is None:
            return None
        return [number for number in map(int, self.ids.split(",")) if number <= BIGINT_MAX]

    def column_list(self) -> list[str]:
        return self.columns.split(",")


def _cell(column: str, spreadsheet: bool) -> str:
    """The SELECT expression of one column: its text as the file carries it."""
    if column in ("created_at", "updated_at"):
        return f"{_TIMESTAMP.format(column)} AS {column}"
    if column in ("id", "active"):
        return f"{column}::text AS {column}"  # active reads true or false
    return f"{inert_sql(column)} AS {column}" if spreadsheet else column


def _numbered(sql: str, params: dict[str, Any]) -> tuple[str, list[Any]]:
    """`:name` parameters (the `databases` style of `queries`) as asyncpg's `$n`, and their values."""
    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    return re.sub(r"(?<!:):(\w+)", number, sql), [params[name] for name in names]


def _where(query: ExportQuery) -> tuple[str, dict[str, Any]]:
    """The list's filters (`queries.filter_clauses`), and the selection when `ids` is given."""
    clauses, params = queries.filter_clauses(query)
    ids = query.selected_ids()
    if ids is not None:
        clauses.append("id = ANY(:ids)")
        params["ids"] = ids
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def export_select(query: ExportQuery, *, spreadsheet: bool) -> tuple[str, list[Any]]:
    """The export's SELECT, in the list's order, and its asyncpg arguments."""
    where, params = _numbered(*_where(query))
    cells = ", ".join(_cell(column, spreadsheet) for column in query.column_list())
    return f"SELECT {cells} FROM product {where} ORDER BY {queries.order_by(query.sort)}", params


def _filename(extension: str) -> str:
    return f"products-{datetime.now(UTC).date().isoformat()}.{extension}"


def _headers(extension: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{_filename(extension)}"', "Cache-Control": "no-store"}


class _Slots:
    """How many exports this process runs at once: each holds a database connection of its own."""

    def __init__(self, size: int) -> None:
        self.free = size

    @contextlib.contextmanager
    def take(self) -> Iterator[None]:
        if self.free <= 0:
            message = f"{EXPORTS_AT_ONCE} exports are already running here; try again in a few seconds."
            raise ApiError(429, message, headers={"Retry-After": "5"})
        self.free -= 1
        try:
            yield
        finally:
            self.free += 1


_slots = _Slots(EXPORTS_AT_ONCE)


async def _started(chunks: AsyncGenerator[bytes, None], prefix: bytes = b"") -> AsyncIterator[bytes]:
    """The reply's body, once `chunks` has given its first chunk (b"" when it has nothing yet).

    Everything before that first chunk (a free slot, the connection, the statement started) can
    still fail as a status (429, 400, a 503 when the database is out of reach); after it, a
    failure can only cut the download short.
    """
    first = prefix + await anext(chunks)

    async def body() -> AsyncIterator[bytes]:
        try:
            if first:
                yield first
            async for chunk in chunks:
                yield chunk
        finally:
            await chunks.aclose()  # now, not whenever the collector finds it: it holds a connection

    return body()


async def _copy_chunks(url: str, sql: str, args: list[Any]) -> AsyncGenerator[bytes, None]:
    """The CSV as COPY sends it, a chunk at a time; the COPY stops when the client goes."""
    with _slots.take():
        async with dedicated_connection(url) as conn:
            send, receive = anyio.create_memory_object_stream[bytes](_BUFFERED_CHUNKS)

            async def sink(chunk: bytes) -> None:
                await send.send(bytes(chunk))  # asyncpg hands a bytearray it may reuse

            async def copy() -> None:
                with send:
                    await conn.copy_from_query(sql, *args, output=sink, format="csv", header=True)

            task = asyncio.create_task(copy())
            try:
                with receive:
                    async for chunk in receive:
                        yield chunk
                await task
            finally:
                if not task.done():
                    task.cancel()
                    task.add_done_callback(lambda done: done.cancelled() or done.exception())
                    conn.terminate()  # mid-COPY: nothing to finish cleanly


async def _csv_response(url: str, query: ExportQuery) -> StreamingResponse:
    spreadsheet = query.for_ == "spreadsheet"
    sql, args = export_select(query, spreadsheet=spreadsheet)
    body = await _started(_copy_chunks(url, sql, args), codecs.BOM_UTF8 if spreadsheet else b"")
    return StreamingResponse(body, media_type=CSV_TYPE, headers=_headers("csv"))


def _write_rows(sheet: Any, start: int, rows: Sequence[asyncpg.Record], columns: list[str]) -> None:
    """Rows into the worksheet from row `start`: ids as numbers, active as a boolean, the rest as
    strings (write_string never makes a formula); a missing description stays a blank cell."""
    for offset, record in enumerate(rows):
        row = start + offset
        for col, (column, value) in enumerate(zip(columns, record, strict=True)):
            if value is None:
                continue
            if column == "active":
                sheet.write_boolean(row, col, value == "true")
            elif column == "id" and int(value) <= 2**53:  # a double holds it exactly
                sheet.write_number(row, col, int(value))
            else:
                sheet.write_string(row, col, value)


def _too_many_rows() -> ApiError:
    message = f"an XLSX worksheet holds at most {XLSX_ROWS_MAX:,} products: export as csv, or filter"
    details = [{"location": "query", "field": "format", "message": message}]
    return ApiError(400, f"Invalid query: format: {message}", details=details)


async def _xlsx_chunks(query: ExportQuery, url: str) -> AsyncGenerator[bytes, None]:
    """b"" once the rows are known to fit a worksheet; then the workbook, built in a temporary
    folder (removed after) and read out in chunks."""
    where, params = _numbered(*_where(query))
    capped = f"SELECT count(*) FROM (SELECT 1 FROM product {where} LIMIT {XLSX_ROWS_MAX + 1}) AS capped"
    sql, args = export_select(query, spreadsheet=False)
    columns = query.column_list()
    with _slots.take(), tempfile.TemporaryDirectory(prefix="fulfil-export-") as folder:
        path = Path(folder) / "products.xlsx"
        async with dedicated_connection(url) as conn:
            if await conn.fetchval(capped, *params) > XLSX_ROWS_MAX:
                raise _too_many_rows()
            yield b""
            book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "tmpdir": folder})
            sheet = book.add_worksheet("Products")
            sheet.write_row(0, 0, columns)
            async with conn.transaction():
                cursor = await conn.cursor(sql, *args)
                written = 1
                while rows := await cursor.fetch(_XLSX_BATCH):
                    await anyio.to_thread.run_sync(_write_rows, sheet, written, rows, columns)
                    written += len(rows)
        await anyio.to_thread.run_sync(book.close)
        async with await anyio.open_file(path, "rb") as file:
            while chunk := await file.read(_FILE_CHUNK):
                yield chunk


def head_response(query: ExportQuery) -> Response:
    """HEAD: the download's headers, without reading the products (its body would be dropped)."""
    if query.format == "xlsx":
        return Response(media_type=XLSX_TYPE, headers=_headers("xlsx"))
    return Response(media_type=CSV_TYPE, headers=_headers("csv"))


async def export_response(url: str, query: ExportQuery) -> StreamingResponse:
    """The download `query` asks for, read on a connection of its own to the database at `url`."""
    if query.format == "xlsx":
        body = await _started(_xlsx_chunks(query, url))
        return StreamingResponse(body, media_type=XLSX_TYPE, headers=_headers("xlsx"))
    return await _csv_response(url, query)
