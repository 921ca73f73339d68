"""Field rules every domain's input shares, with nothing of the service behind them.

Imports no other module of the service, so a schema (or the CSV reader) that uses these rules
loads without the database, Redis or the web app. `jsonb` is here for the same reason: the
schemas and the services both read jsonb columns.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationInfo

# C0 controls except tab, newline and carriage return, plus DEL and the C1 controls.
CONTROL_CHARACTERS = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
_CONTROL = re.compile(f"[{CONTROL_CHARACTERS}]")


class StrictModel(BaseModel):
    """A request body: a field the model does not have is an error, so a typo is never ignored."""

    model_config = ConfigDict(extra="forbid")


def no_control(value: str, field: str) -> None:
    """Refuse control characters (tab and line breaks aside): PostgreSQL cannot store a NUL byte."""
    match = _CONTROL.search(value)
    if match:
        code = f"U+{ord(match.group()):04X}"
        raise ValueError(f"{field} contains a control character ({code}) at position {match.start() + 1}")


def text_pattern(limit: int, *, required: bool, one_line: bool = False) -> str:
    """A text field's rule as a JSON Schema `pattern`, for the OpenAPI document: after trimming,
    at most `limit` characters (at least one if `required`) and no control characters (nor tabs or
    line breaks when `one_line`).

    Any whitespace around 1..`limit` characters (0 too unless `required`) that start and end with
    neither whitespace nor a control character. `\\s` means what `str.strip` strips.
    """
    refused = CONTROL_CHARACTERS + (r"\t\n\r" if one_line else "")
    edge, inner = rf"[^\s{refused}]", rf"[^{refused}]"
    text = edge if limit == 1 else rf"{edge}(?:{inner}{{0,{limit - 2}}}{edge})?"
    return rf"^\s*{text}\s*$" if required else rf"^\s*(?:{text})?\s*$"


def not_null(value: Any, info: ValidationInfo) -> Any:
    """A `PUT` body's field may be left out (it keeps its value) but never sent as null.

    Use as `field_validator(*names, mode="before")(not_null)`.
    """
    if value is None:
        raise ValueError(f"{info.field_name} cannot be null; leave it out to keep the current value")
    return value


def jsonb(value: Any) -> Any:
    """A jsonb column's value: parsed when it arrives as text (`databases` and a plain asyncpg
    connection have no codec for jsonb, so both hand over the JSON text)."""
    return json.loads(value) if isinstance(value, str) else value
