"""An import's options: its mode, its column mapping (given, or a saved profile's) and whether it is a preview.

They come as query parameters or as form fields beside the file; each is checked here, and a bad
one is a 400 naming it, before any row is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import get_args

from fulfil.errors import ApiError
from fulfil.imports.queries import MODES
from fulfil.imports.schemas import Mode, clean_mapping
from fulfil.json_body import parse_object

assert set(get_args(Mode)) == set(MODES)  # the schema's modes are the ones the SQL is built for

MAPPING_MAX_CHARS = 4096
_TRUE, _FALSE = {"true", "1", "yes", "on"}, {"false", "0", "no", "off", ""}


def bad_option(name: str, message: str) -> ApiError:
    return ApiError(
        400, f"{name}: {message}", details=[{"location": "query or form", "field": name, "message": message}]
    )


def parse_mapping(text: str) -> dict[str, str]:
    """The `mapping` option's JSON text as a mapping; a 400 naming `mapping` when it is not one."""
    if len(text) > MAPPING_MAX_CHARS:
        raise bad_option("mapping", f"is longer than {MAPPING_MAX_CHARS:,} characters")
    try:
        data = parse_object(text.encode())
    except ApiError as exc:
        raise bad_option("mapping", exc.message.replace("The request body", "the JSON")) from None
    try:
        return clean_mapping(data)
    except ValueError as exc:
        raise bad_option("mapping", str(exc)) from None


def parse_flag(name: str, text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise bad_option(name, f"must be true or false, not {text.strip()[:40]!r}")


@dataclass(frozen=True)
class ImportOptions:
    mode: str = "upsert"
    mapping: dict[str, str] | None = None
    profile: str | None = None
    dry_run: bool = False


def parse_options(*sources: Mapping[str, str | None]) -> ImportOptions:
    """The options from the query and the form: each given at most once, each checked."""
    given: dict[str, str] = {}
    for source in sources:
        for name, value in source.items():
            if value is None or not value.strip():  # an empty option is one not given
                continue
            if name in given:
                raise bad_option(name, "is given both as a query parameter and as a form field; give it once")
            given[name] = value
    mode = given.get("mode", "upsert").strip() or "upsert"
    if mode not in MODES:
        raise bad_option("mode", f"{mode[:40]!r} is not a mode; use one of {', '.join(MODES)}")
    mapping = parse_mapping(given["mapping"]) if "mapping" in given else None
    profile = given.get("profile", "").strip() or None
    if mapping and profile:
        raise bad_option("profile", "give either a mapping or a profile, not both")
    return ImportOptions(mode, mapping, profile, parse_flag("dry_run", given.get("dry_run", "")))
