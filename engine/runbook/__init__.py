"""Runbooks: the YAML format, its validation with line and column, and templating."""

from engine.runbook.loader import RunbookInvalid, load_runbook, load_runbook_file, stored_runbook
from engine.runbook.model import Capture, Condition, Runbook, RunbookSettings, Step

__all__ = [
    "Capture", "Condition", "Runbook", "RunbookInvalid", "RunbookSettings", "Step",
    "load_runbook", "load_runbook_file", "stored_runbook",
]
