"""Jobdeck's tables and the schemas that cross the API boundary."""

from models.account import ApiToken, LoginSession, Role, User
from models.api import (
    ActorRead,
    ArtifactRead,
    ErrorDetail,
    FireTimes,
    Health,
    JobError,
    JobMetrics,
    JobPage,
    JobRead,
    JobReport,
    RunbookParam,
    RunbookProblem,
    RunbookProblems,
    RunbookRead,
    RunbookSaved,
    RunbookStep,
    RunbookWithSource,
    ScheduleMiss,
    ScheduleRead,
    SchedulerStatus,
    StepRunRead,
)
from models.api_notifications import ChannelCreated, ChannelRead, DeliveryRead
from models.artifact import Artifact, ArtifactKind
from models.audit_event import AuditEvent
from models.common import (
    ACTIVE_STATUSES,
    ErrorKind,
    JobStatus,
    ScheduleOverlap,
    StepStatus,
    Trigger,
    utcnow,
)
from models.instance_secret import InstanceSecret
from models.job import Job
from models.job_action import JOB_ACTIONS, JobAction, JobActionRule
from models.job_event import JobEvent
from models.notification import (
    DeliveryStatus,
    NotificationChannel,
    NotificationDelivery,
    NotificationEvent,
    NotifierCursor,
)
from models.runbook import Runbook, RunbookVersion
from models.schedule import Schedule, SchedulerLock
from models.step_run import StepRun

__all__ = [
    "ACTIVE_STATUSES", "JOB_ACTIONS", "ApiToken", "Artifact", "ArtifactKind", "AuditEvent",
    "ErrorKind", "InstanceSecret", "Job", "JobAction", "JobActionRule", "JobEvent", "JobStatus",
    "LoginSession", "Role", "Runbook", "RunbookVersion", "Schedule", "ScheduleOverlap",
    "SchedulerLock", "StepRun", "StepStatus", "Trigger", "User", "utcnow",
    "DeliveryStatus", "NotificationChannel", "NotificationDelivery", "NotificationEvent",
    "NotifierCursor",
    # the API's response bodies (models/api.py)
    "ActorRead", "ArtifactRead", "ErrorDetail", "FireTimes", "Health", "JobError", "JobMetrics",
    "JobPage", "JobRead", "JobReport", "RunbookParam", "RunbookProblem", "RunbookProblems",
    "RunbookRead", "RunbookSaved", "RunbookStep", "RunbookWithSource", "ScheduleMiss",
    "ScheduleRead", "SchedulerStatus", "StepRunRead",
    "ChannelCreated", "ChannelRead", "DeliveryRead",  # models/api_notifications.py
]
