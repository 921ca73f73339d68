"""The OpenAPI document's `pattern` for each text field says exactly what its rule accepts (no servers)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fulfil.products.fields import clean_description, clean_name, clean_search, clean_sku
from fulfil.validation import text_pattern

# Short limits, so that values over the limit are drawn often; mostly characters the rules care about.
EDGES = st.sampled_from([" ", "\t", "\n", "\r", "\x00", "\x1c", "\x7f", "\x85", "\x9f", "\xa0", "a", "é", "😀"])
TEXT = st.text(alphabet=EDGES | st.characters(), max_size=12)


def accepts(rule: Callable[[str], object], value: str) -> bool:
    try:
        rule(value)
    except ValueError:
        return False
    return True


@pytest.mark.parametrize(
    ("rule", "pattern"),
    [
        (clean_sku, text_pattern(100, required=True, one_line=True)),
        (clean_name, text_pattern(255, required=True)),
        (clean_description, text_pattern(10_000, required=False)),
        (lambda value: clean_search(value, "q"), text_pattern(200, required=False)),
    ],
)
@given(value=TEXT)
def test_pattern_and_rule_agree(rule: Callable[[str], object], pattern: str, value: str) -> None:
    assert accepts(rule, value) == bool(re.fullmatch(pattern, value))


@pytest.mark.parametrize("limit", [1, 2, 5])
@given(value=TEXT)
def test_the_length_limit_applies_after_trimming(limit: int, value: str) -> None:
    trimmed = value.strip()
    expected = 1 <= len(trimmed) <= limit and not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", trimmed)
    assert bool(re.fullmatch(text_pattern(limit, required=True), value)) == expected
