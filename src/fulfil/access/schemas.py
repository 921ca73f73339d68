"""The shapes the access API speaks: sign-in, the caller, users, tokens and audit entries."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, StrictBool, ValidationInfo, field_validator

from fulfil.access.passwords import PASSWORD_MAX, PASSWORD_MIN, password_problem
from fulfil.access.roles import Role, Scope
from fulfil.pagination import Page, PageQuery, page_size_field
from fulfil.validation import CONTROL_CHARACTERS, StrictModel, no_control, not_null, text_pattern

EMAIL_MAX = 254
NAME_MAX = 100
# What the OpenAPI document states of each rule below (JSON Schema patterns).
PLAIN_PATTERN = rf"^[^{CONTROL_CHARACTERS}]*$"
EMAIL_PATTERN = rf"^\s*[^\s{CONTROL_CHARACTERS}]+@[^\s@{CONTROL_CHARACTERS}]+\s*$"
PLAIN: dict[str, Any] = {"pattern": PLAIN_PATTERN}
PASSWORD_SCHEMA: dict[str, Any] = {"minLength": PASSWORD_MIN}
# RFC 3339, as JSON Schema's `date-time` format says: pydantic alone would also take a bare date
# or a number of seconds.
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)", re.ASCII)


def clean_email(value: str) -> str:
    """Trimmed, one `@` with something on each side, no spaces; kept as typed (compared without case)."""
    value = value.strip()
    if len(value) > EMAIL_MAX:
        raise ValueError(f"email is {len(value)} characters long; the limit is {EMAIL_MAX}")
    local, at, domain = value.rpartition("@")
    if not at or not local or not domain or any(c.isspace() for c in value):
        raise ValueError("email must look like name@example.com")
    no_control(value, "email")
    return value


def plain(value: str | None, info: ValidationInfo) -> str | None:
    """A text with no control characters (PostgreSQL cannot store a NUL byte)."""
    if value is not None:
        no_control(value, info.field_name or "value")
    return value


def date_time(value: Any, info: ValidationInfo) -> Any:
    """A time as RFC 3339 text, with its offset (`2030-01-01T00:00:00Z`); nothing else is read as one."""
    if isinstance(value, str) and _DATE_TIME.fullmatch(value):
        return value
    if value is None:
        return value
    raise ValueError(f"{info.field_name} must be a date and time with a time zone, such as 2030-01-01T00:00:00Z")


class SignIn(StrictModel):
    email: str = Field(max_length=EMAIL_MAX, json_schema_extra=PLAIN)
    password: str = Field(max_length=PASSWORD_MAX)

    _plain = field_validator("email")(plain)


class NewAccount(StrictModel):
    """An email and a password good enough to keep."""

    email: str = Field(max_length=EMAIL_MAX, json_schema_extra={"pattern": EMAIL_PATTERN})
    password: str = Field(max_length=PASSWORD_MAX, json_schema_extra=PASSWORD_SCHEMA)

    _email = field_validator("email")(clean_email)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        problem = password_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class SetupRequest(NewAccount):
    token: str = Field(
        max_length=200, json_schema_extra=PLAIN, description="the token of the setup link logged at start"
    )

    _plain = field_validator("token")(plain)


class Me(BaseModel):
    """The signed-in caller: who, which role, what it may do, and the CSRF token its writes carry."""

    id: int
    email: str
    role: Role
    scopes: list[str]
    via: str = Field(description="`session` (the dashboard's cookie) or `token` (an API token)")
    csrf_token: str | None = Field(description="send as X-CSRF-Token on writes; null when signed in by token")


class User(BaseModel):
    id: int
    email: str
    role: Role
    disabled: bool
    created_at: datetime
    updated_at: datetime


class UserCreate(NewAccount):
    role: Role


class UserUpdate(StrictModel):
    """Fields left out keep their value; a new password ends the user's sessions and tokens."""

    role: Role | None = None
    disabled: StrictBool | None = None
    password: str | None = Field(default=None, max_length=PASSWORD_MAX, json_schema_extra=PASSWORD_SCHEMA)

    _not_null = field_validator("role", "disabled", "password", mode="before")(not_null)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str | None) -> str | None:
        problem = password_problem(value) if value is not None else None
        if problem:
            raise ValueError(problem)
        return value


class AccessQuery(PageQuery):
    """A page of users or tokens."""

    page_size: int = page_size_field(50, 200)


class UserList(Page[User]):
    """One page of users, by id."""


class TokenCreate(StrictModel):
    name: str = Field(
        min_length=1, max_length=NAME_MAX, json_schema_extra={"pattern": text_pattern(NAME_MAX, required=True)}
    )
    scopes: list[Scope] | None = Field(None, description="default: every scope your role allows")
    expires_at: datetime | None = Field(None, description="with a time zone; default: never")

    _date_time = field_validator("expires_at", mode="before")(date_time)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name cannot be blank")
        no_control(value, "name")
        return value


class Token(BaseModel):
    id: int
    name: str
    prefix: str = Field(description="the token's first characters, to tell it apart")
    scopes: list[str]
    owner: str = Field(description="the owner's email")
    user_id: int
    expires_at: datetime | None
    created_at: datetime
    last_used_at: datetime | None


class TokenCreated(Token):
    token: str = Field(description="the token itself: shown this once, never again")


class TokenList(Page[Token]):
    """One page of API tokens, newest first."""


class AuditQuery(AccessQuery):
    actor: str | None = Field(None, max_length=EMAIL_MAX, json_schema_extra=PLAIN, description="the actor's email")
    action: str | None = Field(
        None, max_length=100, json_schema_extra=PLAIN, description="such as auth.signin or token.created"
    )
    since: datetime | None = Field(None, description="from this time on")
    until: datetime | None = Field(None, description="before this time")

    _plain = field_validator("actor", "action")(plain)
    _date_time = field_validator("since", "until", mode="before")(date_time)


class AuditEntry(BaseModel):
    id: int
    at: datetime
    actor: str | None = Field(description="the email of the user who acted, or null for nobody signed in")
    actor_user_id: int | None
    actor_token_id: int | None = Field(description="the token used, when the action came by token")
    address: str | None
    action: str
    target: str | None
    details: dict[str, Any]


class AuditList(Page[AuditEntry]):
    """One page of the audit log, newest first."""
