"""The instance's health: can it reach its database, and which process fires schedules."""

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.store.db import read_scope
from models import SchedulerLock, utcnow


def scheduler_status() -> dict:
    """Who holds the scheduler lock: {running, holder, since, expires_at} (times aware,
    UTC). `running` is false when no lock is held or it lapsed (its holder died or hangs)."""
    with read_scope() as session:
        lock = session.get(SchedulerLock, 1)
        if lock is None:
            return {"running": False, "holder": None, "since": None, "expires_at": None}
        return {"running": lock.expires_at > utcnow(), "holder": lock.holder,
                "since": lock.since, "expires_at": lock.expires_at}


def health() -> dict:
    """{status: ok|degraded, database: ok|unreachable, scheduler: scheduler_status(),
    warnings: [text]}; never raises for an unreachable database, it reports it."""
    try:
        with read_scope() as session:
            session.exec(text("SELECT 1"))
        scheduler = scheduler_status()
    except OperationalError as exc:
        return {"status": "degraded", "database": "unreachable",
                "scheduler": {"running": False, "holder": None, "since": None,
                              "expires_at": None},
                "warnings": [f"the database cannot be reached ({exc.__class__.__name__})"]}
    warnings = [] if scheduler["running"] else [
        "no scheduler is running: schedules do not fire until a console with "
        "JOBDECK_SCHEDULER=true (the default) runs" + (
            f"; the last one, {scheduler['holder']}, stopped renewing its lock at "
            f"{scheduler['expires_at'].isoformat()}" if scheduler["holder"] else "")]
    return {"status": "degraded" if warnings else "ok", "database": "ok",
            "scheduler": scheduler, "warnings": warnings}
