"""The secret store: values set by an admin, kept in the data directory, never shown again.

One JSON file, `secrets.json`, readable by its owner only (0600), written whole to a new
file and renamed, under a lock, so a reader never sees half a file. With
`JOBDECK_SECRETS_KEY` (a Fernet key: `python main.py secrets key` makes one) each value is
encrypted, so the file alone (a backup, a copied disk) does not give the values away.
Every process of an installation reads the same file (the data directory is shared).
"""

import fcntl
import json
import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import TypedDict

from cryptography.fernet import Fernet, InvalidToken

from engine.errors import InvalidInput, Unavailable
from engine.identity import audit
from models import utcnow

NAME_RULE = re.compile(r"[A-Za-z0-9_-]{1,64}")


class _Place(TypedDict, total=False):
    """This process's store file and key, set by configure()."""

    path: Path
    fernet: Fernet | None


_place: _Place = {}


class SecretStoreError(Unavailable):
    """The store or a value in it cannot be read (the key is missing or wrong)."""


class InvalidSecret(SecretStoreError, InvalidInput):
    """A bad secret name or an empty value: nothing was stored."""


def configure(data_dir: Path, key: str | None) -> None:
    """Where this process's store is, and its key (each process's Runtime calls this)."""
    _place["path"] = Path(data_dir) / "secrets.json"
    try:
        _place["fernet"] = Fernet(key.encode()) if key else None
    except ValueError:
        raise SecretStoreError("JOBDECK_SECRETS_KEY is not a Fernet key: make one with "
                               "python main.py secrets key") from None


def _path() -> Path | None:
    return _place.get("path")


def _read() -> dict[str, dict]:
    path = _path()
    if path is None or not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SecretStoreError(f"cannot read the secret store {path} ({exc}): it must be "
                               "readable by the user Jobdeck runs as, and not edited by "
                               "hand") from None


@contextmanager
def _writing():
    path = _path()
    if path is None:
        raise SecretStoreError("the secret store is not configured in this process")
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = os.open(path.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o600)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries = _read()
        yield entries
        fresh = path.with_suffix(".new")
        fresh.unlink(missing_ok=True)
        handle = os.open(fresh, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(entries, out, indent=1, sort_keys=True)
            out.flush()
            os.fsync(out.fileno())
        os.replace(fresh, path)
    finally:
        os.close(lock)


def set_secret(name: str, value: str, *, by: str, source: str | None = None) -> bool:
    """Set or replace a value (recorded in the audit log, never the value); True when the
    name was new."""
    if not NAME_RULE.fullmatch(name):
        raise InvalidSecret("a secret's name has 1 to 64 letters, digits, _ and -")
    if not value:
        raise InvalidSecret("the value is empty: type the secret's value")
    fernet = _place.get("fernet")
    stored = fernet.encrypt(value.encode()).decode() if fernet else value
    with _writing() as entries:
        new = name not in entries
        entries[name] = {"value": stored, "encrypted": fernet is not None,
                         "updated_at": utcnow().isoformat(), "updated_by": by}
    audit.record(by, "secret_set" if new else "secret_replaced", target=f"secret {name}",
                 source=source)
    return new


def delete_secret(name: str, *, by: str, source: str | None = None) -> bool:
    with _writing() as entries:
        found = entries.pop(name, None) is not None
    if found:
        audit.record(by, "secret_deleted", target=f"secret {name}", source=source)
    return found


def stored_names() -> dict[str, dict]:
    """Each stored secret's name with when, by whom and whether encrypted; no values."""
    return {name: {k: v for k, v in entry.items() if k != "value"}
            for name, entry in sorted(_read().items())}


def stored_values(names: list[str]) -> dict[str, str]:
    """The stored values of those of `names` the store holds (the file read once)."""
    entries = _read()
    return {name: _plain(name, entries[name]) for name in names if name in entries}


def stored_value(name: str) -> str | None:
    return stored_values([name]).get(name)


def _plain(name: str, entry: dict) -> str:
    if not entry.get("encrypted"):
        return entry["value"]
    fernet = _place.get("fernet")
    if fernet is None:
        raise SecretStoreError(f'secret "{name}" is encrypted: set JOBDECK_SECRETS_KEY to the '
                               "key it was stored with")
    try:
        return fernet.decrypt(entry["value"].encode()).decode()
    except InvalidToken:
        raise SecretStoreError(f'secret "{name}" cannot be decrypted: JOBDECK_SECRETS_KEY is '
                               "not the key it was stored with") from None


def new_key() -> str:
    return Fernet.generate_key().decode()
