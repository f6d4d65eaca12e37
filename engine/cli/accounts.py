"""`python main.py users|tokens|secrets …`: accounts and secrets from a terminal, for setting
up and for automation. Whoever runs these has the data directory (or the database URL), so
they act as the operating system's user, recorded in the audit log as such ("cli")."""

import getpass
import os
import secrets
import sys

from rich.console import Console
from rich.table import Table

from engine.cli.errors import exit_code
from engine.identity import accounts
from engine.runtime import open_records
from engine.secrets import store as secret_store
from engine.settings import Settings

console = Console()
err = Console(stderr=True)
BY = f"{os.environ.get('USER', 'someone')} (cli)"


def _password(from_stdin: bool, name: str) -> tuple[str, bool]:
    """The password from stdin (one line), typed twice at a prompt, or made up (shown)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n"), False
    if sys.stdin.isatty():
        first = getpass.getpass(f"Password for {name} (empty: make one up): ")
        if first:
            if getpass.getpass("Again: ") != first:
                raise accounts.AccountError("the two passwords differ")
            return first, False
    return secrets.token_urlsafe(12), True


def create_user(settings: Settings, name: str, role: str, password_stdin: bool) -> int:
    open_records(settings)
    try:
        password, made = _password(password_stdin, name)
        accounts.create_user(name, role, password, by=BY, source="cli")
    except accounts.AccountError as exc:
        err.print(f"not created: {exc}", style="red")
        return exit_code(exc)
    console.print(f"user {name} created ({role})")
    if made:
        console.print(f"password (shown only now): {password}")
    return 0


def list_users(settings: Settings) -> int:
    open_records(settings)
    table = Table("name", "role", "status", "last sign-in")
    for user in accounts.list_users():
        table.add_row(user.name, user.role.value, "disabled" if user.disabled else "active",
                      user.last_sign_in_at.astimezone().strftime("%Y-%m-%d %H:%M")
                      if user.last_sign_in_at else "never")
    console.print(table)
    return 0


def change_user(settings: Settings, name: str, role: str | None, disable: bool | None,
                password_stdin: bool) -> int:
    open_records(settings)
    try:  # everything checked before anything changes
        if role:
            accounts.parse_role(role)
        password = _password(True, name)[0] if password_stdin else None
        if password is not None:
            accounts.check_password(password, name)
        if accounts.get_user(name) is None:
            raise accounts.AccountError(f'there is no user named "{name}"')
        if role:
            accounts.set_role(name, role, by=BY, source="cli")
        if disable is not None:
            accounts.set_disabled(name, disable, by=BY, source="cli")
        if password is not None:
            accounts.set_password(name, password, by=BY, source="cli")
    except accounts.AccountError as exc:
        err.print(f"not changed: {exc}", style="red")
        return exit_code(exc)
    console.print(f"user {name} changed")
    return 0


def create_token(settings: Settings, user: str, label: str) -> int:
    open_records(settings)
    try:
        token, row = accounts.create_token(user, label, by=BY, source="cli")
    except accounts.AccountError as exc:
        err.print(f"no token made: {exc}", style="red")
        return exit_code(exc)
    err.print(f"token {row.id} ({row.label}) for {user}; it is shown only now:")
    print(token)  # alone on stdout, so a script can capture it
    return 0


def set_secret(settings: Settings, name: str) -> int:
    open_records(settings)
    value = (sys.stdin.readline().rstrip("\r\n") if not sys.stdin.isatty()
             else getpass.getpass(f"Value of {name}: "))
    try:
        new = secret_store.set_secret(name, value, by=BY, source="cli")
    except secret_store.InvalidSecret as exc:
        err.print(f"not set: {exc}", style="red")
        return exit_code(exc)
    console.print(f"secret {name} {'set' if new else 'replaced'}")
    return 0
