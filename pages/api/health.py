"""`/api/health`: the database, the scheduler and the disk, for people and monitoring
tools."""

from fastapi import APIRouter

from engine.service.health import health
from models import Health
from pages.api.access import UNSIGNED

router = APIRouter(prefix="/api", tags=["api"], responses=UNSIGNED)


@router.get("/health", summary="Database reachable, which process runs the scheduler, "
            "free disk space",
            response_model=Health)
def get_health() -> dict:
    """`status` is `degraded`, with the reasons in `warnings`, when the database cannot be
    reached, no scheduler holds its lock (schedules then do not fire) or the data
    directory's disk has less than JOBDECK_MIN_FREE_MB free."""
    report = health()
    report["scheduler"] = {k: v.isoformat() if hasattr(v, "isoformat") else v
                           for k, v in report["scheduler"].items()}
    return report
