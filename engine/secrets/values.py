"""Secrets: looked up at run time, never stored with a job, and masked wherever a value is
shown. A value comes from the secret store (set on the Secrets page) or else from the
environment variable JOBDECK_SECRET_<NAME>."""

import base64
import json
import os
import zipfile
from pathlib import Path
from typing import Any

from engine.secrets import store as secret_store
from engine.secrets.forms import page_text_forms, page_text_pattern, secret_forms

MASK = "••••"


def secret_env_name(name: str) -> str:
    return f"JOBDECK_SECRET_{name.upper().replace('-', '_')}"


def missing_secrets(names: list[str]) -> list[str]:
    if not names:  # most runbooks have none: the store is not even read
        return []
    stored = secret_store.stored_names()
    return [n for n in names if _origin(n, stored) is None]


def _origin(name: str, stored) -> str | None:
    """Where a secret's value comes from: "store", "environment" or None (not set)."""
    if name in stored:
        return "store"
    return "environment" if secret_env_name(name) in os.environ else None


def resolve_secrets(names: list[str]) -> dict[str, str]:
    """The values of the named secrets: the store's, else the environment's."""
    stored = secret_store.stored_values(names) if names else {}
    missing = [n for n in names if _origin(n, stored) is None]
    if missing:
        raise KeyError("secret(s) not set: " + ", ".join(
            f"{n} (set it on the Secrets page or in {secret_env_name(n)})" for n in missing))
    return {n: stored[n] if n in stored else os.environ[secret_env_name(n)] for n in names}


def secret_overview(used_by: dict[str, list[str]]) -> list[dict]:
    """Every secret a runbook names or the store holds: where its value comes from, which
    runbooks use it, and when it was last set. Never a value."""
    stored = secret_store.stored_names()
    rows = []
    for name in sorted(set(used_by) | set(stored)):
        entry = stored.get(name, {})
        rows.append({"name": name, "origin": _origin(name, stored),
                     "encrypted": entry.get("encrypted", False),
                     "updated_at": entry.get("updated_at"), "updated_by": entry.get("updated_by"),
                     "used_by": used_by.get(name, [])})
    return rows


def basic_auth_forms(credentials: dict | None) -> list[str]:
    """The password and the base64 token that HTTP Basic authentication sends for
    {username, password} (RFC 7617), as secret values; [] without credentials."""
    if not credentials or not credentials.get("password"):
        return []
    pair = f"{credentials['username']}:{credentials['password']}".encode()
    return [credentials["password"], base64.b64encode(pair).decode()]


class Redactor:
    """Replaces every secret value (in any of its written forms, engine.secrets.forms) with
    •••• in text and in nested data: the one redaction of records, events, exports,
    reports and traces."""

    def __init__(self, secret_values: list[str]):
        # What a page may show as text, and a pattern that finds any of it: screenshots
        # paint over the elements holding one, the live view drops frames showing one.
        self.page_texts = sorted({form for v in secret_values if v
                                  for form in page_text_forms(v)}, key=len, reverse=True)
        self.page_pattern = page_text_pattern(self.page_texts)
        forms = {form for v in secret_values if v for form in secret_forms(v)}
        if self.page_pattern:  # it goes into selectors, which a trace records (as JSON)
            forms |= {self.page_pattern} | {
                json.dumps(self.page_pattern, ensure_ascii=ascii)[1:-1] for ascii in (True, False)}
        # Longest first, so a secret that contains another is masked whole.
        self.values = sorted(forms, key=len, reverse=True)

    def text(self, value: str) -> str:
        for secret in self.values:
            value = value.replace(secret, MASK)
        return value

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.data(v) for v in value]
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        return value


def redact_archive(path: Path, redactor: Redactor) -> None:
    """Mask secret values in every file of a zip (a Playwright trace records what was typed
    and sent), in each of their written forms."""
    if not redactor.values:
        return
    forms = [form.encode() for form in redactor.values]  # every form, longest first
    mask = MASK.encode()
    fresh = path.with_suffix(".redacting")
    with zipfile.ZipFile(path) as source, zipfile.ZipFile(fresh, "w",
                                                         zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item)
            for form in forms:
                data = data.replace(form, mask)
            target.writestr(item, data)
    os.replace(fresh, path)
