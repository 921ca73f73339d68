"""`fulfil users …` and `fulfil tokens …`: accounts and tokens from a terminal or a script, and
the first-admin setup link that `fulfil serve` logs while no admin exists.

Passwords are read from stdin when it is not a terminal (one line), else prompted for twice.
`tokens create` prints the token alone on stdout, so `FULFIL_TOKEN=$(fulfil tokens create …)` works.
"""

from __future__ import annotations

import argparse
import getpass
import ipaddress
import logging
import sys
from typing import TextIO

from databases import Database

from fulfil.access import service
from fulfil.access.audit import Actor
from fulfil.access.passwords import password_problem
from fulfil.access.roles import ROLES, SCOPES
from fulfil.access.schemas import UserUpdate, clean_email
from fulfil.db import create_database
from fulfil.errors import ApiError

log = logging.getLogger("fulfil")

CLI_ACTOR = Actor(email="cli")


class CommandError(Exception):
    """The command cannot do what it was asked; the message says why."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    users = commands.add_parser("users", help="create users, set passwords, disable users")
    user_commands = users.add_subparsers(dest="action", required=True)
    create = user_commands.add_parser("create", help="create a user (password from stdin or prompted)")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=ROLES)
    user_commands.add_parser("set-password", help="set a user's password; ends their sessions and tokens").add_argument(
        "--email", required=True
    )
    user_commands.add_parser("disable", help="disable a user; ends their sessions and tokens").add_argument(
        "--email", required=True
    )
    tokens = commands.add_parser("tokens", help="create API tokens")
    token_commands = tokens.add_subparsers(dest="action", required=True)
    token = token_commands.add_parser("create", help="create an API token and print it alone on stdout")
    token.add_argument("--email", required=True, help="the token's owner")
    token.add_argument("--name", required=True, help="what the token is for")
    token.add_argument(
        "--scope", action="append", choices=SCOPES, help="repeat for each; default: every scope the role allows"
    )


def read_password(stdin: TextIO = sys.stdin) -> str:
    """One line from stdin when it is not a terminal, else typed twice without echo."""
    if stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise CommandError("the two passwords differ")
    else:
        password = stdin.readline().rstrip("\r\n")
    problem = password_problem(password)
    if problem:
        raise CommandError(problem)
    return password


async def _user_id(db: Database, email: str) -> tuple[int, str]:
    found = await service.find_user_by_email(db, email)
    if found is None:
        raise CommandError(f"no user with email {email!r}")
    return found["id"], found["role"]


async def _run(db: Database, args: argparse.Namespace) -> None:
    try:
        email = clean_email(args.email)
    except ValueError as exc:
        raise CommandError(str(exc)) from None
    if args.command == "users" and args.action == "create":
        user = await service.create_user(db, email, read_password(), args.role, CLI_ACTOR)
        print(f"created {user.role} {user.email} (id {user.id})", file=sys.stderr)
    elif args.command == "users":
        user_id, _ = await _user_id(db, email)
        change = UserUpdate(password=read_password()) if args.action == "set-password" else UserUpdate(disabled=True)
        await service.update_user(db, user_id, change, CLI_ACTOR)
        done = "password set" if args.action == "set-password" else "disabled"
        print(f"{email}: {done}; their sessions and tokens have ended", file=sys.stderr)
    else:
        user_id, role = await _user_id(db, email)
        scopes = service.allowed_token_scopes(role, args.scope)
        created = await service.create_token(db, user_id, args.name, scopes, None, CLI_ACTOR)
        print(created.token)


async def run_command(database_url: str, args: argparse.Namespace) -> None:
    """Run `fulfil users|tokens ...` against the database (its migrations already applied)."""
    db = create_database(database_url, 2)
    await db.connect()
    try:
        await _run(db, args)
    except ApiError as exc:
        raise CommandError(exc.message) from None
    finally:
        await db.disconnect()


def setup_url(host: str, port: int, token: str) -> str:
    """The setup link as a browser on this machine opens it (a wildcard address becomes localhost)."""
    shown = host
    try:
        address = ipaddress.ip_address(host)
        shown = "localhost" if address.is_unspecified else (f"[{host}]" if address.version == 6 else host)
    except ValueError:
        pass
    return f"http://{shown}:{port}/setup?token={token}"


async def announce_setup(db: Database, host: str, port: int) -> None:
    """While no admin exists, log the one line that says how to create the first one."""
    token = await service.setup_token(db)
    if token is not None:
        url = setup_url(host, port, token)
        log.warning("no admin yet: open %s to create the first admin (or run `fulfil users create`)", url)
