"""The access use-cases: users, sign-in sessions, API tokens, the audit log and the first-admin setup.

Plain async functions on the database (and Redis, for the sign-in limit); the routes and the CLI
both call them. Each change writes its audit row in the change's own transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from databases import Database

from fulfil.access import queries
from fulfil.access.audit import Actor, write_audit
from fulfil.access.credentials import digest, new_api_token, new_secret, shown_prefix
from fulfil.access.passwords import hash_password, verify_password
from fulfil.access.ratelimit import LIMITER, limit_keys
from fulfil.access.roles import role_scopes
from fulfil.access.schemas import (
    AccessQuery,
    AuditEntry,
    AuditList,
    AuditQuery,
    Token,
    TokenCreated,
    TokenList,
    User,
    UserList,
    UserUpdate,
)
from fulfil.errors import ApiError
from fulfil.resources import Resources

SIGN_IN_FAILED = "The email or password is not right, or the account is disabled."


def email_taken(email: str) -> ApiError:
    details = [{"location": "body", "field": "email", "message": "already has an account"}]
    message = f"{email!r} already has an account (emails are compared without regard to case)"
    return ApiError(409, message, details=details)


async def insert_user(db: Database, email: str, password_hash: str, role: str) -> User:
    """A new user from an already computed hash; the setup link goes once an admin exists."""
    async with db.transaction():
        row = await db.fetch_one(queries.INSERT_USER, {"email": email, "password_hash": password_hash, "role": role})
        if row is None:
            raise email_taken(email)
        if role == "admin":
            await db.execute(queries.DELETE_SETUP_TOKEN)
    return User.model_validate(dict(row._mapping))


async def create_user(db: Database, email: str, password: str, role: str, actor: Actor) -> User:
    user = await insert_user(db, email, await hash_password(password), role)
    await write_audit(db, actor, "user.created", user.email, {"id": user.id, "role": user.role})
    return user


async def list_users(db: Database, query: AccessQuery) -> UserList:
    rows = await db.fetch_all(queries.LIST_USERS, query.window())
    total = await db.fetch_val(queries.COUNT_USERS)
    return UserList.of([User.model_validate(dict(row._mapping)) for row in rows], query, total)


async def load_user(db: Database, user_id: int) -> User:
    row = await db.fetch_one(queries.SELECT_USER, {"id": user_id})
    if row is None:
        raise ApiError(404, f"No user with id {user_id}")
    return User.model_validate(dict(row._mapping))


async def end_all_access(db: Any, user_id: int) -> None:
    """Every session of the user signed out and every token revoked, at once."""
    await db.execute(queries.DELETE_USER_SESSIONS, {"user_id": user_id})
    await db.execute(queries.REVOKE_USER_TOKENS, {"user_id": user_id})


async def update_user(db: Database, user_id: int, change: UserUpdate, actor: Actor) -> User:
    """Role, disabled and password; the last enabled admin can be neither demoted nor disabled (409)."""
    password_hash = await hash_password(change.password) if change.password is not None else None
    async with db.transaction():
        admins = [row["id"] for row in await db.fetch_all(queries.LOCK_ENABLED_ADMINS)]
        row = await db.fetch_one(queries.SELECT_USER_FOR_UPDATE, {"id": user_id})
        if row is None:
            raise ApiError(404, f"No user with id {user_id}")
        current = User.model_validate(dict(row._mapping))
        role = change.role or current.role
        disabled = current.disabled if change.disabled is None else change.disabled
        if admins == [user_id] and (role != "admin" or disabled):
            raise ApiError(
                409, f"{current.email} is the last enabled admin; make another user admin first.", code="last_admin"
            )
        row = await db.fetch_one(queries.UPDATE_USER, {"id": user_id, "role": role, "disabled": disabled})
        assert row is not None  # locked above
        user = User.model_validate(dict(row._mapping))
        if password_hash is not None:
            await db.execute(queries.SET_PASSWORD, {"id": user_id, "password_hash": password_hash})
        if password_hash is not None or (disabled and not current.disabled):
            await end_all_access(db, user_id)
        after: dict[str, Any] = {"role": role, "disabled": disabled}
        changed = {k: v for k, v in after.items() if getattr(current, k) != v}
        if password_hash is not None:
            changed["password"] = "changed"
        action = "user.disabled" if disabled and not current.disabled else "user.changed"
        await write_audit(db, actor, action, user.email, {"id": user_id, **changed})
    return user


async def find_user_by_email(db: Database, email: str) -> dict[str, Any] | None:
    row = await db.fetch_one(queries.SELECT_USER_BY_EMAIL, {"email": email.strip()})
    return dict(row._mapping) if row is not None else None


@dataclass(frozen=True)
class NewSession:
    secret: str  # the cookie's value: never stored
    csrf_token: str
    session_id: int


async def check_password(db: Database, email: str, password: str) -> User | None:
    """The enabled user with this email and password, else None (which of the two was wrong is not said)."""
    found = await find_user_by_email(db, email)
    ok = await verify_password(found["password_hash"] if found else None, password)
    if not ok or found is None or found["disabled"]:
        return None
    return User.model_validate(found)


async def sign_in(resources: Resources, email: str, password: str, actor: Actor) -> User:
    """The user whose email and password these are; a 401 that does not say which was wrong, and
    a 429 with Retry-After after 5 failures for one email or 20 from one address in 15 minutes."""
    keys = limit_keys(email, actor.address)
    wait = await LIMITER.retry_after(resources.redis, keys)
    if wait is not None:
        message = f"Too many failed sign-ins; try again in {wait} seconds."
        raise ApiError(429, message, code="too_many_attempts", headers={"Retry-After": str(wait)})
    user = await check_password(resources.db, email, password)
    if user is None:
        await LIMITER.failed(resources.redis, keys)
        await write_audit(resources.db, actor, "auth.signin_failed", email.strip()[:254])
        raise ApiError(401, SIGN_IN_FAILED, code="signin_failed")
    await LIMITER.succeeded(resources.redis, keys)
    signed_in = Actor(user_id=user.id, email=user.email, address=actor.address)
    await write_audit(resources.db, signed_in, "auth.signin", user.email)
    return user


async def start_session(db: Database, user_id: int, address: str | None) -> NewSession:
    secret, csrf = new_secret(), new_secret()
    values = {"secret_hash": digest(secret), "user_id": user_id, "csrf_token": csrf, "address": address}
    session_id = await db.fetch_val(queries.INSERT_SESSION, values)
    return NewSession(secret=secret, csrf_token=csrf, session_id=session_id)


async def end_session(db: Database, secret: str, actor: Actor) -> None:
    """Delete the session (audited when there was one to end)."""
    async with db.transaction():
        if await db.fetch_one(queries.DELETE_SESSION, {"secret_hash": digest(secret)}) is not None:
            await write_audit(db, actor, "auth.signout")


def token_model(row: Any, model: type[Token] = Token, **extra: Any) -> Any:
    data = dict(row._mapping)
    data["scopes"] = list(data["scopes"])
    return model.model_validate({**data, **extra})


async def create_token(
    db: Database,
    user_id: int,
    name: str,
    scopes: list[str],
    expires_at: datetime | None,
    actor: Actor,
) -> TokenCreated:
    token = new_api_token()
    values = {
        "secret_hash": digest(token),
        "prefix": shown_prefix(token),
        "user_id": user_id,
        "name": name,
        "scopes": scopes,
        "expires_at": expires_at,
    }
    async with db.transaction():
        token_id = await db.fetch_val(queries.INSERT_TOKEN, values)
        row = await db.fetch_one(queries.SELECT_TOKEN, {"id": token_id})
        created: TokenCreated = token_model(row, TokenCreated, token=token)
        await write_audit(db, actor, "token.created", created.owner, {"id": token_id, "name": name, "scopes": scopes})
    return created


async def list_tokens(db: Database, query: AccessQuery, user_id: int | None) -> TokenList:
    """The live tokens of `user_id` (None: every user's), newest first."""
    owner = {"user_id": user_id}
    rows = await db.fetch_all(queries.LIST_TOKENS, owner | query.window())
    total = await db.fetch_val(queries.COUNT_TOKENS, owner)
    return TokenList.of([token_model(row) for row in rows], query, total)


async def revoke_token(db: Database, token_id: int, user_id: int | None, actor: Actor) -> None:
    """Revoke a live token of `user_id` (None: of anyone); a 404 for any other, so none is revealed."""
    async with db.transaction():
        row = await db.fetch_one(queries.SELECT_TOKEN, {"id": token_id})
        mine = row is not None and user_id in (None, row["user_id"])
        if row is None or row["revoked_at"] is not None or not mine:
            raise ApiError(404, f"No token with id {token_id}")
        await db.execute(queries.REVOKE_TOKEN, {"id": token_id})
        await write_audit(db, actor, "token.revoked", row["owner"], {"id": token_id, "name": row["name"]})


def allowed_token_scopes(role: str, wanted: Sequence[str] | None, ceiling: list[str] | None = None) -> list[str]:
    """The scopes a new token gets: `wanted` (default: all the role allows), never beyond the role
    (nor `ceiling`, the creating token's own scopes); asking for more is a 403 naming them."""
    allowed = role_scopes(role) if ceiling is None else role_scopes(role) & set(ceiling)
    if wanted is None:
        return sorted(allowed)
    beyond = sorted(set(wanted) - allowed)
    if beyond:
        details = [{"location": "body", "field": "scopes", "message": f"not allowed: {', '.join(beyond)}"}]
        raise ApiError(403, f"You cannot give a token {', '.join(beyond)}: beyond what you may do.", details=details)
    return sorted(set(wanted))


async def setup_token(db: Database) -> str | None:
    """The first-admin link's token while no enabled admin exists (made on first call), else None."""
    if await db.fetch_val(queries.ANY_ENABLED_ADMIN):
        return None
    await db.execute(queries.ENSURE_SETUP_TOKEN, {"token": new_secret()})
    token: str | None = await db.fetch_val(queries.SELECT_SETUP_TOKEN)
    return token


async def complete_setup(db: Database, token: str, email: str, password: str, actor: Actor) -> User:
    """The first admin, through the setup link: works once, and only while no admin exists."""
    password_hash = await hash_password(password)
    refused = ApiError(403, "This setup link is not valid (already used, or an admin exists); sign in instead.")
    async with db.transaction():
        if await db.fetch_val(queries.ANY_ENABLED_ADMIN):
            raise refused
        if await db.fetch_val(queries.CONSUME_SETUP_TOKEN, {"token": token}) is None:
            raise refused
        user = await insert_user(db, email, password_hash, "admin")
        await write_audit(db, actor, "auth.setup", user.email, {"id": user.id})
    return user


async def list_audit(db: Database, query: AuditQuery) -> AuditList:
    """Audit entries, newest first, filtered by actor (email), action and time."""
    filters = query.model_dump(include={"actor", "action", "since", "until"})
    rows = await db.fetch_all(queries.LIST_AUDIT, filters | query.window())
    total = await db.fetch_val(queries.COUNT_AUDIT, filters)
    items = [AuditEntry.model_validate({**row._mapping, "details": json.loads(row["details"])}) for row in rows]
    return AuditList.of(items, query, total)
