"""The job page's action buttons (only those available now), confirmations, the approval
dialog's decision, and the activity list."""

from nicegui import run, ui

from engine.errors import JobdeckError
from engine.identity.access import four_eyes_forbids
from engine.service import job_actions
from engine.settings import current_settings
from models import JOB_ACTIONS, AuditEvent, JobAction
from pages.ui.dialogs import lasting_dialog
from pages.ui.display import exact_time, relative_time
from pages.ui.identity import acting, allowed, viewer
from pages.ui.retry_dialog import open_retry_dialog
from pages.ui.start_job_dialog import open_rerun_dialog

A = JobAction
# How each job action looks: (label, icon, colour, needs a confirmation). Keyed by
# JobAction and looked up by str: a StrEnum member is its value.
BUTTONS: dict[str, tuple[str, str, str, bool]] = {
    A.approve: ("Approve", "check", "positive", False),
    A.reject: ("Reject", "close", "negative", True),
    A.pause: ("Pause", "pause", "amber-9", False),
    A.resume: ("Resume", "play_arrow", "primary", False),
    A.cancel: ("Cancel job", "block", "negative", True),
    A.rerun: ("Re-run", "replay", "primary", False),
    A.retry: ("Retry from step…", "restart_alt", "primary", False),
}
DONE: dict[str, str] = {
    A.approve: "Approved: the step runs now", A.reject: "Rejected: the job fails here",
    A.pause: "Pausing: the job stops before its next step", A.resume: "Resuming",
    A.cancel: "Cancelling: the running step is stopped"}


async def perform(job_id: int, action: str, comment: str | None = None) -> bool:
    """Carry out an action; tell the user what happened. True when it was accepted."""
    actor = await acting(action)
    if actor is None:
        return False
    try:
        result = await run.io_bound(job_actions.act, job_id, action, by=actor.name,
                                    source=actor.source, comment=comment)
    except JobdeckError as exc:
        ui.notify(str(exc), type="warning", multi_line=True)
        return False
    if result is None:  # the server is stopping
        return False
    if JOB_ACTIONS[A(action)].starts_job:  # a new job: show it
        ui.navigate.to(f"/jobs/{result.id}")
    else:
        ui.notify(DONE[action], type="positive")
    return True


def action_buttons(job_id: int, available: list[str], on_done, started_by: str | None, *,
                   title: str = "", refused: dict[str, str] | None = None) -> int:
    """The buttons this person may use now; how many. `refused`: action -> why it cannot
    be taken on this job after all (a retry without a snapshot): its button is shown
    disabled, the reason as its tooltip. `title`: the job's, for the Re-run dialog."""
    mine = [action for action in available if allowed(action)
            and not own_job(action, started_by)]
    for action in mine:
        label, icon, color, confirm = BUTTONS[action]

        async def click(a=action, needs=confirm) -> None:
            if a == A.rerun:
                await open_rerun_dialog(job_id, title)
            elif a == A.retry:
                await open_retry_dialog(job_id)
            elif needs:
                confirm_dialog(job_id, a, on_done)
            elif await perform(job_id, a):
                await on_done()

        why = (refused or {}).get(action)
        # a disabled button takes no pointer events: its wrapper shows why
        with ui.element("span").props(f'data-refused="{action}"' if why else ""):
            button = ui.button(label, icon=icon, color=color, on_click=click).props(
                f'unelevated no-caps data-action="{action}"').mark(f"action-{action}")
            if why:
                button.disable()
                ui.tooltip(why)
    return len(mine)


def confirm_dialog(job_id: int, action: str, on_done) -> None:
    label = BUTTONS[action][0]
    with lasting_dialog() as dialog, ui.card().classes("w-96").props(
            f'data-confirm="{action}"'):
        ui.label(f"{label}: are you sure?").classes("text-lg font-medium")
        ui.label("Cancelling stops the job now; artifacts so far are kept." if action ==
                 "cancel" else "The step fails and the rest of the job is skipped.").classes(
            "text-sm")
        comment = ui.input("Comment (optional)").classes("w-full")

        async def yes() -> None:
            dialog.close()
            if await perform(job_id, action, comment.value or None):
                await on_done()

        with ui.row().classes("w-full justify-end"):
            ui.button("Keep it", on_click=dialog.close).props("flat no-caps")
            ui.button(label, color="negative", on_click=yes).props(
                "unelevated no-caps data-confirm-yes").mark("confirm-yes")


def own_job(action: str, started_by: str | None) -> bool:
    """Four eyes: the viewer started this job, so they may not take this decision on it."""
    return four_eyes_forbids(action, started_by=started_by, actor=viewer().name,
                             four_eyes=current_settings().four_eyes)


def _four_eyes_note(others: list[str]) -> None:
    """Why the starter cannot decide, and, when nobody else can, how to fix that."""
    with ui.column().classes("gap-1 text-sm text-grey-8").mark("four-eyes"):
        if others:
            ui.label("You started this job: another approver decides on this step ("
                     + ", ".join(others[:5]) + ("…" if len(others) > 5 else "") + ").")
            return
        ui.label("You started this job, and no other active user may approve it: whoever "
                 "starts a job may not approve it (four eyes).")
        with ui.row().classes("gap-1 items-baseline"):
            ui.label("An admin adds an approver on")
            ui.link("Users", "/users")
            ui.label("or, for a one-person installation, runs Jobdeck with "
                     "JOBDECK_FOUR_EYES=false.")


def decision_buttons(job_id: int, dialog, on_done, started_by: str | None) -> None:
    """Approve/Reject in the approval dialog, with an optional comment; for those who may."""
    if not allowed("approve"):
        ui.label("An approver decides on this step.").classes("text-sm text-grey-8")
        ui.button("Close", on_click=dialog.close).props("flat no-caps")
        return
    if own_job(A.approve, started_by):
        _four_eyes_note(job_actions.other_approvers(started_by))
        ui.button("Close", on_click=dialog.close).props("flat no-caps")
        return
    comment = ui.input("Comment (optional)").classes("w-full")

    async def decide(action: str) -> None:
        if await perform(job_id, action, comment.value or None):
            dialog.close()
            await on_done()

    with ui.row().classes("w-full justify-end"):
        ui.button("Close", on_click=dialog.close).props("flat no-caps")
        ui.button("Reject", icon="close", color="negative",
                  on_click=lambda: decide("reject")).props("unelevated no-caps "
                                                          'data-decide="reject"')
        ui.button("Approve", icon="check", color="positive",
                  on_click=lambda: decide("approve")).props("unelevated no-caps "
                                                           'data-decide="approve"')


def activity(trail: list[AuditEvent]) -> None:
    if not trail:
        return
    with ui.column().classes("gap-0 text-sm"):
        ui.label("Activity").classes("text-xs text-grey-7")
        for event in trail:
            # audit actions include sign-ins etc.; a job action's str finds its StrEnum key
            rule = JOB_ACTIONS.get(event.action)  # type: ignore[call-overload]
            did = rule.done if rule else event.action.replace("_", " ")
            text = (f"{event.actor} · {did} · "
                    f"{relative_time(event.at)}")
            if event.comment:
                text += f" · “{event.comment}”"
            ui.label(text).tooltip(f"{exact_time(event.at)}: {event.status_before} → "
                                   f"{event.status_after or '…'}").props("data-activity")
