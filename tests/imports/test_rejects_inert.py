"""The rejects report is opened in spreadsheets: a cell that would run as a formula comes inert."""

from __future__ import annotations

import csv
import io

import httpx

from tests.support.imports import import_file

HOSTILE = ["=cmd|'/C calc'!A0", "@SUM(A1)", "+1+1", "-2+3", "\tTAB", "\r=CR"]
HEADER = ["sku", "name", "description", '=HYPERLINK("http://x")']


def csv_file(rows: list[list[str]]) -> bytes:
    text = io.StringIO(newline="")
    csv.writer(text).writerows(rows)
    return text.getvalue().encode()


async def test_formula_cells_get_a_quote_in_front_and_other_cells_stay_exact(client: httpx.AsyncClient) -> None:
    rejected = [[f"BAD-{i}", "", cell, "note"] for i, cell in enumerate(HOSTILE)]
    snapshot = await import_file(client, csv_file([HEADER, *rejected, ["OK-1", "Fine", "'quoted", "+ok"]]))
    assert (snapshot["created"], snapshot["rejected"]) == (1, len(HOSTILE))

    response = await client.get(f"/api/upload/{snapshot['job_id']}/rejects")
    report = list(csv.reader(io.StringIO(response.text, newline="")))
    assert report[0] == ["line", "reason", "sku", "name", "description", "'" + HEADER[3]]
    assert [row[4] for row in report[1:]] == ["'" + cell for cell in HOSTILE]
    assert {row[1] for row in report[1:]} == {"name is required and cannot be blank"}
    assert [row[2:4] + row[5:] for row in report[1:]] == [[f"BAD-{i}", "", "note"] for i in range(len(HOSTILE))]
