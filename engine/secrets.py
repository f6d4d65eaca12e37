"""Secrets: looked up at run time, never stored, and masked wherever a value is shown."""

import os
from typing import Any

MASK = "••••"


def secret_env_name(name: str) -> str:
    return f"JOBDECK_SECRET_{name.upper().replace('-', '_')}"


def missing_secrets(names: list[str]) -> list[str]:
    return [n for n in names if secret_env_name(n) not in os.environ]


def resolve_secrets(names: list[str]) -> dict[str, str]:
    """The values of the named secrets from the environment (JOBDECK_SECRET_<NAME>)."""
    missing = missing_secrets(names)
    if missing:
        raise KeyError("secret(s) not set: " + ", ".join(
            f"{n} (set {secret_env_name(n)})" for n in missing))
    return {n: os.environ[secret_env_name(n)] for n in names}


class Redactor:
    """Replaces every secret value with •••• in text and in nested data."""

    def __init__(self, secret_values: list[str]):
        # Longest first, so a secret that contains another is masked whole.
        self.values = sorted({v for v in secret_values if v}, key=len, reverse=True)

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
