"""A Shopify product export imports as it is, with no mapping: one product per variant row.

The files in tests/imports/files are written in Shopify's format: several handles, variants on
later rows with only their own columns, image-only rows, HTML bodies, draft and archived products,
and an older export without a Status column.
"""

from __future__ import annotations

import threading
from pathlib import Path

import asyncpg
import httpx
import pytest

from fulfil.imports.reader import check_file, read_batches, read_header
from fulfil.imports.shopify import NO_SKU, html_to_text
from tests.support.imports import import_file

FILES = Path(__file__).parent / "files"


async def products(db: asyncpg.Connection) -> dict[str, tuple[str, str | None, bool]]:
    rows = await db.fetch("SELECT sku, name, description, active FROM product")
    return {row["sku"]: (row["name"], row["description"], row["active"]) for row in rows}


async def test_a_shopify_export_imports_one_product_per_variant_row(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    snapshot = await import_file(client, (FILES / "shopify_products.csv").read_bytes(), "products_export.csv")
    assert (snapshot["status"], snapshot["file_format"]) == ("completed", "shopify")
    assert (snapshot["created"], snapshot["rejected"], snapshot["skipped"]) == (8, 0, 4)
    assert snapshot["skip_reasons"] == {NO_SKU: 4}
    assert {c["column"]: c["field"] for c in snapshot["columns"] if c["field"]} == {
        "Title": "name",
        "Body (HTML)": "description",
        "Published": "active",
        "Option1 Value": "name",
        "Option2 Value": "name",
        "Option3 Value": "name",
        "Variant SKU": "sku",
        "Status": "active",
    }
    tee = "A soft tee & more. Cotton Organic"
    assert await products(db) == {
        "TS-G-S": ("Example T-Shirt - Green / S", tee, True),
        "TS-G-M": ("Example T-Shirt - Green / M", tee, True),
        "TS-B-S": ("Example T-Shirt - Blue / S", tee, True),
        "MUG-1": ("Plain Mug", "Just a mug — nothing else", False),  # draft
        "HAT-1": ("Archived Hat - One size", "Warm Line one Line two", False),  # archived
        "GIFT-50": ("Gift Card - 50", None, True),
        "SOFA-GLO": ("Sofa - Grey / Linen / Oak", "Seats <3> people", True),
        "SOFA-GVW": ("Sofa - Grey / Velvet / Walnut", "Seats <3> people", True),
    }


async def test_without_a_status_column_published_says_whether_a_product_is_active(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    snapshot = await import_file(client, (FILES / "shopify_published.csv").read_bytes())
    assert (snapshot["status"], snapshot["file_format"], snapshot["created"]) == ("completed", "shopify", 4)
    stored = await products(db)
    assert stored["TOWEL-S"] == ("Linen Towel - Small", "Soft", True)
    assert stored["TOWEL-L"] == ("Linen Towel - Large", "Soft", True)
    assert stored["LAMP-1"] == ("Old Lamp", None, False)
    assert stored["FLAG-1"][0] == "No Flag"  # neither Status nor Published: the usual rule for `active`


async def test_a_shopify_preview_counts_what_its_import_does(client: httpx.AsyncClient) -> None:
    content = (FILES / "shopify_products.csv").read_bytes()
    shown = await import_file(client, content, params={"dry_run": "true"})
    done = await import_file(client, content)
    assert (shown["would_create"], shown["skipped"]) == (done["created"], done["skipped"]) == (8, 4)


def read_all(path: Path, batch_rows: int, *, resume_after: int | None = None) -> list[tuple[object, ...]]:
    """Records and skips, as the job reads them; `resume_after`: from that batch's checkpoint on."""
    has_nul = check_file(path)
    header = read_header(path)
    stop = threading.Event()
    start_byte, start_line = header.end_byte, header.end_line
    if resume_after is not None:
        batches = list(
            read_batches(
                path,
                header,
                start_byte=start_byte,
                start_line=start_line,
                batch_rows=batch_rows,
                has_nul=has_nul,
                stop=stop,
            )
        )
        start_byte, start_line = batches[resume_after].end_byte, batches[resume_after].end_line
    out: list[tuple[object, ...]] = []
    for batch in read_batches(
        path, header, start_byte=start_byte, start_line=start_line, batch_rows=batch_rows, has_nul=has_nul, stop=stop
    ):
        out += batch.records
        out += batch.skips
    return out


def test_a_resumed_read_carries_the_handle_from_rows_before_its_checkpoint() -> None:
    path = FILES / "shopify_products.csv"
    whole = read_all(path, 2)
    resumed = read_all(path, 2, resume_after=0)  # the checkpoint falls inside the t-shirt's rows
    assert resumed == whole[2:]
    assert resumed[0][2] == "Example T-Shirt - Blue / S"


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>One</p><p>Two</p>", "One Two"),
        ("Fish &amp; chips &lt;b&gt; &#8364;5 &eacute;", "Fish & chips <b> €5 é"),
        ("<script>var a = '<p>';</script>Shown<style>.x{}</style>", "Shown"),
        ("  plain\n\ttext  ", "plain text"),
        ("<ul><li>a</li><li>b</li></ul>end", "a b end"),
        ("<p>broken <b>markup", "broken markup"),
        ("a<br>b<br/>c", "a b c"),
    ],
)
def test_body_html_becomes_plain_text(html: str, text: str) -> None:
    assert html_to_text(html) == text
