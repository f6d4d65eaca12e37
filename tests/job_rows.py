"""Jobs written straight to the database for the jobs list's filter tests: each with its
runbook, status, trigger, person, time, params and error, as a finished run leaves them
(the full-text index and the status counts follow through the database's triggers)."""

from datetime import datetime, timezone

from engine.service.runbooks import add_runbook, get_runbook
from engine.store.db import session_scope
from models import Job, JobStatus, Trigger

RUNBOOK = ("version: 1\nname: {name}\ntitle: {title}\n"
           "steps: [{{name: open, action: goto, url: 'http://127.0.0.1:9/'}}]\n")
TIMEOUT = ("Timeout 30000ms exceeded waiting for locator('#total')\n"
           "Call log: waiting for locator('#total')")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


# id (in insertion order, from 1) -> what the filters see
JOBS = [
    dict(runbook="invoices", status="completed", trigger="manual", by="ada",
         created="2026-11-01 10:00", params={"month": "2026-10"}),
    dict(runbook="invoices", status="failed", trigger="schedule", by=None,
         created="2026-11-02 03:00", error=("element_not_found", TIMEOUT)),
    dict(runbook="payroll", status="failed", trigger="api", by="bob",
         created="2026-11-15 12:00", params={"company": "Zürich AG"},
         error=("http_error", "The page answered 503 Service Unavailable")),
    dict(runbook="payroll", status="completed", trigger="rerun", by="ada",
         created="2026-11-30 23:59:59"),
    dict(runbook="invoices", status="running", trigger="cli", by="René",
         created="2026-12-01 00:00"),
    dict(runbook="payroll", status="completed", trigger="retry", by="bob",
         created="2026-12-02 08:30", params={"month": "2026-11"}),
]
TITLES = {"invoices": "Export invoices", "payroll": "Run payroll"}


def add_job_rows() -> list[int]:
    """The runbooks and the six JOBS; their ids, in JOBS' order."""
    for name, title in TITLES.items():
        add_runbook(RUNBOOK.format(name=name, title=title))
    ids = {name: getattr(get_runbook(name), "id") for name in TITLES}
    made = []
    with session_scope() as session:
        for row in JOBS:
            kind, message = row.get("error") or (None, None)
            job = Job(runbook_id=ids[row["runbook"]], runbook_name=row["runbook"],
                      runbook_title=TITLES[row["runbook"]], runbook_version=1, source="",
                      status=JobStatus(row["status"]), trigger=Trigger(row["trigger"]),
                      started_by=row["by"], params=row.get("params", {}),
                      created_at=at(row["created"]), error_kind=kind, error_message=message,
                      step_count=1)
            session.add(job)
            session.flush()
            made.append(job.id)
    return made
