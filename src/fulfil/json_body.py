"""Parse a JSON request body strictly: each way a body can be malformed is a 400 saying which.

Python's `json` module is lenient where an API should not be, and fails with errors other than
`JSONDecodeError` on some bodies a client can send:
- arrays or objects nested thousands deep make the parser raise RecursionError; ones nested just
  under the interpreter's limit would make later code (the encoder, validators) raise it instead.
  So nesting is capped at MAX_DEPTH, far above any body this API takes (two levels);
- an integer literal of more than 4,300 digits raises ValueError (CPython refuses to convert longer
  ones, as the conversion takes quadratic time);
- `NaN`, `Infinity` and `-Infinity` are accepted, though JSON has no such literals;
- a name repeated in one object silently keeps its last value, so two readers of the same body
  (a proxy, a log, this service) could see different requests;
- `"\\ud800"` (half of a surrogate pair) is valid JSON but no character, which PostgreSQL cannot store.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from typing import Any

from fulfil.errors import ApiError

MAX_DEPTH = 32


class MalformedBody(Exception):
    """Raised by the parser's hooks; the message completes "The request body ..."."""


def _no_constant(literal: str) -> Any:
    raise MalformedBody(f"holds {literal}, which is not JSON; send a number or null")


def _unique_names(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) < len(pairs):
        repeated = next(name for name, count in Counter(name for name, _ in pairs).items() if count > 1)
        raise MalformedBody(f"names {repeated!r} twice in one object; send each field once")
    return obj


def nests_deeper_than(value: Any, limit: int) -> bool:
    """Whether arrays and objects in `value` nest more than `limit` levels (`{}` is one level).

    Level by level rather than recursive, so it cannot itself overflow the stack.
    """
    level = [value]
    for _ in range(limit):
        level = [child for node in level if isinstance(node, dict | list) for child in _children(node)]
        if not level:
            return False
    return any(isinstance(node, dict | list) for node in level)


def _children(node: dict[str, Any] | list[Any]) -> Any:
    return node.values() if isinstance(node, dict) else node


def parse_object(raw: bytes) -> dict[str, Any]:
    """The JSON object in `raw`, or an ApiError(400) saying what is wrong with it."""
    if not raw.strip():
        raise ApiError(400, "The request body is empty; send a JSON object.")
    too_deep = ApiError(400, f"The request body nests arrays and objects more than {MAX_DEPTH} levels deep.")
    try:
        data = json.loads(raw, parse_constant=_no_constant, object_pairs_hook=_unique_names)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        position = f" at line {exc.lineno}, column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else ""
        raise ApiError(400, f"The request body is not valid JSON{position}.") from None
    except RecursionError:
        raise too_deep from None
    except MalformedBody as exc:
        raise ApiError(400, f"The request body {exc}.") from None
    except ValueError:  # the only other ValueError: an integer literal too long to convert
        digits = sys.get_int_max_str_digits()
        raise ApiError(400, f"The request body holds an integer of more than {digits:,} digits.") from None
    if not isinstance(data, dict):
        raise ApiError(400, "The request body must be a JSON object.")
    if nests_deeper_than(data, MAX_DEPTH):
        raise too_deep
    try:
        json.dumps(data, ensure_ascii=False).encode()
    except UnicodeEncodeError as exc:
        escape, before = f"\\u{ord(exc.object[exc.start]):04x}", exc.object[max(exc.start - 20, 0) : exc.start]
        message = f"The request body holds {escape} (after {before!r}), half of a surrogate pair: no character."
        raise ApiError(400, message) from None
    return data
