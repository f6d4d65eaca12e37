"""The instance's health: can it reach its database, which process fires schedules, and
how much room is left on the data directory's disk."""

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from engine.errors import free_mb
from engine.settings import current_settings
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


def disk_status() -> tuple[dict, list[str]]:
    """({path, free_mb}, warnings) of the data directory: a warning under
    JOBDECK_MIN_FREE_MB, as jobs, runbooks and artifacts are refused once it is full."""
    settings = current_settings()
    path = settings.data_dir.resolve()
    free = round(free_mb(path), 1)
    warnings = [] if free >= settings.min_free_mb else [
        f"the data directory {path} has {free:.0f} MB free (under JOBDECK_MIN_FREE_MB, "
        f"{settings.min_free_mb:g}): once it is full, jobs and runbooks are refused and "
        "running jobs fail as storage_full; free some space there"]
    return {"path": str(path), "free_mb": free}, warnings


def health() -> dict:
    """{status: ok|degraded, database: ok|unreachable, scheduler: scheduler_status(),
    disk: {path, free_mb}, warnings: [text]}; never raises for an unreachable database,
    it reports it."""
    disk, disk_warnings = disk_status()
    try:
        with read_scope() as session:
            session.exec(text("SELECT 1"))
        scheduler = scheduler_status()
    except OperationalError as exc:
        return {"status": "degraded", "database": "unreachable",
                "scheduler": {"running": False, "holder": None, "since": None,
                              "expires_at": None}, "disk": disk,
                "warnings": [f"the database cannot be reached ({exc.__class__.__name__})",
                             *disk_warnings]}
    warnings = [] if scheduler["running"] else [
        "no scheduler is running: schedules do not fire until a console with "
        "JOBDECK_SCHEDULER=true (the default) runs" + (
            f"; the last one, {scheduler['holder']}, stopped renewing its lock at "
            f"{scheduler['expires_at'].isoformat()}" if scheduler["holder"] else "")]
    warnings += disk_warnings
    return {"status": "degraded" if warnings else "ok", "database": "ok",
            "scheduler": scheduler, "disk": disk, "warnings": warnings}
