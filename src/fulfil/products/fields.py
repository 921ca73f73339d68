"""The rules for a product's fields, in one place: the JSON API and the CSV import both use them.

Plain functions, so the CSV reader can call them per row without building a model, and pydantic
validators wrap the same functions for the API.
"""

from __future__ import annotations

from fulfil.validation import no_control

# A product's own fields: what an import writes, a history entry records and an undo restores.
FIELDS = ("sku", "name", "description", "active")

SKU_MAX = 100
NAME_MAX = 255
DESCRIPTION_MAX = 10_000
SEARCH_MAX = 200

_TRUE = {"true", "t", "yes", "y", "1", "on", "active"}
_FALSE = {"false", "f", "no", "n", "0", "off", "inactive"}


def _limited(value: str, field: str, limit: int, *, one_line: bool = False) -> str:
    """`value` (already trimmed) if it has at most `limit` characters and no control characters.

    Tabs and line breaks are allowed unless `one_line`.
    """
    if len(value) > limit:
        raise ValueError(f"{field} is {len(value)} characters long; the limit is {limit}")
    if one_line and ("\n" in value or "\r" in value or "\t" in value):
        raise ValueError(f"{field} cannot contain tabs or line breaks")
    no_control(value, field)
    return value


def _required(value: str, field: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError(f"{field} is required and cannot be blank")
    return value


def clean_sku(value: str) -> str:
    """Trimmed; 1..SKU_MAX characters; no control characters and no line breaks."""
    return _limited(_required(value, "sku"), "sku", SKU_MAX, one_line=True)


def clean_name(value: str) -> str:
    """Trimmed; 1..NAME_MAX characters; no control characters."""
    return _limited(_required(value, "name"), "name", NAME_MAX)


def clean_description(value: str | None) -> str | None:
    """Optional; blank becomes null; at most DESCRIPTION_MAX characters; line breaks allowed."""
    value = (value or "").strip()
    return _limited(value, "description", DESCRIPTION_MAX) if value else None


def parse_active(value: str) -> bool:
    """A CSV `active` cell: true/false, yes/no, 1/0, on/off, active/inactive (any case)."""
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"active must be true or false (also yes/no, 1/0); got {value.strip()[:40]!r}")


def clean_search(value: str | None, field: str) -> str | None:
    """A contains-filter term: trimmed, blank means no filter; at most SEARCH_MAX characters.

    Control characters are refused here too, as a NUL byte in a query parameter would otherwise
    reach PostgreSQL, which cannot store or compare it.
    """
    value = (value or "").strip()
    return _limited(value, field, SEARCH_MAX) if value else None
