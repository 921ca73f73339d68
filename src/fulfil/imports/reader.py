"""Reading an uploaded CSV: plain blocking code, run in a worker thread by the job.

`check_file` proves the whole file is UTF-8 text before anything is written; `read_header` finds
the delimiter and the columns; `read_batches` yields validated rows and rejected ones, batch by
batch, each with the byte offset and physical line where it ends, so a job can resume there.
Rows are validated with `fulfil.products.fields`, the rules the JSON API uses.
"""

from __future__ import annotations

import codecs
import csv
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from itertools import islice
from pathlib import Path
from typing import BinaryIO

from fulfil.imports.shopify import ShopifyColumns, ShopifyRows, shopify_columns
from fulfil.products.fields import FIELDS, clean_description, clean_name, clean_sku, parse_active

CHUNK_BYTES = 1 << 20
# A field longer than this rejects its row. A record (one row, quoted line breaks included) longer
# than RECORD_MAX_BYTES can only be an opening quote that is never closed swallowing the file.
FIELD_MAX_CHARS = 131_072
RECORD_MAX_BYTES = 4 * FIELD_MAX_CHARS
# The csv module's limit is process-wide; lift it above ours so the reader never stops mid-record.
csv.field_size_limit(2 * RECORD_MAX_BYTES)

# The reader hands the GIL over this often, so requests served beside an import stay quick.
YIELD_EVERY_LINES = 256
BOM = codecs.BOM_UTF8
DELIMITERS = (",", ";", "\t")
REQUIRED = ("sku", "name")
SAMPLE_ROWS = 5  # first rows kept with a header that lacks columns, for the dashboard's mapping form
SAMPLE_CELL_CHARS = 200  # also the longest column name shown, of at most SHOWN_COLUMNS columns
SHOWN_COLUMNS = 200
SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "a PNG image",
    b"GIF8": "a GIF image",
    b"\xff\xd8\xff": "a JPEG image",
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (an .xlsx workbook is one)",
    b"\x1f\x8b": "a gzip archive",
    b"\xd0\xcf\x11\xe0": "an old Excel or Word file",
    b"\xff\xfe": "UTF-16 text",
    b"\xfe\xff": "UTF-16 text",
}
# Bytes that plain text is made of: printable ASCII, tab, line breaks and all of UTF-8's high bytes.
_TEXT_BYTES = bytes([9, 10, 13, *range(32, 127), *range(128, 256)])

Record = tuple[int, str, str, str | None, bool | None]  # line, sku, name, description, active


class ImportFailed(Exception):
    """The file cannot be imported; the message says what is wrong and where."""


def shown(cell: str) -> str:
    """A header name or cell as the snapshot shows it: cut short, without NUL bytes (jsonb has none)."""
    return cell.replace("\x00", "")[:SAMPLE_CELL_CHARS]


class HeaderProblem(ImportFailed):
    """The header lacks a column the import needs: with the columns it has and the first rows, to map them."""

    def __init__(self, message: str, columns: list[str], sample: list[list[str]]) -> None:
        super().__init__(message)
        self.columns = [shown(c) for c in columns[:SHOWN_COLUMNS]]
        self.sample = [[shown(cell) for cell in row[:SHOWN_COLUMNS]] for row in sample]


@dataclass(frozen=True)
class Header:
    columns: list[str]
    delimiter: str
    cr_only: bool  # old Mac line endings: a bare CR ends each line
    sku: int
    name: int
    description: int | None
    active: int | None
    end_byte: int  # where the first data row starts
    end_line: int
    shopify: ShopifyColumns | None = None  # a Shopify product export, read with its own rules

    @property
    def file_format(self) -> str:
        return "shopify" if self.shopify else "csv"

    def mapped(self) -> list[dict[str, str | None]]:
        """Each column of the header with the field it feeds (None: not imported)."""
        if self.shopify:
            feeds = self.shopify.mapped()
        else:
            feeds = {
                i: f
                for f, i in zip(FIELDS, (self.sku, self.name, self.description, self.active), strict=True)
                if i is not None
            }
        return [
            {"column": shown(column), "field": feeds.get(i)} for i, column in enumerate(self.columns[:SHOWN_COLUMNS])
        ]


@dataclass
class Batch:
    records: list[Record] = field(default_factory=list)
    rejects: list[tuple[int, str, list[str]]] = field(default_factory=list)  # line, reason, fields
    skips: list[tuple[int, str]] = field(default_factory=list)  # line, reason: rows with nothing to import
    end_line: int = 0
    end_byte: int = 0
    last: bool = False

    @property
    def rows(self) -> int:
        return len(self.records) + len(self.rejects) + len(self.skips)

    def skip_reasons(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for _, reason in self.skips:
            counts[reason] = counts.get(reason, 0) + 1
        return counts


def binary_kind(head: bytes) -> str | None:
    """What a file that is plainly not CSV text looks like ("a PNG image"), from its first bytes."""
    for signature, kind in SIGNATURES.items():
        if head.startswith(signature):
            return kind
    sample = head[:8192]
    if sample and len(sample.translate(None, _TEXT_BYTES)) * 10 > len(sample):
        return "binary data"
    return None


def not_text_message(kind: str) -> str:
    return f"The file is not CSV text: it looks like {kind}. Save or export it as CSV (UTF-8) and upload that."


def _physical_lines(f: BinaryIO, cr_only: bool) -> Iterator[bytes]:
    """Lines with their endings; a line longer than RECORD_MAX_BYTES comes in pieces (never all in memory)."""
    if not cr_only:
        yield from iter(partial(f.readline, RECORD_MAX_BYTES), b"")
        return
    rest = b""
    while chunk := f.read(CHUNK_BYTES):
        parts = (rest + chunk).split(b"\r")
        rest = parts.pop()
        for part in parts:
            yield part + b"\r"
    if rest:
        yield rest


def _line_at(path: Path, offset: int, cr_only: bool) -> int:
    """The physical line (from 1) holding byte `offset`."""
    newline = b"\r" if cr_only else b"\n"
    line, read = 1, 0
    with path.open("rb") as f:
        while read < offset and (chunk := f.read(min(CHUNK_BYTES, offset - read))):
            line += chunk.count(newline)
            read += len(chunk)
    return line


def _not_utf8(line: int, bad: bytes) -> ImportFailed:
    return ImportFailed(
        f"Line {line} is not valid UTF-8 (byte 0x{bad[:1].hex().upper()}); the file was probably saved in another "
        "encoding. Save it as UTF-8 (in Excel: 'CSV UTF-8') and upload it again."
    )


def check_file(path: Path) -> bool:
    """Fail unless the whole file is UTF-8 text; returns whether it holds NUL bytes (rows to reject).

    One quick pass before any write, so a file in the wrong encoding changes nothing.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    has_nul, consumed, cr_only = False, 0, False
    with path.open("rb") as f:
        head = f.read(CHUNK_BYTES)
        kind = binary_kind(head)
        if kind:
            raise ImportFailed(not_text_message(kind))
        cr_only = b"\n" not in head and b"\r" in head
        chunk = head
        while chunk:
            has_nul = has_nul or b"\x00" in chunk
            pending = len(decoder.getstate()[0])
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                offset = consumed - pending + exc.start
                raise _not_utf8(_line_at(path, offset, cr_only), exc.object[exc.start : exc.end]) from None
            consumed += len(chunk)
            chunk = f.read(CHUNK_BYTES)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise _not_utf8(_line_at(path, consumed, cr_only), exc.object[exc.start : exc.end]) from None
    return has_nul


class _Lines:
    """Feeds the csv reader decoded physical lines, counting bytes and lines as it goes."""

    def __init__(self, f: BinaryIO, cr_only: bool, byte: int, line: int) -> None:
        self.f = f
        self.cr_only = cr_only
        self.byte = byte
        self.line = line
        self.record_bytes = 0
        self.record_start = line + 1
        self.oversized = False  # the row just read was one line over RECORD_MAX_BYTES, skipped whole

    def next_record(self) -> tuple[int, int]:
        """Called after each row: returns the row's first line and size, and starts the next row."""
        start, size = self.record_start, self.record_bytes
        self.record_start, self.record_bytes = self.line + 1, 0
        return start, size

    def __iter__(self) -> Iterator[str]:
        pieces = _physical_lines(self.f, self.cr_only)
        for raw in pieces:
            self.byte += len(raw)
            self.line += 1
            self.record_bytes += len(raw)
            if self.record_bytes > RECORD_MAX_BYTES or (len(raw) >= RECORD_MAX_BYTES and raw[-1:] not in b"\r\n"):
                if self.record_bytes == len(raw) and self._skip_long_line(pieces, raw):
                    yield "\n"  # an empty row in its place; the reader rejects it as `oversized`
                    continue
                raise ImportFailed(
                    f"Line {self.record_start}: the row is longer than {RECORD_MAX_BYTES:,} bytes, so the rest of the "
                    "file cannot be read. Most likely a quoted field starts there and its closing quote is missing."
                )
            try:
                text = raw.decode()
            except UnicodeDecodeError as exc:
                raise _not_utf8(self.line, exc.object[exc.start : exc.end]) from None
            yield text

    def _skip_long_line(self, pieces: Iterator[bytes], first: bytes) -> bool:
        """Read past a row's first line, too long to keep, a piece at a time; True if it holds the whole row.

        A line whose quotes pair up cannot be inside an open quote: it is one row, rejected alone.
        An odd count means a quoted field runs on past it, most likely a quote never closed.
        """
        quotes, raw = first.count(b'"'), first
        while raw[-1:] not in b"\r\n" and (raw := next(pieces, b"")):
            self.byte += len(raw)
            self.record_bytes += len(raw)
            quotes += raw.count(b'"')
        self.oversized = quotes % 2 == 0
        return self.oversized


def unclosed_quote(line: int) -> ImportFailed:
    return ImportFailed(
        f"Line {line}: a quoted field starts on this line and its closing quote is missing, so the rest of "
        'the file cannot be read. Close the quote (a quote inside a field is written twice: "") and upload again.'
    )


def _normalise(name: str) -> str:
    return "".join(name.split()).lower().lstrip("\ufeff")


def _sample(path: Path, delimiter: str, cr_only: bool, byte: int, line: int) -> list[list[str]]:
    """The first data rows (cells cut short), shown beside the header when columns must be mapped."""
    with path.open("rb") as f:
        f.seek(byte)
        try:
            rows = list(islice(csv.reader(_Lines(f, cr_only, byte, line), delimiter=delimiter), SAMPLE_ROWS))
        except (csv.Error, ImportFailed):
            rows = []
    return [row for row in rows if row]


def read_header(path: Path, mapping: Mapping[str, str] | None = None) -> Header:
    """The header line: delimiter (`,` `;` or tab, whichever it holds most) and column positions.

    `mapping` names the file's column for each of our fields it gives (`{"sku": "Item No."}`);
    a field it leaves out is the column of its own name. Without a mapping, a Shopify product
    export is recognised by its header.
    """
    with path.open("rb") as f:
        head = f.read(CHUNK_BYTES)
        start = len(BOM) if head.startswith(BOM) else 0
        cr_only = b"\n" not in head and b"\r" in head
        first = head[start:].split(b"\r" if cr_only else b"\n", 1)[0].decode(errors="replace")
        delimiter = max(DELIMITERS, key=first.count) if any(d in first for d in DELIMITERS) else ","
        f.seek(start)
        lines = _Lines(f, cr_only, start, 0)
        try:
            columns = next(csv.reader(lines, delimiter=delimiter, strict=True), None)
        except csv.Error as exc:
            raise ImportFailed(f"The header (line 1) is not valid CSV: {exc}.") from None
    if columns is None:
        raise ImportFailed("The file is empty: it needs a header line with sku and name columns, then one row a line.")
    names = [_normalise(c) for c in columns]
    found = ", ".join(c.strip() for c in columns if c.strip())[:200] or "nothing"

    def problem(message: str) -> HeaderProblem:
        return HeaderProblem(message, columns, _sample(path, delimiter, cr_only, lines.byte, lines.line))

    wanted = {f: _normalise(mapping.get(f, f)) for f in FIELDS} if mapping else {f: f for f in FIELDS}
    for field_name, column in (mapping or {}).items():
        if wanted[field_name] not in names:
            raise problem(
                f"The mapping gives column {column!r} for {field_name}, but the header (line 1) has no such column "
                f"(found: {found})."
            )
    shopify = None if mapping else shopify_columns(names)
    missing = [n for n in REQUIRED if wanted[n] not in names]
    if missing and not shopify:
        raise problem(
            f"The header (line 1) has no {' or '.join(missing)} column (found: {found}). The file needs sku "
            "and name columns (description and active are optional), or a mapping that names them."
        )

    def position(name: str) -> int | None:
        return names.index(wanted[name]) if wanted[name] in names else None

    return Header(
        columns=columns,
        delimiter=delimiter,
        cr_only=cr_only,
        sku=shopify.sku if shopify else names.index(wanted["sku"]),
        name=shopify.title if shopify else names.index(wanted["name"]),
        description=shopify.body if shopify else position("description"),
        active=(shopify.status if shopify.status is not None else shopify.published) if shopify else position("active"),
        end_byte=lines.byte,
        end_line=lines.line,
        shopify=shopify,
    )


def _row_problem(row: list[str], header: Header, size: int, has_nul: bool) -> str | None:
    """Why the row's shape is unusable (field count, NUL byte, a field over the limit), if it is."""
    width = len(header.columns)
    if len(row) < width:
        return f"the row has {len(row)} field{'s' * (len(row) != 1)}; the header has {width}"
    if len(row) > width and any(cell.strip() for cell in row[width:]):
        return f"the row has {len(row)} fields; the header has {width} (is a comma inside a field not quoted?)"
    if has_nul or size > FIELD_MAX_CHARS:
        for index, cell in enumerate(row[:width]):
            where = f"field {index + 1} ({header.columns[index].strip()})"
            if "\x00" in cell:
                return f"{where} contains a NUL byte"
            if len(cell) > FIELD_MAX_CHARS:
                return f"{where} is {len(cell):,} characters long; the limit is {FIELD_MAX_CHARS:,}"
    return None


def read_batches(
    path: Path,
    header: Header,
    *,
    start_byte: int,
    start_line: int,
    batch_rows: int,
    has_nul: bool,
    stop: threading.Event,
) -> Iterator[Batch]:
    """Rows from `start_byte` (physical line `start_line` + 1) on, `batch_rows` at a time.

    A row that fails validation goes in the batch's rejects with its first physical line and why.
    Stops early, after a batch, once `stop` is set. A Shopify export is read from its first row
    even when resuming (a handle's product columns are on its first row), the rows up to
    `start_line` only followed, not returned.
    """
    i_sku, i_name, i_desc, i_active = header.sku, header.name, header.description, header.active
    shopify = ShopifyRows(header.shopify) if header.shopify else None
    done_line = start_line if shopify else 0
    if shopify:
        start_byte, start_line = header.end_byte, header.end_line
    with path.open("rb") as f:
        f.seek(start_byte)
        lines = _Lines(f, header.cr_only, start_byte, start_line)
        reader = csv.reader(lines, delimiter=header.delimiter, strict=True)
        batch = Batch()
        while True:
            try:
                for row in reader:
                    line, size = lines.next_record()
                    oversized, lines.oversized = lines.oversized, False
                    problem = _row_problem(row, header, size, has_nul) if row else None
                    if line <= done_line:  # a resumed Shopify export: a row imported before, only followed
                        if shopify and row and not problem:
                            shopify.follow(row)
                        continue
                    if not row:
                        if oversized:
                            reason = f"the row is {size:,} bytes long; the limit is {RECORD_MAX_BYTES:,}"
                            batch.rejects.append((line, reason, []))
                        continue
                    if problem:
                        batch.rejects.append((line, problem, row))
                    elif shopify:
                        try:
                            made = shopify.record(line, row)
                        except ValueError as exc:
                            batch.rejects.append((line, str(exc), row))
                        else:
                            if isinstance(made, str):
                                batch.skips.append((line, made))
                            else:
                                batch.records.append(made)
                    else:
                        try:
                            batch.records.append(
                                (
                                    line,
                                    clean_sku(row[i_sku]),
                                    clean_name(row[i_name]),
                                    None if i_desc is None else clean_description(row[i_desc]),
                                    None  # no active column or a blank cell: not given
                                    if i_active is None or not row[i_active].strip()
                                    else parse_active(row[i_active]),
                                )
                            )
                        except ValueError as exc:
                            batch.rejects.append((line, str(exc), row))
                    if not line % YIELD_EVERY_LINES:
                        time.sleep(0)  # let the event loop's thread have the GIL now, not in 5 ms
                    if batch.rows >= batch_rows:
                        batch.end_line, batch.end_byte = lines.line, lines.byte
                        yield batch
                        if stop.is_set():
                            return
                        batch = Batch()
                break
            except csv.Error as exc:
                line, _ = lines.next_record()
                if "unexpected end of data" in str(exc):
                    raise unclosed_quote(line) from None
                if line > done_line:
                    batch.rejects.append((line, f"the row is not valid CSV: {exc}", []))
        batch.end_line, batch.end_byte, batch.last = lines.line, lines.byte, True
        yield batch
