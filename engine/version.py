"""Jobdeck's version: one place, read by pyproject.toml, `--version` and the packed binary."""

VERSION = "0.1.0"
