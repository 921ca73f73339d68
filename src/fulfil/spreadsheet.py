"""Cells a spreadsheet would run as formulas, made inert: OWASP's rule against CSV injection.

A cell that begins with `=`, `+`, `-`, `@`, a tab or a carriage return is read by Excel,
LibreOffice and Google Sheets as a formula (`=cmd|'/C calc'!A0`, `@SUM(A1)`), so a CSV we hand out
for a spreadsheet gets a single quote in front of such a cell: the spreadsheet then shows the
text as it is and runs nothing. The quote is part of the cell, so the rule is only for files meant
for people; a file meant to be read back by a program is left exact.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(cell: str) -> str:
    """`cell` with a single quote in front when a spreadsheet would take it for a formula."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def inert_sql(expression: str) -> str:
    """The same rule in SQL, for a text `expression` (NULL stays NULL)."""
    starts = ", ".join(["'='", "'+'", "'-'", "'@'", "chr(9)", "chr(13)"])
    return f"CASE WHEN left({expression}, 1) IN ({starts}) THEN '''' || {expression} ELSE {expression} END"


def inert_csv(rows: Sequence[Sequence[object]]) -> bytes:
    """The rows as CSV for a spreadsheet, each text cell inert (a cell already inert stays as it is)."""
    text = io.StringIO(newline="")
    csv.writer(text).writerows([inert(cell) if isinstance(cell, str) else cell for cell in row] for row in rows)
    return text.getvalue().encode()
