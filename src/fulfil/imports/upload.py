"""Receiving an upload: the request body streamed into the upload store as it arrives, never whole in memory.

Either multipart/form-data (its `file` field: the dashboard, `curl -F`; the import's options
`mode`, `mapping`, `profile` and `dry_run` may come as fields beside it) or the CSV itself as the
body (`curl --data-binary`). The bytes are counted here against MAX_UPLOAD_MB, since
python-multipart's own limit truncates silently and uvicorn has none; a body that is plainly not
text (a PNG, a zip) is refused from its first bytes.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

import anyio
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import Request

from fulfil.errors import ApiError
from fulfil.imports.reader import binary_kind, not_text_message
from fulfil.imports.store import CHUNK_BYTES, UploadStore

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

SNIFF_BYTES = 8192
OPTION_FIELDS = frozenset({"mode", "mapping", "profile", "dry_run"})  # form fields read beside the file
OPTION_MAX_BYTES = 16 * 1024
MULTIPART_OVERHEAD = 64 * 1024  # the form's boundaries and part headers around the file
RAW_TYPES = {
    "",
    "text/csv",
    "text/plain",
    "text/tab-separated-values",
    "application/csv",
    "application/vnd.ms-excel",
    "application/octet-stream",
}


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"The file is larger than the upload limit of {limit // (1024 * 1024)} MB (MAX_UPLOAD_MB); "
        "split it into smaller files.",
    )


class _StoreSink:
    """The upload's bytes into the upload store as they arrive, counted against the limit.

    The parser's callbacks are synchronous, so they only count, sniff and collect a chunk's bytes
    (`add`); `flush` then hands about a megabyte at a time to the store, whose writes never hold
    up the event loop (a thread for a local file, the database's own I/O otherwise). One write
    runs while the next megabyte arrives, so receiving and storing overlap; at most two store
    chunks are in memory.
    """

    def __init__(self, store: UploadStore, key: str, limit: int) -> None:
        self.store = store
        self.key = key
        self.limit = limit
        self.size = 0
        self.head = b""
        self.pending: list[bytes] = []
        self.pending_bytes = 0
        self.writing: asyncio.Task[None] | None = None

    def add(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            raise _too_large(self.limit)
        if len(self.head) < SNIFF_BYTES:
            self.head += data[: SNIFF_BYTES - len(self.head)]
            if len(self.head) >= SNIFF_BYTES:
                self.check_text()
        self.pending.append(data)
        self.pending_bytes += len(data)

    async def flush(self, *, final: bool = False) -> None:
        """Append what `add` collected once it makes a store chunk (or, at the end, whatever is left)."""
        if self.pending and (final or self.pending_bytes >= CHUNK_BYTES):
            data = b"".join(self.pending)
            self.pending.clear()
            self.pending_bytes = 0
            await self._written()
            self.writing = asyncio.create_task(self.store.append(self.key, data))
        if final:
            await self._written()

    async def _written(self) -> None:
        """Wait for the write under way (its error, if any, is raised here)."""
        if self.writing is not None:
            writing, self.writing = self.writing, None
            await writing

    def check_text(self) -> None:
        kind = binary_kind(self.head)
        if kind:
            raise ApiError(415, not_text_message(kind))

    async def close(self) -> None:
        await self.flush(final=True)

    async def discard(self) -> None:
        """Remove what an upload that failed (even one cancelled) had stored."""
        with anyio.CancelScope(shield=True):
            with contextlib.suppress(Exception):
                await self._written()
            await self.store.remove(self.key)


def _option_error(name: str, problem: str) -> ApiError:
    return ApiError(
        400, f"The form field {name} {problem}.", details=[{"location": "body", "field": name, "message": problem}]
    )


class _FormFile:
    """python-multipart callbacks that send the `file` part to the sink and skip everything else."""

    def __init__(self, sink: _StoreSink) -> None:
        self.sink = sink
        self.header_field = b""
        self.header_value = b""
        self.disposition = b""
        self.in_file = False
        self.found = False
        self.filename: str | None = None
        self.option: str | None = None  # the option field being read
        self.options: dict[str, bytearray] = {}

    def callbacks(self) -> MultipartCallbacks:
        return {
            "on_part_begin": self.on_part_begin,
            "on_header_field": self.on_header_field,
            "on_header_value": self.on_header_value,
            "on_header_end": self.on_header_end,
            "on_headers_finished": self.on_headers_finished,
            "on_part_data": self.on_part_data,
            "on_part_end": self.on_part_end,
        }

    def on_part_begin(self) -> None:
        self.disposition = b""
        self.option = None

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self.header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self.header_value += data[start:end]

    def on_header_end(self) -> None:
        if self.header_field.lower() == b"content-disposition":
            self.disposition = self.header_value
        self.header_field = self.header_value = b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self.disposition)
        name = options.get(b"name", b"").decode(errors="replace")
        if name == "file" and not self.found:
            self.in_file = True
            self.filename = options.get(b"filename", b"").decode(errors="replace") or None
        elif name in OPTION_FIELDS:
            if name in self.options:
                raise _option_error(name, "is sent twice; send it once")
            self.option, self.options[name] = name, bytearray()

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.in_file:
            self.sink.add(data[start:end])
        elif self.option is not None:
            value = self.options[self.option]
            value += data[start:end]
            if len(value) > OPTION_MAX_BYTES:
                raise _option_error(self.option, f"is longer than {OPTION_MAX_BYTES // 1024} KB")

    def on_part_end(self) -> None:
        if self.in_file:
            self.in_file, self.found = False, True


async def _receive_multipart(request: Request, boundary: bytes | None, sink: _StoreSink) -> _FormFile:
    if not boundary:
        raise ApiError(400, "The multipart/form-data request has no boundary in its Content-Type header.")
    form = _FormFile(sink)
    parser = MultipartParser(boundary, form.callbacks())
    received = 0
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if received > sink.limit + MULTIPART_OVERHEAD:
                raise _too_large(sink.limit)
            parser.write(chunk)
            await sink.flush()
        parser.finalize()
    except MultipartParseError as exc:
        raise ApiError(400, f"The multipart/form-data body is malformed: {exc}.") from None
    if not form.found:
        raise ApiError(
            400,
            "The form has no `file` field: send the CSV as the `file` field (curl -F file=@products.csv).",
            details=[{"location": "body", "field": "file", "message": "required"}],
        )
    return form


async def _receive_raw(request: Request, sink: _StoreSink) -> str | None:
    async for chunk in request.stream():
        sink.add(chunk)
        await sink.flush()
    _, options = parse_options_header(request.headers.get("content-disposition", ""))
    return options.get(b"filename", b"").decode(errors="replace") or None


@dataclass(frozen=True)
class Received:
    filename: str | None  # as the client gave it, if it did
    size: int
    options: dict[str, str]  # the option fields of a form, as text


async def receive_upload(request: Request, store: UploadStore, key: str, limit: int) -> Received:
    """Write the uploaded file to `store` under `key`; returns the file name the client gave, the size and options.

    415 for a type that is not CSV, 413 past `limit` bytes, 400 for an empty or malformed body;
    on any error (a client gone mid-upload included) what was stored is removed. A process killed
    mid-upload leaves a file no job refers to, which the hourly prune removes.
    """
    raw_type, options = parse_options_header(request.headers.get("content-type", ""))
    content_type = raw_type.decode().lower()
    multipart = content_type == "multipart/form-data"
    if not multipart and content_type not in RAW_TYPES:
        raise ApiError(
            415,
            f"Content-Type {content_type!r} is not accepted: send multipart/form-data with a `file` field "
            "or the CSV itself as text/csv.",
        )
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + (MULTIPART_OVERHEAD if multipart else 0):
        raise _too_large(limit)

    sink = _StoreSink(store, key, limit)
    fields: dict[str, str] = {}
    try:
        if multipart:
            form = await _receive_multipart(request, options.get(b"boundary"), sink)
            filename = form.filename
            for name, value in form.options.items():
                try:
                    fields[name] = value.decode()
                except UnicodeDecodeError:
                    raise _option_error(name, "is not UTF-8 text") from None
        else:
            filename = await _receive_raw(request, sink)
        await sink.close()
        if sink.size == 0:
            raise ApiError(400, "The upload is empty: send a CSV file with a header line and one product a line.")
        sink.check_text()
    except BaseException:
        await sink.discard()
        raise
    return Received(filename, sink.size, fields)
