"""Shopify's product CSV, read as it is exported: one product of ours per variant row.

Shopify writes a product (a handle) over several rows: the first carries the product's columns
(Title, Body (HTML), Status, Published), the following ones only the variant's
(Variant SKU, option values) or an image (Image Src, nothing else). `ShopifyRows` follows the
handle from row to row, so each variant row becomes a full record, and an image row is skipped
with its reason instead of being rejected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser

from fulfil.products.fields import clean_description, clean_name, clean_sku, parse_active

# The header names that tell a Shopify export from any other file (compared without case or spaces).
SIGNATURE = ("handle", "title", "variantsku")
NO_SKU = "no Variant SKU (an image row, or a variant without a SKU)"
DEFAULT_TITLE = "Default Title"  # the option value of a product that has no options
# Tags after which text continues as a new word: "<p>a</p><p>b</p>" reads "a b", not "ab".
_BREAKS = frozenset(
    {"br", "p", "div", "li", "ul", "ol", "tr", "td", "th", "table", "h1", "h2", "h3", "h4", "h5", "h6", "hr"}
)
_HIDDEN = frozenset({"script", "style", "template"})


class _Text(HTMLParser):
    """The text of an HTML fragment: tags dropped, entities decoded, script and style left out."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BREAKS:
            self.parts.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(self.hidden - 1, 0)
        elif tag in _BREAKS:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def html_to_text(html: str) -> str:
    """`Body (HTML)` as plain text: tags removed, entities decoded, whitespace collapsed."""
    if "<" not in html and "&" not in html:
        return " ".join(html.split())
    parser = _Text()
    parser.feed(html)
    parser.close()
    return " ".join("".join(parser.parts).split())


@dataclass(frozen=True)
class ShopifyColumns:
    """Where Shopify's columns are in this file's header (None: the file lacks that column)."""

    handle: int
    title: int
    sku: int
    body: int | None
    status: int | None
    published: int | None
    option_values: tuple[int | None, ...]

    def mapped(self) -> dict[int, str]:
        """Which of our fields each recognised column feeds, by column position."""
        feeds = {self.sku: "sku", self.title: "name"}
        for index in self.option_values:
            if index is not None:
                feeds[index] = "name"
        if self.body is not None:
            feeds[self.body] = "description"
        for index in (self.status, self.published):
            if index is not None:
                feeds[index] = "active"
        return feeds


def shopify_columns(names: Sequence[str]) -> ShopifyColumns | None:
    """The Shopify layout of a header whose names are normalised (lower case, no spaces); else None."""
    if not all(name in names for name in SIGNATURE):
        return None

    def at(name: str) -> int | None:
        return names.index(name) if name in names else None

    return ShopifyColumns(
        handle=names.index("handle"),
        title=names.index("title"),
        sku=names.index("variantsku"),
        body=at("body(html)"),
        status=at("status"),
        published=at("published"),
        option_values=tuple(at(f"option{n}value") for n in (1, 2, 3)),
    )


def _active(status: str, published: str) -> bool | None:
    """`Status` active (draft and archived are not), else `Published`; None when neither says."""
    if status.strip():
        return status.strip().lower() == "active"
    if published.strip():
        return parse_active(published)
    return None


class ShopifyRows:
    """Turns rows in file order into records, carrying each handle's product columns to its later rows."""

    def __init__(self, columns: ShopifyColumns) -> None:
        self.columns = columns
        self.options = tuple(i for i in columns.option_values if i is not None)
        self.handle: str | None = None
        self.title = ""
        self.description: str | None = None
        self.active: bool | None = None
        self.problem: str | None = None  # the handle's first row was unusable: its variants say why

    def _start(self, row: list[str]) -> None:
        c = self.columns
        self.handle = row[c.handle].strip()
        self.title, self.description, self.active, self.problem = row[c.title].strip(), None, None, None
        try:
            if c.body is not None and row[c.body].strip():
                self.description = clean_description(html_to_text(row[c.body]))
            self.active = _active(
                "" if c.status is None else row[c.status], "" if c.published is None else row[c.published]
            )
        except ValueError as exc:
            self.problem = str(exc)

    def follow(self, row: list[str]) -> None:
        """Take in a row without making its record: a resumed import passing the rows it did before."""
        if row[self.columns.handle].strip() != self.handle:
            self._start(row)

    def record(self, line: int, row: list[str]) -> tuple[int, str, str, str | None, bool | None] | str:
        """The row's record, or why it is skipped (a row without a SKU).

        ValueError when a field is invalid, the product's own (on its first row) included: each of
        its variant rows is then rejected with that reason.
        """
        c = self.columns
        self.follow(row)
        if self.problem:
            raise ValueError(self.problem)
        sku = row[c.sku]
        if not sku.strip():
            return NO_SKU
        name = self.title
        values = [value for value in (row[i].strip() for i in self.options) if value]
        if any(value != DEFAULT_TITLE for value in values):
            name = f"{self.title} - {' / '.join(values)}"
        return line, clean_sku(sku), clean_name(name), self.description, self.active
