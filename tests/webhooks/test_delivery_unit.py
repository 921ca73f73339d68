"""When a delivery is retried, and after how long, shown on plain values: no server, no database.

`decide` turns one attempt's `Outcome` into the delivery's next state: delivered, pending (a retry
after `retry_in` seconds) or failed. `retry_delay` is the backoff; `retry_after_seconds` reads a
receiver's `Retry-After` header.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import pytest

from fulfil.settings import Settings, load_settings
from fulfil.webhooks import delivery
from fulfil.webhooks.delivery import JITTER, Outcome, decide, retry_after_seconds, retry_delay

BASE, CAP = 2.0, 60.0


@pytest.fixture
def settings() -> Settings:
    """Only the retry bounds matter here (this replaces the suite's database-backed settings)."""
    return load_settings(webhook_retry_base_seconds=BASE, webhook_retry_max_seconds=CAP, _env_file=None)


def outcome(status_code: int | None, *, retry_after: float | None = None, blocked: bool = False) -> Outcome:
    error = None if status_code is not None and 200 <= status_code < 300 else "failed"
    return Outcome(datetime.now(UTC), status_code, 12.5, "", error, retry_after, blocked)


def delivery_row(round_attempts: int = 0, retry_count: int = 3) -> dict[str, Any]:
    """The claimed delivery's columns `decide` reads: failed attempts so far in this round, and the budget."""
    return {"round_attempts": round_attempts, "retry_count": retry_count}


# --- retry_after_seconds ------------------------------------------------------------------------


@pytest.mark.parametrize(("header", "seconds"), [("120", 120.0), (" 7 ", 7.0), ("0", 0.0)])
def test_retry_after_in_seconds(header: str, seconds: float) -> None:
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_an_http_date_counts_from_now() -> None:
    header = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    assert 85 <= (retry_after_seconds(header) or 0) <= 90


def test_retry_after_a_date_already_past_is_now() -> None:
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "1.5"])
def test_retry_after_absent_or_unreadable_is_ignored(header: str | None) -> None:
    assert retry_after_seconds(header) is None


# --- retry_delay --------------------------------------------------------------------------------


@pytest.mark.parametrize("retry", [1, 2, 3, 4])
def test_backoff_doubles_each_retry_within_the_jitter(retry: int) -> None:
    nominal = BASE * 2 ** (retry - 1)
    delays = [retry_delay(retry, BASE, CAP) for _ in range(200)]
    assert all(nominal * (1 - JITTER) <= d <= nominal * (1 + JITTER) for d in delays)
    assert len(set(delays)) > 1, "jittered, so retries of many deliveries do not arrive together"


def test_the_jitter_spans_twenty_percent_either_way(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(delivery.random, "uniform", lambda low, high: low)
    assert retry_delay(3, BASE, CAP) == pytest.approx(8 * 0.8)
    monkeypatch.setattr(delivery.random, "uniform", lambda low, high: high)
    assert retry_delay(3, BASE, CAP) == pytest.approx(8 * 1.2)


def test_backoff_never_exceeds_the_cap() -> None:
    assert retry_delay(20, BASE, CAP) == CAP


@pytest.mark.parametrize(("retry_after", "delay"), [(30.0, 30.0), (0.0, BASE), (10_000.0, CAP)])
def test_retry_after_is_honoured_within_base_and_cap(retry_after: float, delay: float) -> None:
    assert retry_delay(1, BASE, CAP, retry_after) == delay


# --- decide -------------------------------------------------------------------------------------


@pytest.mark.parametrize("status_code", [200, 201, 204, 299])
def test_any_2xx_is_delivered(settings: Settings, status_code: int) -> None:
    result = decide(delivery_row(), outcome(status_code), settings)
    assert (result.status, result.retry_in) == ("delivered", None)


@pytest.mark.parametrize("status_code", [301, 400, 429, 500, 503, None], ids=lambda code: f"{code or 'no reply'}")
def test_anything_else_is_retried_while_retries_are_left(settings: Settings, status_code: int | None) -> None:
    result = decide(delivery_row(round_attempts=1, retry_count=3), outcome(status_code), settings)
    assert result.status == "pending"
    assert result.retry_in is not None
    assert BASE * 2 * (1 - JITTER) <= result.retry_in <= BASE * 2 * (1 + JITTER), "the second retry's backoff"


def test_the_failure_after_the_last_retry_fails_the_delivery(settings: Settings) -> None:
    assert decide(delivery_row(round_attempts=2, retry_count=3), outcome(500), settings).status == "pending"
    assert decide(delivery_row(round_attempts=3, retry_count=3), outcome(500), settings).status == "failed"


def test_no_retries_means_the_first_failure_is_final(settings: Settings) -> None:
    assert decide(delivery_row(retry_count=0), outcome(503), settings).status == "failed"


def test_410_gone_fails_at_once_and_marks_the_webhook_for_disabling(settings: Settings) -> None:
    result = decide(delivery_row(retry_count=5), outcome(410), settings)
    assert (result.status, result.retry_in) == ("failed", None)
    assert result.outcome.gone
    assert not outcome(404).gone


def test_an_address_the_outbound_policy_refuses_is_not_retried(settings: Settings) -> None:
    result = decide(delivery_row(retry_count=5), outcome(None, blocked=True), settings)
    assert result.status == "failed"


def test_the_receivers_retry_after_sets_the_wait(settings: Settings) -> None:
    result = decide(delivery_row(), outcome(503, retry_after=45), settings)
    assert (result.status, result.retry_in) == ("pending", 45)
