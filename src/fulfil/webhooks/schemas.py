"""The webhooks API's models: subscriptions (secret write-only), deliveries with their attempts.

A reply never carries the secret, only `has_secret`; `PUT` changes the fields it is sent and keeps
the others, so a form that cannot show the secret does not wipe it.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    StrictBool,
    ValidationInfo,
    field_validator,
)

from fulfil.pagination import Page, PageQuery, page_size_field
from fulfil.validation import CONTROL_CHARACTERS, StrictModel, no_control, not_null

TEST_EVENT = "webhook.test"
DISABLED_EVENT = "webhook.disabled"
URL_MAX = 2048
SECRET_MAX = 512
TIMEOUT_DEFAULT = 30
RETRY_COUNT_DEFAULT = 3

EventType = Literal[
    "product.created",
    "product.updated",
    "product.deleted",
    "product.bulk_deleted",
    "product.bulk_updated",
    "import.completed",
    "import.undone",
    "webhook.disabled",
]
DeliveryStatus = Literal["pending", "delivered", "failed"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

# `clean_url`'s rule for the OpenAPI document (a little stricter: an ASCII host name or address, a port
# written without leading zeros).
_PORT = "[1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]"
URL_PATTERN = (
    rf"^\s*[hH][tT][tT][pP][sS]?://(?:[A-Za-z0-9_-]{{1,63}}\.)*[A-Za-z0-9_-]{{1,63}}(?::(?:{_PORT}))?"
    rf"(?:[/?][^\s#{CONTROL_CHARACTERS}]*)?\s*$"
)


def clean_url(value: str) -> str:
    """An absolute http(s) URL with a host; no credentials, no fragment, no whitespace."""
    value = value.strip()
    if not value:
        raise ValueError("url is required and cannot be blank")
    if len(value) > URL_MAX:
        raise ValueError(f"url is {len(value)} characters long; the limit is {URL_MAX}")
    if any(c.isspace() for c in value):
        raise ValueError("url cannot contain spaces")
    no_control(value, "url")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"url is not a valid URL ({exc})") from None
    if port == 0:
        raise ValueError("url has port 0, which cannot be connected to")
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("url must start with http:// or https://")
    if not parts.hostname:
        raise ValueError("url has no host name")
    try:  # what the HTTP client does with it: a label that is empty or over 63 characters fails
        parts.hostname.encode("idna")
    except UnicodeError:
        raise ValueError("url has an invalid host name (a part between dots is empty or too long)") from None
    if parts.username or parts.password:
        raise ValueError("url cannot carry a user name or password; use the secret to authenticate")
    if parts.fragment:
        raise ValueError("url cannot have a #fragment")
    return value


def clean_event_types(values: list[EventType]) -> list[EventType]:
    """Non-empty; duplicates dropped, first occurrence kept."""
    if not values:
        raise ValueError(f"choose at least one event type: {', '.join(EVENT_TYPES)}")
    return list(dict.fromkeys(values))


def clean_secret(value: str | None) -> str | None:
    """Blank means no secret; otherwise kept exactly as typed (its UTF-8 bytes are the HMAC key)."""
    if value is None or not value.strip():
        return None
    if len(value) > SECRET_MAX:
        raise ValueError(f"secret is {len(value)} characters long; the limit is {SECRET_MAX}")
    if "\x00" in value:
        raise ValueError("secret cannot contain a NUL character (U+0000)")
    return value


Url = Annotated[
    str,
    AfterValidator(clean_url),
    Field(
        description="http:// or https://",
        max_length=URL_MAX + 64,  # room for whitespace around it, trimmed before URL_MAX applies
        json_schema_extra={"maxLength": URL_MAX, "pattern": URL_PATTERN},
    ),
]
EventTypes = Annotated[
    list[EventType],
    AfterValidator(clean_event_types),
    Field(description="Non-empty", json_schema_extra={"minItems": 1}),
]
Secret = Annotated[
    str | None,
    AfterValidator(clean_secret),
    Field(
        description="Write-only HMAC key (its UTF-8 bytes); blank or null removes it",
        json_schema_extra={"maxLength": SECRET_MAX, "pattern": "^[^\\x00]*$"},
    ),
]


def whole_number(value: Any) -> Any:
    """JSON Schema's `integer`: a number without a fractional part (`3.0` too), not `true` or `"3"`."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a whole number")
    return value


Timeout = Annotated[
    int, Field(ge=1, le=300, description="Seconds to wait for the receiver"), BeforeValidator(whole_number)
]
RetryCount = Annotated[
    int, Field(ge=0, le=20, description="Retries after the first attempt fails"), BeforeValidator(whole_number)
]


HEADERS_MAX = 10
HEADER_NAME_MAX = 64
HEADER_VALUE_MAX = 1024
# RFC 9110's token: the characters a header name may have.
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
# Headers the service sets itself or that change how the request is carried: a custom header
# could forge a signature, hide the message id, or break the request.
RESERVED_HEADERS = frozenset(
    {
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "x-webhook-signature",
        "x-webhook-event",
        "x-webhook-id",
        "host",
        "connection",
        "keep-alive",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "expect",
        "proxy-authorization",
        "proxy-connection",
        "user-agent",
        "cookie",
    }
)
RESERVED_PREFIXES = ("content-", "webhook-", "x-webhook-", "x-forwarded-", "fulfil-", "proxy-")


def clean_headers(value: dict[str, str]) -> dict[str, str]:
    """At most HEADERS_MAX; names are HTTP tokens and not reserved, case-insensitively unique; values one line."""
    if len(value) > HEADERS_MAX:
        raise ValueError(f"headers has {len(value)} entries; at most {HEADERS_MAX} are allowed")
    seen: set[str] = set()
    for name, text in value.items():
        if not name or len(name) > HEADER_NAME_MAX or not _TOKEN.match(name):
            shown = json.dumps(name[:HEADER_NAME_MAX])
            raise ValueError(f"header name {shown} is not a valid HTTP header name (letters, digits, -, at most 64)")
        lower = name.lower()
        if lower in RESERVED_HEADERS or lower.startswith(RESERVED_PREFIXES):
            raise ValueError(f"header {name} is set by the service itself and cannot be replaced")
        if lower in seen:
            raise ValueError(f"header {name} is given twice (names are case-insensitive)")
        seen.add(lower)
        if len(text) > HEADER_VALUE_MAX:
            raise ValueError(f"header {name}'s value is {len(text)} characters long; the limit is {HEADER_VALUE_MAX}")
        if not all(0x20 <= ord(c) < 0x7F for c in text):
            raise ValueError(f"header {name}'s value must be printable ASCII (no control characters or line breaks)")
        if text != text.strip():
            raise ValueError(f"header {name}'s value cannot start or end with whitespace")
    return value


Headers = Annotated[
    dict[str, str],
    AfterValidator(clean_headers),
    Field(
        description=f"Up to {HEADERS_MAX} extra headers sent with every delivery (name: value); write-only, "
        "as values may be credentials: replies give `header_names`; a PUT with `headers` replaces them all",
        json_schema_extra={"maxProperties": HEADERS_MAX},
    ),
]
MaxPerSecond = Annotated[
    int | None,
    Field(ge=1, le=10000, description="Deliveries a second to this webhook across every worker; null: no limit"),
    BeforeValidator(lambda value: value if value is None else whole_number(value)),
]


class WebhookCreate(StrictModel):
    """`POST /api/webhooks`."""

    url: Url
    event_types: EventTypes
    enabled: StrictBool = True
    secret: Secret = None
    timeout: Timeout = TIMEOUT_DEFAULT
    retry_count: RetryCount = RETRY_COUNT_DEFAULT
    headers: Headers = Field(default_factory=dict)
    max_per_second: MaxPerSecond = None


class WebhookUpdate(StrictModel):
    """`PUT /api/webhooks/{id}`: fields sent are changed; `secret` left out keeps the current one."""

    url: Url | None = None
    event_types: EventTypes | None = None
    enabled: StrictBool | None = None
    secret: Secret = None
    timeout: Timeout | None = None
    retry_count: RetryCount | None = None
    headers: Headers | None = None
    max_per_second: MaxPerSecond = None

    _not_null = field_validator("url", "event_types", "enabled", "timeout", "retry_count", "headers", mode="before")(
        not_null
    )


class Webhook(BaseModel):
    """A subscription as the API shows it: never the secret, and the latest delivery's outcome."""

    id: int
    url: str
    event_types: list[str]
    enabled: bool
    has_secret: bool
    timeout: int
    retry_count: int
    disabled_reason: str | None
    disabled_at: datetime | None = Field(None, description="When it was disabled (a 410, or sustained failure)")
    failing_since: datetime | None = Field(None, description="Since when every delivery failed, if that disabled it")
    secret_rotated_at: datetime | None = None
    previous_secret_expires_at: datetime | None = Field(
        None, description="Until when the secret replaced by the last rotation still signs beside the new one"
    )
    header_names: list[str] = Field(description="The custom headers' names (their values are write-only)")
    max_per_second: int | None
    created_at: datetime
    updated_at: datetime
    last_delivery_status: DeliveryStatus | None = Field(None, description="Status of the newest delivery, if any")
    last_delivery_at: datetime | None = None


class WebhookList(Page[Webhook]):
    """One page of webhooks, by id."""


class WebhookQuery(PageQuery):
    page_size: int = page_size_field(50, 200)


class DeliveryQuery(PageQuery):
    page_size: int = page_size_field(20, 200)
    status: DeliveryStatus | None = None


class Attempt(BaseModel):
    """One HTTP attempt; `retry_in_seconds` is the wait scheduled after it (null: no retry)."""

    at: datetime
    status_code: int | None
    duration_ms: float
    response_excerpt: str
    error: str | None
    retry_in_seconds: float | None = None


class Delivery(BaseModel):
    id: int
    webhook_id: int
    event_id: int | None
    event_type: str
    message_id: str = Field(description="The Standard Webhooks `webhook-id`, the same on every attempt")
    status: DeliveryStatus
    attempt_count: int
    attempts: list[Attempt]
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None
    payload: dict[str, Any]


class DeliveryList(Page[Delivery]):
    """One page of a webhook's deliveries, newest first."""


class TestResult(BaseModel):
    """`POST /api/webhooks/{id}/test`: what the receiver answered to one `webhook.test` event."""

    ok: bool
    status_code: int | None
    duration_ms: float
    response_excerpt: str
    error: str | None
    delivery_id: int


GRACE_DEFAULT = 24 * 3600
GRACE_MAX = 7 * 24 * 3600


class RotateSecret(StrictModel):
    """`POST /api/webhooks/{id}/rotate-secret`: the new secret (generated when left out) and the overlap."""

    secret: Secret = None
    grace_seconds: Annotated[
        int,
        Field(ge=0, le=GRACE_MAX, description="How long the old secret keeps signing beside the new one"),
        BeforeValidator(whole_number),
    ] = GRACE_DEFAULT


class RotatedSecret(BaseModel):
    """The new secret, shown this once, and until when the old one still signs."""

    secret: str
    previous_secret_expires_at: datetime | None
    webhook: Webhook


class Recover(StrictModel):
    """`POST /api/webhooks/{id}/recover`: failed deliveries that ended in [since, until) get a new round."""

    since: AwareDatetime = Field(description="ISO 8601 with a time zone, e.g. 2026-01-31T12:00:00Z")
    until: AwareDatetime | None = None
    dry_run: StrictBool = Field(False, description="Only count them")

    @field_validator("until")
    @classmethod
    def _after_since(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        since = info.data.get("since")
        if value is not None and since is not None and value <= since:
            raise ValueError("until must be later than since")
        return value


class Recovered(BaseModel):
    """How many deliveries were queued again (0 on a dry run) and how many matched."""

    queued: int
    matching: int


class WebhookStats(BaseModel):
    """The last 24 hours of one webhook."""

    window_hours: int = 24
    delivered: int
    failed: int
    success_rate: float | None = Field(description="delivered / (delivered + failed); null when none ended")
    p50_ms: float | None
    p95_ms: float | None


FEED_LIMIT_MAX = 1000


class FeedQuery(StrictModel):
    """`GET /api/events`: events after a cursor, optionally of one type."""

    after: int = Field(0, ge=0, le=2**62, description="The `next_cursor` of the previous page; 0: the oldest kept")
    type: EventType | None = None
    limit: int = Field(100, ge=1, le=FEED_LIMIT_MAX)


class FeedEvent(BaseModel):
    id: int
    type: str
    created_at: datetime
    payload: dict[str, Any] = Field(description="The payload exactly as receivers got it")


class Feed(BaseModel):
    items: list[FeedEvent]
    next_cursor: int = Field(description="Pass as `after` for the next page (the same when nothing newer yet)")
