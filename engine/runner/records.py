"""What a running job writes: step rows, job progress and the end; each write then an event.

The job's figures (steps done, succeeded, failed, skipped, cancelled, retries) follow one
rule, `step_figures`: the row is brought up to date as each step run ends, and the job's
end computes them again from the step rows with the same rule (docs/console.md, "What the
figures mean")."""

from datetime import datetime
from typing import Any, Iterable, NamedTuple

from sqlalchemy import insert, update
from sqlmodel import col, select

from engine.bus import events
from engine.store.db import session_scope
from engine.store.transitions import transition_job
from models import ErrorKind, Job, JobStatus, StepRun, StepStatus, utcnow

# A top-level step that ended counts in exactly one of these, by how it ended.
COUNTED_AS = {StepStatus.success: "steps_succeeded", StepStatus.failed: "steps_failed",
              StepStatus.skipped: "steps_skipped", StepStatus.cancelled: "steps_cancelled"}
FIGURES = ("steps_done", *COUNTED_AS.values(), "retry_count")
# A row of what a person did by hand (take control, engine/runner/takeover.py): shown in
# the timeline, but not one of the runbook's steps, so it counts in no figure.
BY_HAND = "take_control"


class RowPlace(NamedTuple):
    """What engine.store.snapshots.row_path needs of a row to tell its path."""

    name: str
    parent_id: int | None
    iteration: int | None


def step_figures(step: StepRun) -> dict[str, int]:
    """What one step run adds to its job's figures, by FIGURES name.

    A top-level step counts once, by how it ended: a repeat or a for_each is one step (as
    a person reads the runbook), its nested runs count only in `retry_count`, which adds up
    every run's retries. `steps_done` counts the top-level steps reached: ended, and
    started (a step skipped because the job had stopped never started)."""
    add = dict.fromkeys(FIGURES, 0)
    if step.action == BY_HAND:
        return add
    add["retry_count"] = step.retries
    if step.parent_id is None and step.status in COUNTED_AS:
        add[COUNTED_AS[step.status]] = 1
        add["steps_done"] = int(step.started_at is not None)
    return add


def job_figures(steps: Iterable[StepRun]) -> dict[str, int]:
    """The job's figures from all its step rows (the sum of `step_figures`)."""
    total = dict.fromkeys(FIGURES, 0)
    for step in steps:
        for name, value in step_figures(step).items():
            total[name] += value
    return total


class JobRecorder:
    """Records one job's progress; every change is committed before it is published."""

    def __init__(self, job_id: int, bus: events.EventBus):
        self.job_id = job_id
        self.bus = bus
        self.ordinal = 0
        self.places: dict[int, RowPlace] = {}  # each row's id -> its place (snapshot paths)

    @property
    def rows_started(self) -> int:
        """How many step rows the job has so far (started, skipped or restored): a
        snapshot's `rows` (engine/store/snapshots.py)."""
        return self.ordinal

    def record(self, session, kind: str, /, **data) -> events.Event:
        return events.record(session, kind, self.job_id, **data)

    # step_started and step_finished are the hot path (two per step): SQLAlchemy Core, no
    # reads, one transaction each (the row, the job's progress, the event); 2.4x cheaper in
    # CPU than the ORM's unit of work (docs/benchmarks.md).
    def step_started(self, name: str, action: str, description: str | None,
                     parent_id: int | None = None, iteration: int | None = None) -> StepRun:
        """A step starts running (or, with an approval, starts waiting for one): its row,
        and the job's current step when it is a top-level one."""
        step = self._new_row(name, action, description, parent_id, iteration,
                             StepStatus.running, utcnow())
        with session_scope() as session:
            db = session.connection()  # Core on the connection: no ORM bookkeeping
            self._insert(db, step)
            if parent_id is None:
                db.execute(update(Job).where(col(Job.id) == self.job_id)
                                .values(current_step=name))
            event = self.record(session, events.STEP_STARTED, step_run_id=step.id, name=name,
                                ordinal=step.ordinal, parent_id=parent_id)
        self.bus.publish(event)
        return step

    def step_finished(self, step: StepRun, status: StepStatus, **fields) -> StepRun:
        """Close a step: its status, duration (from its start, so an approval step's
        includes the wait) and whatever else was learnt; the job's figures with it."""
        step.status, step.finished_at = status, utcnow()
        step.duration_ms = _ms(step.started_at, step.finished_at)
        for key, value in fields.items():
            setattr(step, key, value)
        with session_scope() as session:
            db = session.connection()
            db.execute(update(StepRun).where(col(StepRun.id) == step.id).values(
                status=status, finished_at=step.finished_at, duration_ms=step.duration_ms,
                **fields))
            event = self._ended(session, step)
        self.bus.publish(event)
        return step

    def step_warning(self, step: StepRun, text: str) -> None:
        """A warning about a step learnt after its row was closed (its snapshot could not
        be taken or written): the row's warnings, then a step_finished event again so
        that the timeline shows it."""
        step.warnings = [*step.warnings, text]
        with session_scope() as session:
            session.connection().execute(update(StepRun).where(col(StepRun.id) == step.id)
                                         .values(warnings=step.warnings))
            event = self.record(session, events.STEP_FINISHED, step_run_id=step.id,
                                name=step.name, ordinal=step.ordinal,
                                status=step.status.value, duration_ms=step.duration_ms,
                                parent_id=step.parent_id)
        self.bus.publish(event)

    def step_skipped(self, name: str, action: str, description: str | None,
                     parent_id: int | None = None, iteration: int | None = None,
                     reached: bool = True) -> StepRun:
        """A step that does not run: its condition was false (`reached`), or the job had
        stopped before it (not reached: no start time). It has no duration."""
        now = utcnow()
        step = self._new_row(name, action, description, parent_id, iteration,
                             StepStatus.skipped, now if reached else None)
        step.finished_at = now
        with session_scope() as session:
            self._insert(session.connection(), step)
            event = self._ended(session, step)
        self.bus.publish(event)
        return step

    def step_done(self, name: str, action: str, description: str | None,
                  started_at: datetime, status: StepStatus = StepStatus.success) -> StepRun:
        """A row for something that already happened from `started_at` until now (a
        takeover by hand): inserted finished, with its step_started and step_finished
        events, in one transaction; the job's current step is left as it was."""
        step = self._new_row(name, action, description, None, None, status, started_at)
        step.finished_at = utcnow()
        step.duration_ms = _ms(started_at, step.finished_at)
        with session_scope() as session:
            self._insert(session.connection(), step)
            started = self.record(session, events.STEP_STARTED, step_run_id=step.id,
                                  name=name, ordinal=step.ordinal, parent_id=None)
            ended = self._ended(session, step)
        self.bus.publish(started)
        self.bus.publish(ended)
        return step

    def _new_row(self, name, action, description, parent_id, iteration, status,
                 started_at) -> StepRun:
        self.ordinal += 1
        return StepRun(job_id=self.job_id, ordinal=self.ordinal, name=name, action=action,
                       description=description, parent_id=parent_id, iteration=iteration,
                       status=status, started_at=started_at, captures={}, diagnostics={})

    def rows_restored(self, rows: list[StepRun], parents: dict[int, int],
                      from_job: int) -> list[StepRun]:
        """Copy another job's step rows (`rows`, oldest first, each after its parent) into
        this one as they ended, each under its parent's copy and marked `restored_from`
        = `from_job`; they count in the job's figures as they did there. `parents` maps
        an old row id -> this job's row id and is extended here with each copy. Returns
        the copies, in order. One INSERT of all the rows, one UPDATE of the figures and
        one event (STEPS_RESTORED, with the copies' ids) in one transaction."""
        if not rows:
            return []
        copied: list[StepRun] = []
        with session_scope() as session:
            db = session.connection()
            for old in rows:  # ids are needed for the children's parent_id: one by one
                step = StepRun(**old.model_dump(exclude={"id", "job_id", "ordinal",
                                                         "parent_id", "restored_from"}))
                self.ordinal += 1
                step.job_id, step.ordinal, step.restored_from = self.job_id, self.ordinal, from_job
                step.parent_id = parents[old.parent_id] if old.parent_id is not None else None
                self._insert(db, step)
                assert old.id is not None and step.id is not None
                parents[old.id] = step.id
                copied.append(step)
            add = job_figures(copied)
            figures = db.execute(
                update(Job).where(col(Job.id) == self.job_id)
                .values({name: getattr(Job, name) + add[name] for name in FIGURES})
                .returning(*(getattr(Job, name) for name in FIGURES))).one()._asdict()
            event = self.record(session, events.STEP_FINISHED, step_run_id=copied[-1].id,
                                name=copied[-1].name, ordinal=copied[-1].ordinal,
                                status=copied[-1].status.value,
                                duration_ms=copied[-1].duration_ms,
                                parent_id=copied[-1].parent_id, restored=len(copied),
                                steps_done=figures.pop("steps_done"), metrics=figures)
        self.bus.publish(event)
        return copied

    def _insert(self, db, step: StepRun) -> None:
        values = step.model_dump(exclude={"id"})
        step.id = db.execute(insert(StepRun).values(**values)
                             .returning(col(StepRun.id))).scalar_one()
        self.places[step.id] = RowPlace(step.name, step.parent_id, step.iteration)

    def _ended(self, session, step: StepRun) -> events.Event:
        """The job's figures with this step counted (one UPDATE, in the step's
        transaction), and the step_finished event, which carries them."""
        add = step_figures(step)
        figures = session.connection().execute(
            update(Job).where(col(Job.id) == self.job_id)
            .values({name: getattr(Job, name) + add[name] for name in FIGURES})
            .returning(*(getattr(Job, name) for name in FIGURES))).one()._asdict()
        return self.record(session, events.STEP_FINISHED, step_run_id=step.id,
                           name=step.name, ordinal=step.ordinal, status=step.status.value,
                           duration_ms=step.duration_ms, parent_id=step.parent_id,
                           steps_done=figures.pop("steps_done"), metrics=figures)

    def set_status(self, status: JobStatus, **data) -> None:
        """A status change of the running job (paused, running again, waiting)."""
        with session_scope() as session:
            transition_job(session, self.job_id, status)
            event = self.record(session, events.JOB_STATUS, status=status.value, **data)
        self.bus.publish(event)

    def job_finished(self, status: JobStatus, error_kind: ErrorKind | None = None,
                     error_message: str | None = None) -> Job:
        """Final status; the figures confirmed from the step rows (the same rule)."""
        with session_scope() as session:
            steps = session.exec(select(StepRun).where(StepRun.job_id == self.job_id))
            figures: dict[str, Any] = job_figures(steps)  # Any: for transition_job's **fields
            job = session.get(Job, self.job_id)
            finished = utcnow()
            job = transition_job(
                session, self.job_id, status, finished_at=finished,
                duration_ms=_ms(job.started_at, finished), current_step=None,
                lease_expires_at=None,
                error_kind=error_kind.value if error_kind else None, error_message=error_message,
                **figures)
            event = self.record(session, events.JOB_STATUS, status=status.value)
        self.bus.publish(event)
        return job


def _ms(start: datetime | None, end: datetime | None) -> int | None:
    return int((end - start).total_seconds() * 1000) if start and end else None
