"""Who is calling: Starlette's `AuthenticationBackend`, accepting an API token or the session cookie.

One indexed lookup per request (the token or session joined to its enabled user); the caller's
scopes are worked out from the user's role at that moment, so disabling a user, revoking a token
or an expired session takes effect on the very next request. `last_used_at` / `last_seen_at` are
written at most once a minute, so a busy client does not turn every read into a write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
    UnauthenticatedUser,
)
from starlette.requests import HTTPConnection

from fulfil.access import queries
from fulfil.access.credentials import TOKEN_PREFIX, digest
from fulfil.access.roles import granted_scopes
from fulfil.db import CONNECTION_LOST, direct_fetch_one
from fulfil.settings import Settings
from fulfil.state import app_state

SESSION_COOKIE = "fulfil_session"
TOUCH_EVERY = timedelta(minutes=1)


@dataclass(frozen=True)
class Caller(BaseUser):
    """A signed-in user, and how they came in: by session (cookie) or by API token."""

    id: int
    email: str
    role: str
    session_id: int | None = None
    csrf_token: str | None = None
    token_id: int | None = None

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.email

    @property
    def identity(self) -> str:
        return str(self.id)

    @property
    def via(self) -> str:
        return "token" if self.token_id is not None else "session"


class Anonymous(UnauthenticatedUser):
    """Nobody signed in; `refused` says which credential was sent but is not (or no longer) valid."""

    def __init__(self, refused: str | None = None) -> None:
        self.refused = refused


def caller_of(conn: HTTPConnection) -> Caller | None:
    """The signed-in caller of this request, or None."""
    user = conn.scope.get("user")
    return user if isinstance(user, Caller) else None


def bearer_token(conn: HTTPConnection) -> str | None:
    """The `fk_…` token of an `Authorization: Bearer` header, "" for any other Authorization, None without."""
    header = conn.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value.startswith(TOKEN_PREFIX) else ""


def session_limits(settings: Settings) -> dict[str, int]:
    """SESSION_MAX_HOURS and SESSION_IDLE_MINUTES, as the session queries take them."""
    return {"max_hours": settings.session_max_hours, "idle_minutes": settings.session_idle_minutes}


def _stale(last: datetime | None) -> bool:
    return last is None or datetime.now(UTC) - last >= TOUCH_EVERY


class CallerUnknowable(AuthenticationError):
    """The database could not be asked who is calling. Raised as an AuthenticationError because
    that is the one error Starlette's AuthenticationMiddleware hands to its `on_error`; anything
    else would skip the app's error handlers (they sit inside it) and become a bare 500."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


class SessionOrTokenBackend(AuthenticationBackend):
    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        try:
            return await self._identify(conn)
        except CONNECTION_LOST as exc:
            raise CallerUnknowable(exc) from exc

    async def _identify(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        token = bearer_token(conn)
        if token is not None:
            return await self._by_token(conn, token) if token else (AuthCredentials(), Anonymous("authorization"))
        cookie = conn.cookies.get(SESSION_COOKIE)
        if cookie:
            return await self._by_session(conn, cookie)
        return None

    async def _by_token(self, conn: HTTPConnection, token: str) -> tuple[AuthCredentials, BaseUser]:
        db = app_state(conn.app).opened.db
        found = await direct_fetch_one(db, queries.FIND_TOKEN, {"secret_hash": digest(token)})
        if found is None:
            return AuthCredentials(), Anonymous("token")
        if _stale(found["last_used_at"]):
            await db.execute(queries.TOUCH_TOKEN, {"id": found["token_id"]})
        caller = Caller(found["user_id"], found["email"], found["role"], token_id=found["token_id"])
        return AuthCredentials(granted_scopes(caller.role, list(found["scopes"]))), caller

    async def _by_session(self, conn: HTTPConnection, cookie: str) -> tuple[AuthCredentials, BaseUser]:
        resources = app_state(conn.app).opened
        limits = session_limits(resources.settings)
        found = await direct_fetch_one(resources.db, queries.FIND_SESSION, {"secret_hash": digest(cookie), **limits})
        if found is None:
            return AuthCredentials(), Anonymous("session")
        if _stale(found["last_seen_at"]):
            await resources.db.execute(queries.TOUCH_SESSION, {"id": found["session_id"]})
        caller = Caller(
            found["user_id"],
            found["email"],
            found["role"],
            session_id=found["session_id"],
            csrf_token=found["csrf_token"],
        )
        return AuthCredentials(granted_scopes(caller.role, None)), caller
