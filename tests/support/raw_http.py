"""Raw HTTP/1.1 clients on a socket, for tests that misbehave on purpose (slow heads, trickled bodies)."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass


@dataclass
class RawConnection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def read_until_closed(self, within: float) -> bytes:
        """Everything the server sends until it closes the connection; fails after `within` seconds."""
        async with asyncio.timeout(within):
            return await self.reader.read()

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(OSError):  # the server closed it first
            await self.writer.wait_closed()


async def connect(url: str) -> RawConnection:
    """A TCP connection to the `http://host:port` of `url`."""
    host, port = url.removeprefix("http://").split("/")[0].split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    return RawConnection(reader, writer)


def status_of(reply: bytes) -> int:
    """The status code of the first response in `reply` (0 when there is none)."""
    first = reply.split(b"\r\n", 1)[0].split()
    return int(first[1]) if len(first) > 1 and first[1].isdigit() else 0


def upload_head(size: int, token: str, host: str = "127.0.0.1") -> bytes:
    """The head of a raw `text/csv` upload of `size` bytes, sent with the API token `token`."""
    return (
        f"POST /api/upload HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: text/csv\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
