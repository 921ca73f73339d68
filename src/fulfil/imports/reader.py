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
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import BinaryIO

from fulfil.products.fields import clean_description, clean_name, clean_sku, parse_active

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


@dataclass
class Batch:
    records: list[Record] = field(default_factory=list)
    rejects: list[tuple[int, str, list[str]]] = field(default_factory=list)  # line, reason, fields
    end_line: int = 0
    end_byte: int = 0
    last: bool = False

    @property
    def rows(self) -> int:
        return len(self.records) + len(self.rejects)


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

    def next_record(self) -> tuple[int, int]:
        """Called after each row: returns the row's first line and size, and starts the next row."""
        start, size = self.record_start, self.record_bytes
        self.record_start, self.record_bytes = self.line + 1, 0
        return start, size

    def __iter__(self) -> Iterator[str]:
        for raw in _physical_lines(self.f, self.cr_only):
            self.byte += len(raw)
            self.line += 1
            self.record_bytes += len(raw)
            if self.record_bytes > RECORD_MAX_BYTES or (len(raw) == RECORD_MAX_BYTES and raw[-1:] not in b"\r\n"):
                raise ImportFailed(
                    f"Line {self.record_start}: the row is longer than {RECORD_MAX_BYTES:,} bytes, so the rest of the "
                    "file cannot be read. Most likely a quoted field starts there and its closing quote is missing."
                )
            try:
                text = raw.decode()
            except UnicodeDecodeError as exc:
                raise _not_utf8(self.line, exc.object[exc.start : exc.end]) from None
            yield text


def unclosed_quote(line: int) -> ImportFailed:
    return ImportFailed(
        f"Line {line}: a quoted field starts on this line and its closing quote is missing, so the rest of "
        'the file cannot be read. Close the quote (a quote inside a field is written twice: "") and upload again.'
    )


def _normalise(name: str) -> str:
    return "".join(name.split()).lower().lstrip("\ufeff")


def read_header(path: Path) -> Header:
    """The header line: delimiter (`,` `;` or tab, whichever it holds most) and column positions."""
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
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        found = ", ".join(c.strip() for c in columns if c.strip()) or "nothing"
        raise ImportFailed(
            f"The header (line 1) has no {' or '.join(missing)} column (found: {found[:200]}). The file needs sku "
            "and name columns; description and active are optional."
        )

    def position(name: str) -> int | None:
        return names.index(name) if name in names else None

    return Header(
        columns=columns,
        delimiter=delimiter,
        cr_only=cr_only,
        sku=names.index("sku"),
        name=names.index("name"),
        description=position("description"),
        active=position("active"),
        end_byte=lines.byte,
        end_line=lines.line,
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
    Stops early, after a batch, once `stop` is set.
    """
    i_sku, i_name, i_desc, i_active = header.sku, header.name, header.description, header.active
    with path.open("rb") as f:
        f.seek(start_byte)
        lines = _Lines(f, header.cr_only, start_byte, start_line)
        reader = csv.reader(lines, delimiter=header.delimiter, strict=True)
        batch = Batch()
        while True:
            try:
                for row in reader:
                    line, size = lines.next_record()
                    if not row:
                        continue
                    problem = _row_problem(row, header, size, has_nul)
                    if problem:
                        batch.rejects.append((line, problem, row))
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
                batch.rejects.append((line, f"the row is not valid CSV: {exc}", []))
        batch.end_line, batch.end_byte, batch.last = lines.line, lines.byte, True
        yield batch
