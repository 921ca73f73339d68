"""Import profiles: column mappings saved under a name, for `profile=NAME` on an upload.

Names are compared without regard to case. Each write is audited in its own transaction.
"""

from __future__ import annotations

import json

import asyncpg
from databases import Database

from fulfil.access.audit import Actor, write_audit
from fulfil.db import fetch_model
from fulfil.errors import ApiError
from fulfil.imports.schemas import Profile, ProfileBody, ProfileList

_COLUMNS = "id, name, mapping, created_at, updated_at"
LIST = f"SELECT {_COLUMNS} FROM import_profile ORDER BY lower(name)"
GET = f"SELECT {_COLUMNS} FROM import_profile WHERE lower(name) = lower(:name)"
INSERT = f"""
INSERT INTO import_profile (name, mapping) VALUES (:name, CAST(:mapping AS jsonb))
RETURNING {_COLUMNS}
"""
UPDATE = f"""
UPDATE import_profile SET name = :new_name, mapping = CAST(:mapping AS jsonb), updated_at = now()
WHERE lower(name) = lower(:name)
RETURNING {_COLUMNS}
"""
DELETE = "DELETE FROM import_profile WHERE lower(name) = lower(:name) RETURNING id"


def not_found(name: str) -> ApiError:
    return ApiError(404, f"No import profile is named {name[:100]!r}")


def _taken(name: str) -> ApiError:
    return ApiError(409, f"An import profile is already named {name!r}; choose another name or update that one.")


async def list_profiles(db: Database) -> ProfileList:
    rows = await db.fetch_all(LIST)
    return ProfileList(profiles=[Profile.model_validate(dict(row._mapping)) for row in rows])


async def get_profile(db: Database, name: str) -> Profile:
    profile = await fetch_model(db, GET, {"name": name}, Profile)
    if profile is None:
        raise not_found(name)
    return profile


async def mapping_of(db: Database, name: str) -> dict[str, str] | None:
    """The profile's mapping, None when no profile has that name."""
    profile = await fetch_model(db, GET, {"name": name}, Profile)
    return None if profile is None else profile.mapping


async def create_profile(db: Database, body: ProfileBody, actor: Actor) -> Profile:
    """A new profile; 409 when the name is taken."""
    values = {"name": body.name, "mapping": json.dumps(body.mapping)}
    try:
        async with db.transaction():
            row = await db.fetch_one(INSERT, values)
            assert row is not None  # INSERT ... RETURNING
            await write_audit(
                db, actor, "import_profile.created", f"import profile {body.name}", {"mapping": body.mapping}
            )
    except asyncpg.UniqueViolationError:
        raise _taken(body.name) from None
    return Profile.model_validate(dict(row._mapping))


async def update_profile(db: Database, name: str, body: ProfileBody, actor: Actor) -> Profile:
    """Replace the profile's name and mapping; 404 when there is none, 409 when the new name is another's."""
    values = {"name": name, "new_name": body.name, "mapping": json.dumps(body.mapping)}
    try:
        async with db.transaction():
            row = await db.fetch_one(UPDATE, values)
            if row is None:
                raise not_found(name)
            await write_audit(
                db, actor, "import_profile.updated", f"import profile {body.name}", {"mapping": body.mapping}
            )
    except asyncpg.UniqueViolationError:
        raise _taken(body.name) from None
    return Profile.model_validate(dict(row._mapping))


async def delete_profile(db: Database, name: str, actor: Actor) -> None:
    async with db.transaction():
        row = await db.fetch_one(DELETE, {"name": name})
        if row is None:
            raise not_found(name)
        await write_audit(db, actor, "import_profile.deleted", f"import profile {name}")
