"""OWASP's rule against CSV injection: what gets the quote in front, and what does not."""

from __future__ import annotations

import pytest

from fulfil.spreadsheet import inert


@pytest.mark.parametrize("cell", ["=1+2", "+1", "-1", "@SUM(A1)", "\tx", "\rx", "=cmd|'/C calc'!A0"])
def test_a_cell_that_would_run_gets_a_quote(cell: str) -> None:
    assert inert(cell) == "'" + cell


@pytest.mark.parametrize("cell", ["", "plain", " =1", "a=b", "'=1", "1-2", "日本語"])
def test_any_other_cell_is_left_as_it_is(cell: str) -> None:
    assert inert(cell) == cell


def test_an_inert_cell_stays_as_it_is() -> None:
    assert inert(inert("=1")) == "'=1"
