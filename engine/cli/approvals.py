"""Approval steps in `main.py run`: a y/n question in a terminal, and in a script a notice
that says what the job waits for and how to decide, repeated while it waits, so that a
run waiting for a person never looks hung."""

import threading
import time

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from engine.bus import events
from engine.limits import excerpt
from engine.service.job_actions import other_approvers
from engine.settings import Settings
from models import JOB_ACTIONS, JobAction, JobStatus

REMIND_EVERY_S = 60.0  # calm enough for a CI log, often enough to show it is alive


def ask(console: Console, progress: Progress):
    """An approver for the runner that asks y/n here. The progress bar redraws itself
    several times a second and would overwrite the question: it stops while asking."""
    def approver(step) -> str:
        message = step.approval.get("message") or f'Run step "{step.name}"?'
        progress.stop()
        try:
            answer = console.input(f"[bold]Approval ({step.approval.get('risk')} risk):[/] "
                                   f"{escape(excerpt(message))} \\[y/n] ")
        finally:
            progress.start()
        return "approve" if answer.strip().lower() in ("y", "yes") else "reject"
    return approver


class WaitNotice:
    """Follows one job's events: on an approval request it prints the job, the step, the
    message and how to decide, then a short line every `every_s` seconds until the job
    leaves waiting_for_approval (and the decision when it does). `close()` ends it."""

    def __init__(self, job_id: int, console: Console, settings: Settings,
                 every_s: float = REMIND_EVERY_S, started_by: str | None = None):
        self.job_id, self.console, self.settings, self.every_s = (job_id, console, settings,
                                                                  every_s)
        self.started_by = started_by  # who may not decide (four eyes)
        self._decided = threading.Event()
        self._reminder: threading.Thread | None = None

    def on_event(self, event: events.Event) -> None:
        if event.job_id != self.job_id:
            return
        if event.kind == events.APPROVAL_REQUESTED:
            self._requested(event.data)
        elif event.kind == events.JOB_STATUS and self._reminder is not None \
                and event.data.get("status") != JobStatus.waiting_for_approval.value:
            decision, by = event.data.get("decision"), event.data.get("by")
            self.close()
            if decision in ("approve", "reject"):
                done = JOB_ACTIONS[JobAction(decision)].done
                self._say(f"job {self.job_id}: {done} by {by or 'someone'}")
            elif decision == "timeout":
                self._say(f"job {self.job_id}: no one decided in time (approval_timeout_s)")

    def _requested(self, data: dict) -> None:
        self.close()  # a previous wait, if any, is over
        job, as_name = self.job_id, " --as NAME" if self.settings.four_eyes else ""
        message = data.get("message") or f'Run step "{data.get("step")}"?'
        self._say(f'job {job} is waiting for approval of step "{data.get("step")}" '
                  f"({data.get('risk')} risk): {excerpt(message)}\n"
                  f"  approve: python main.py jobs approve {job}{as_name}\n"
                  f"  reject:  python main.py jobs reject {job}{as_name}\n"
                  f"  or in the console: {self.settings.console_url}/jobs/{job}"
                  + self._who_may())
        self._decided = threading.Event()
        self._reminder = threading.Thread(target=self._remind, args=(self._decided,),
                                          name=f"approval-reminder-{job}", daemon=True)
        self._reminder.start()

    def _who_may(self) -> str:
        """Who may decide under four eyes; how to fix it when nobody may."""
        if not self.settings.four_eyes:
            return ""
        others = other_approvers(self.started_by)
        if others:
            return "\n  who may decide: " + ", ".join(others[:5])
        return ("\n  no other active user may approve it (four eyes): add one with "
                "python main.py users create NAME --role approver, or run with "
                "JOBDECK_FOUR_EYES=false")

    def _remind(self, decided: threading.Event) -> None:
        since = time.monotonic()
        while not decided.wait(self.every_s):
            waited = time.monotonic() - since
            self._say(f"still waiting for approval of job {self.job_id} "
                      f"({_minutes(waited)})")

    def _say(self, text: str) -> None:
        self.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def close(self) -> None:
        self._decided.set()
        self._reminder = None


def _minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f}m" if seconds >= 60 else f"{seconds:.0f}s"
