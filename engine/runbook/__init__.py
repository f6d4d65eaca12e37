"""Runbooks: the YAML format, its validation with line and column, and templating."""

from engine.runbook.loader import RunbookInvalid, load_runbook, load_runbook_file, stored_runbook
from engine.runbook.model import Capture, Condition, Runbook, RunbookSettings, Step
from engine.runbook.problems import Problem

__all__ = [
    "Capture", "Condition", "Problem", "Runbook", "RunbookInvalid", "RunbookSettings", "Step",
    "load_runbook", "load_runbook_file", "stored_runbook",
]
