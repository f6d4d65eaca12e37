"""Who may do what: four roles, each allowed what the one before it is, and more.

The console shows only what a role may do; the API and the pages' handlers call `require`
before acting, so the server enforces it whatever a client sends.
"""

from dataclasses import dataclass

from engine.errors import Forbidden
from engine.identity import audit
from models import JOB_ACTIONS, JobAction, Role

RANK = {Role.viewer: 0, Role.operator: 1, Role.approver: 2, Role.admin: 3}

# action -> (the least role that may do it, what it is for messages: "<name> is a viewer:
# starting jobs needs the operator role"); the job actions' rows come from their table
RULES: dict[str, tuple[Role, str]] = {
    "view": (Role.viewer, "seeing jobs"),  # jobs, their steps, artifacts, runbooks, schedules
    "start": (Role.operator, "starting jobs"),
    **{action.value: (rule.role, rule.activity) for action, rule in JOB_ACTIONS.items()},
    # the least role: a job waiting for approval also needs what approving it needs
    "take_control": (Role.operator, "taking control of a job's browser"),
    # Apply only puts first a selector candidate the runbook already lists, which an
    # operator may judge: the role that starts jobs, not the admin's who writes runbooks
    "heal": (Role.operator, "applying a healed selector"),
    # Keep spares a job's files from the retention sweep: whoever starts jobs may judge
    "keep": (Role.operator, "keeping a job's files"),
    "storage": (Role.admin, "storage and the retention sweep"),
    "runbooks": (Role.admin, "changing runbooks"),
    "schedules": (Role.admin, "changing schedules"),
    "secrets": (Role.admin, "changing secrets"),
    "notifications": (Role.admin, "changing notification channels"),
    "users": (Role.admin, "managing users"),
    "audit": (Role.admin, "the audit log"),
}
NEEDS = {action: role for action, (role, _) in RULES.items()}
WHAT = {action: what for action, (_, what) in RULES.items()}


@dataclass(frozen=True)
class Actor:
    """A signed-in person (or a token's owner) as a request or a page sees them."""

    id: int
    name: str
    role: Role
    source: str | None = None  # from where: an address, "token <label>", "cli"


def may(role: Role, action: str) -> bool:
    return RANK[role] >= RANK[NEEDS[action]]


def require(actor: Actor, action: str, *, job_id: int | None = None,
            target: str | None = None) -> None:
    """Forbidden (recorded in the audit log) unless the actor's role allows the action."""
    if may(actor.role, action):
        return
    article = "an" if actor.role.value[0] in "aeiou" else "a"
    refusal = (f"{actor.name} is {article} {actor.role.value}: {WHAT[action]} needs the "
               f"{NEEDS[action].value} role (an admin can change roles)")
    audit.record(actor.name, f"{action}_refused", job_id=job_id, target=target,
                 source=actor.source, comment=refusal)
    raise Forbidden(refusal)


def four_eyes_forbids(action: JobAction | str, *, started_by: str | None, actor: str,
                      four_eyes: bool) -> bool:
    """The four-eyes rule: whoever started a job may not approve or reject it
    (JOBDECK_FOUR_EYES=false turns it off for one-person installations)."""
    return four_eyes and JOB_ACTIONS[JobAction(action)].decision and started_by == actor
