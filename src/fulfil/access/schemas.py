"""The shapes the access API speaks: sign-in, the caller, users, tokens and audit entries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field, field_validator

from fulfil.access.passwords import PASSWORD_MAX, password_problem
from fulfil.access.roles import Role, Scope
from fulfil.pagination import Page, PageQuery, page_size_field
from fulfil.validation import StrictModel, no_control

EMAIL_MAX = 254
NAME_MAX = 100


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


class SignIn(StrictModel):
    email: str = Field(max_length=EMAIL_MAX)
    password: str = Field(max_length=PASSWORD_MAX)


class NewAccount(StrictModel):
    """An email and a password good enough to keep."""

    email: str = Field(max_length=EMAIL_MAX)
    password: str = Field(max_length=PASSWORD_MAX)

    _email = field_validator("email")(clean_email)

    @field_validator("password")
    @classmethod
    def _password(cls, value: str) -> str:
        problem = password_problem(value)
        if problem:
            raise ValueError(problem)
        return value


class SetupRequest(NewAccount):
    token: str = Field(max_length=200, description="the token of the setup link logged at start")


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
    disabled: bool | None = None
    password: str | None = Field(default=None, max_length=PASSWORD_MAX)

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
    name: str = Field(min_length=1, max_length=NAME_MAX)
    scopes: list[Scope] | None = Field(None, description="default: every scope your role allows")
    expires_at: datetime | None = Field(None, description="with a time zone; default: never")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("name cannot be blank")
        no_control(value, "name")
        return value

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("expires_at needs a time zone, such as 2030-01-01T00:00:00Z")
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
    actor: str | None = Field(None, max_length=EMAIL_MAX, description="the actor's email")
    action: str | None = Field(None, max_length=100, description="such as auth.signin or token.created")
    since: datetime | None = Field(None, description="from this time on")
    until: datetime | None = Field(None, description="before this time")


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
