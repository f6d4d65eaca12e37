"""Jobdeck's engine: runbooks, jobs, execution, queue, events and artifacts. No UI here."""
