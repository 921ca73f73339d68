"""The one outbound HTTP session per process, the address policy it enforces, per-webhook concurrency.

In production a webhook may not reach loopback, private, link-local or reserved addresses
(WEBHOOK_ALLOWED_NETWORKS lists exceptions). The check runs in the connector's socket factory,
on the address actually being connected to after DNS resolution (IP literals included), so a
name that resolves, or later re-resolves, to an internal address cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Callable

import aiohttp
from aiohappyeyeballs import AddrInfoType

from fulfil.resources import Resources
from fulfil.settings import Network, Settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


PER_WEBHOOK_CONCURRENCY = 50


class BlockedAddress(OSError):
    """The receiver's address is not allowed by the outbound policy."""


NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries and leads to: IPv4-mapped (::ffff:0:0/96), 6to4
    (2002::/16), Teredo (2001::/32, its client address) or NAT64 (64:ff9b::/96, 64:ff9b:1::/48)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if any(address in network for network in NAT64):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def blocked_reason(address: Address, allowed: list[Network]) -> str | None:
    """Why `address` may not be reached in production, or None when it may (public, or allowed).

    An IPv6 address that embeds an IPv4 one is judged as that IPv4 address too: a gateway on the
    way may unwrap it to, say, 10.0.0.1.
    """
    if isinstance(address, ipaddress.IPv6Address):
        inner = embedded_ipv4(address)
        if inner is not None and address.ipv4_mapped is not None:
            address = inner
        elif inner is not None:
            reason = blocked_reason(inner, allowed)
            if reason:
                return f"{address} embeds {reason}"
    if any(address in network for network in allowed):
        return None
    for kind in ("unspecified", "loopback", "link_local", "reserved", "multicast", "private"):
        if getattr(address, f"is_{kind}"):
            return f"{address} is a {kind.replace('_', '-')} address"
    if not address.is_global:
        return f"{address} is not a public address"
    return None


def guarded_socket_factory(allowed: list[Network]) -> Callable[[AddrInfoType], socket.socket]:
    """A socket factory that refuses to open a socket towards a blocked address."""

    def factory(addr_info: AddrInfoType) -> socket.socket:
        family, type_, proto, _, sockaddr = addr_info
        reason = blocked_reason(ipaddress.ip_address(sockaddr[0]), allowed)
        if reason:
            raise BlockedAddress(f"blocked by the outbound policy: {reason} (see WEBHOOK_ALLOWED_NETWORKS)")
        return socket.socket(family, type_, proto)

    return factory


def create_session(settings: Settings) -> aiohttp.ClientSession:
    """A session that never follows proxies from the environment and, in production, guards addresses."""
    factory = guarded_socket_factory(settings.allowed_networks) if settings.production else None
    # No pool limits: `webhook_slot` bounds the requests in flight, so waiting for a pooled
    # connection never eats into a webhook's timeout.
    connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, socket_factory=factory)
    return aiohttp.ClientSession(connector=connector, trust_env=False, auto_decompress=True)


def session(resources: Resources) -> aiohttp.ClientSession:
    """The process's shared session, opened on first use (it must be made inside the running loop)."""
    if resources.http is None or resources.http.closed:
        resources.http = create_session(resources.settings)
    return resources.http


def webhook_slot(resources: Resources, webhook_id: int) -> asyncio.Semaphore:
    """At most PER_WEBHOOK_CONCURRENCY requests in flight to one webhook from this process."""
    slots = resources.webhook_slots
    if webhook_id not in slots:
        slots[webhook_id] = asyncio.Semaphore(PER_WEBHOOK_CONCURRENCY)
    return slots[webhook_id]


def blocked_error(exc: BaseException) -> str | None:
    """The policy's message if `exc` (or what it wraps) is a refusal by the address policy."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BlockedAddress) or "blocked by the outbound policy" in str(seen):
            text = str(seen)
            return text[text.index("blocked by the outbound policy") :]
        seen = getattr(seen, "os_error", None) or seen.__cause__
    return None
