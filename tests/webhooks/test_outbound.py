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
    ],
)
def test_internal_addresses_are_refused_naming_why(address: str, kind: str) -> None:
    reason = blocked_reason(ipaddress.ip_address(address), ALLOWED)
    assert reason is not None and kind in reason


@pytest.mark.parametrize("address", ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "10.20.1.1"])
def test_public_and_allowed_addresses_pass(address: str) -> None:
    assert blocked_reason(ipaddress.ip_address(address), ALLOWED) is None
