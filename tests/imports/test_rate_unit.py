"""The rate and ETA a run reports: none after its first batch (parsed before any write waited for it)."""

from __future__ import annotations

from pathlib import Path

from fulfil.imports.jobs import Reading
from fulfil.imports.reader import Header

HEADER = Header(columns=["sku", "name"], delimiter=",", cr_only=False, sku=0, name=1, description=None,
                active=None, end_byte=9, end_line=1)  # fmt: skip


def test_the_rate_and_eta_wait_for_two_batches_and_then_count_from_where_the_run_started() -> None:
    reading = Reading(Path("unused.csv"), HEADER, has_nul=False, start_byte=1_000, start_line=10, size=11_000)
    first = reading.progress(rows=10_000, end_byte=2_000, elapsed=0.04, measured=False)
    assert (first.rows_per_second, first.eta_seconds) == (None, None)
    second = reading.progress(rows=20_000, end_byte=3_000, elapsed=2.0, measured=True)
    assert (second.rows_per_second, second.eta_seconds) == (10_000.0, 8.0)  # 2,000 bytes in 2 s, 8,000 to go
