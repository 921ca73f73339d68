"""The production address policy, address by address (the live refusal is in test_resilience)."""

from __future__ import annotations

import ipaddress

import pytest

from fulfil.webhooks.outbound import blocked_reason

ALLOWED = [ipaddress.ip_network("10.20.0.0/16")]


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.5", "private"),
        ("192.168.1.10", "private"),
        ("172.16.3.4", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "not a public address"),  # carrier-grade NAT
        # IPv6 addresses that carry a private IPv4 one, which a gateway on the way may unwrap.
        ("::ffff:10.0.0.1", "private"),  # IPv4-mapped
        ("2002:a00:1::1", "embeds 10.0.0.1 is a private"),  # 6to4
        ("2002:7f00:1::", "embeds 127.0.0.1 is a loopback"),
        ("2002:a9fe:a9fe::1", "embeds 169.254.169.254 is a link-local"),
        ("64:ff9b::c0a8:10a", "embeds 192.168.1.10 is a private"),  # NAT64
        ("64:ff9b:1::a00:1", "embeds 10.0.0.1"),  # local-use NAT64
        ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "embeds 10.0.0.1 is a private"),  # Teredo (client bits inverted)
    ],
)
def test_internal_addresses_are_refused_naming_why(address: str, kind: str) -> None:
    reason = blocked_reason(ipaddress.ip_address(address), ALLOWED)
    assert reason is not None and kind in reason


@pytest.mark.parametrize(
    "address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "10.20.1.1", "2002:5db8:d822::1"]
)
def test_public_and_allowed_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address), ALLOWED) is None
