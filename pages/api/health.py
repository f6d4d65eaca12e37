"""`/api/health`: the database and the scheduler, for people and monitoring tools."""

from fastapi import APIRouter

from engine.service.health import health
from models import Health

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/health", summary="Database reachable, which process runs the scheduler",
            response_model=Health)
def get_health() -> dict:
    """`status` is `degraded`, with the reasons in `warnings`, when the database cannot be
    reached or no scheduler holds its lock (schedules then do not fire)."""
    report = health()
    report["scheduler"] = {k: v.isoformat() if hasattr(v, "isoformat") else v
                           for k, v in report["scheduler"].items()}
    return report
