"""Who may do what: four roles, each allowed what the one before it is, and more.

The console shows only what a role may do; the API and the pages' handlers call `require`
before acting, so the server enforces it whatever a client sends.
"""

from dataclasses import dataclass

from engine.identity import audit
from models import Role

RANK = {Role.viewer: 0, Role.operator: 1, Role.approver: 2, Role.admin: 3}

# action -> the least role that may do it
NEEDS = {
    "view": Role.viewer,  # jobs, their steps, artifacts, runbooks, schedules
    "start": Role.operator, "pause": Role.operator, "resume": Role.operator,
    "cancel": Role.operator, "rerun": Role.operator,
    "approve": Role.approver, "reject": Role.approver,
    "runbooks": Role.admin, "schedules": Role.admin, "secrets": Role.admin,
    "users": Role.admin, "audit": Role.admin,
}

WHAT = {  # for messages: "<name> is a viewer: starting jobs needs the operator role"
    "view": "seeing jobs", "start": "starting jobs", "pause": "pausing jobs",
    "resume": "resuming jobs", "cancel": "cancelling jobs", "rerun": "re-running jobs",
    "approve": "approving steps", "reject": "rejecting steps",
    "runbooks": "changing runbooks", "schedules": "changing schedules",
    "secrets": "changing secrets", "users": "managing users", "audit": "the audit log",
}


@dataclass(frozen=True)
class Actor:
    """A signed-in person (or a token's owner) as a request or a page sees them."""

    id: int
    name: str
    role: Role
    source: str | None = None  # from where: an address, "token <label>", "cli"


class Forbidden(PermissionError):
    """The actor's role does not allow the action; nothing was changed."""


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
