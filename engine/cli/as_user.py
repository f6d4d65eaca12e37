"""Who a terminal command acts as (`--as NAME`): a user of the console, checked like a
signed-in person (exists, active, role allows it), so the audit log and the four-eyes
rule see the same names from the terminal as from the console."""

from engine.errors import Forbidden, InvalidInput
from engine.identity import accounts
from engine.identity.access import Actor, require
from engine.settings import Settings
from models import JOB_ACTIONS, JobAction

NOBODY = "cli"  # who acts without --as (four eyes off, or not a decision on an approval)
SOURCE = "cli"


def acting_user(name: str | None, action: str, *, job_id: int | None = None) -> str:
    """The name to act as: the user called `name` when given, else NOBODY. Raises
    AccountError (no such user), Forbidden (disabled, or their role does not allow
    `action`; recorded in the audit log)."""
    if name is None:
        return NOBODY
    user = accounts.get_user(name)
    if user is None:
        raise accounts.AccountError(f'there is no user named "{name}" (see python main.py '
                                    "users list)")
    if user.disabled:
        raise Forbidden(f"{user.name} is disabled: an admin can enable them with "
                        f"python main.py users set {user.name} --enable")
    assert user.id is not None  # a row from the database
    require(Actor(id=user.id, name=user.name, role=user.role, source=SOURCE), action,
            job_id=job_id)
    return user.name


def decider(name: str | None, action: str, job_id: int, settings: Settings) -> str:
    """`acting_user` for a job action; a decision on an approval (approve, reject) while
    the four-eyes rule is on needs `--as`: the rule cannot tell people apart without it."""
    if name is None and settings.four_eyes and JOB_ACTIONS[JobAction(action)].decision:
        raise InvalidInput(f"say who you are to {action} job {job_id}: --as NAME (a user "
                           "who may approve and did not start the job; the four-eyes rule, "
                           "JOBDECK_FOUR_EYES, is on)")
    return acting_user(name, action, job_id=job_id)
