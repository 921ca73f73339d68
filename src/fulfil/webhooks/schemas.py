"""The webhooks API's models: subscriptions (secret write-only), deliveries with their attempts.

A reply never carries the secret, only `has_secret`; `PUT` changes the fields it is sent and keeps
the others, so a form that cannot show the secret does not wipe it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, Field, StrictBool, field_validator

from fulfil.pagination import Page, PageQuery, page_size_field
from fulfil.validation import CONTROL_CHARACTERS, StrictModel, no_control, not_null

TEST_EVENT = "webhook.test"
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


class WebhookCreate(StrictModel):
    """`POST /api/webhooks`."""

    url: Url
    event_types: EventTypes
    enabled: StrictBool = True
    secret: Secret = None
    timeout: Timeout = TIMEOUT_DEFAULT
    retry_count: RetryCount = RETRY_COUNT_DEFAULT


class WebhookUpdate(StrictModel):
    """`PUT /api/webhooks/{id}`: fields sent are changed; `secret` left out keeps the current one."""

    url: Url | None = None
    event_types: EventTypes | None = None
    enabled: StrictBool | None = None
    secret: Secret = None
    timeout: Timeout | None = None
    retry_count: RetryCount | None = None

    _not_null = field_validator("url", "event_types", "enabled", "timeout", "retry_count", mode="before")(not_null)


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
