"""Retry from step N (docs/recovery.md): a failed or cancelled job's steps one may resume
from, and a new job that restores the browser state the old one had reached just before
that step and runs on from there (the runner's side: engine/runner/resume.py)."""

import difflib
from contextlib import ExitStack
from dataclasses import dataclass
from itertools import islice
from typing import cast

from sqlmodel import col, select

from engine.errors import ActionRefused, InvalidInput, NotFound
from engine.identity import audit
from engine.runbook import Runbook as RunbookSpec
from engine.runbook import stored_runbook
from engine.runner.records import BY_HAND
from engine.service.job_files import discard_files, files_of_job
from engine.service.jobs import (
    InvalidParams,
    add_queued,
    published_and_queued,
    resolve_params,
)
from engine.service.runbooks import refuse_archived
from engine.settings import current_settings
from engine.store.db import read_scope, session_scope
from engine.store.disk import storage_guard
from engine.store.snapshots import (
    SnapshotInfo,
    ancestry,
    list_snapshots,
    row_path,
    snapshot_dir,
)
from models import (
    JOB_ACTIONS,
    Job,
    JobAction,
    JobStatus,
    Runbook,
    StepRun,
    StepStatus,
    Trigger,
    utcnow,
)

RETRYABLE = JOB_ACTIONS[JobAction.retry].statuses
VERSIONS = ("old", "new")


@dataclass
class RetryPoint:
    ordinal: int  # the old job's step row ordinal
    name: str  # step name
    place: str  # "" or "item 3" / "iteration 2" (where in loops)
    status: str  # the old row's status value
    path: list


@dataclass
class RetryOptions:
    points: list[RetryPoint]  # steps one may retry from, in order (up to the failed one)
    # where a retry starts without a step: the failed step (or the cancelled one, or the
    # first not run); when its state was not kept, the last point before it. Always one
    # of `points` (None: there are none).
    default: int | None
    refused: str | None  # why retry is impossible for this job at all, else None
    job_version: int
    current_version: int
    diff: str  # unified diff old -> current runbook YAML ("" if same)


@dataclass
class _Plan:
    job: Job
    rows: list[StepRun]
    options: RetryOptions
    last: int  # the failed step's ordinal: a retry may start there or before (0: no steps)
    snapshots: dict[int, SnapshotInfo | None]  # point ordinal -> snapshot to restore
    current: Runbook | None


def _place(by_id: dict, row: StepRun) -> str:
    """Where a row sits in loops, outermost first: "item 3, iteration 2"."""
    chain = [*ancestry(by_id, row), row]
    return ", ".join(f"{'item' if loop.action == 'for_each' else 'iteration'} "
                     f"{inner.iteration}" for loop, inner in zip(chain, chain[1:]))


def _ancestors(by_id: dict, row: StepRun) -> set[int]:
    return {a.id for a in ancestry(by_id, row)}


def _restorable(rows: list[StepRun], by_id: dict, snaps: list[SnapshotInfo],
                until: int) -> dict[int, SnapshotInfo | None]:
    """Row ordinal -> the snapshot holding the state just before that row (None: the row
    needs none), for each row up to ordinal `until` whose state was kept: the last
    snapshot before it, with no step succeeding between that one and the row but the loops
    around the row (a snapshot that could not be saved, or a person's work by hand, leaves
    such a gap). One pass over `rows` (in ordinal order) and `snaps` (oldest first)."""
    kept: dict[int, SnapshotInfo | None] = {}
    snap: SnapshotInfo | None = None
    waiting = iter(snaps)
    coming = next(waiting, None)
    succeeded: list[StepRun] = []  # the rows that succeeded so far, in order
    since = 0  # succeeded[since:]: those after `snap` was taken
    for row in rows:
        if row.ordinal > until:
            break
        while coming is not None and coming.rows <= row.ordinal - 1:  # restore_point's rule
            snap, coming = coming, next(waiting, None)
        while since < len(succeeded) and succeeded[since].ordinal <= (snap.rows if snap else 0):
            since += 1
        around = _ancestors(by_id, row)
        # looking back, the first row that is not a loop around this one settles it: at
        # most a few (the loops' depth) are looked at
        if all(r.id in around for r in islice(reversed(succeeded), len(succeeded) - since)):
            kept[row.ordinal] = snap
        if row.status == StepStatus.success:
            succeeded.append(row)
    return kept


def retry_refusal(job: Job) -> str | None:
    """Why `job` cannot be retried at all (None: it can), without working out where from:
    its status, its runbook's settings.resume (parsed once per process), and whether it
    kept a snapshot or needs none (no step of it succeeded, so it resumes at its start).
    For the job page's button; a few database rows and a folder's listing: call it off
    the UI loop. RunbookInvalid when the job's YAML no longer reads."""
    with read_scope() as session:
        return _refusal(session, job)


def _refusal(session, job: Job) -> str | None:
    status = job.status.value.replace("_", " ")
    if job.status not in RETRYABLE:
        return f"job {job.id} is {status}: only a failed or cancelled job can be retried"
    if not stored_runbook(job.source, f"{job.runbook_name}.yaml").settings.resume:
        return (f"job {job.id} ran with settings.resume: false, so it kept no browser state "
                "to resume from; re-run it instead")
    assert job.id is not None  # a stored job
    folder = snapshot_dir(current_settings().data_dir, job.id)
    if folder.is_dir() and next(folder.glob("*.snap"), None) is not None:
        return None
    if job.artifacts_deleted_at is not None:  # docs/retention.md
        return (f"job {job.id}'s browser snapshots were deleted by the retention sweep on "
                f"{job.artifacts_deleted_at:%Y-%m-%d} with its other files, so it cannot "
                "resume; re-run it instead (Keep a job to spare its files)")
    if session.exec(select(StepRun.id).where(StepRun.job_id == job.id,
                                             StepRun.status == StepStatus.success)
                    .limit(1)).first() is not None:
        return (f"job {job.id} has no browser snapshot to resume from (it ran before "
                "Jobdeck kept them, or its artifacts were deleted); re-run it instead")
    return None


def _plan(session, job_id: int) -> _Plan:
    job = session.get(Job, job_id)
    if job is None:
        raise NotFound(f"there is no job {job_id}")
    rows = list(session.exec(select(StepRun).where(StepRun.job_id == job_id)
                             .order_by(col(StepRun.ordinal))))
    by_id = {r.id: r for r in rows}
    current = session.get(Runbook, job.runbook_id)
    steps = [r for r in rows if r.action != BY_HAND]
    ended = [r for r in steps if r.status in (StepStatus.failed, StepStatus.cancelled)]
    not_run = [r for r in steps if r.parent_id is None and r.started_at is None]
    failed = (ended[-1] if ended else not_run[0] if not_run else
              steps[-1] if steps else None)
    last = failed.ordinal if failed else 0
    kept = _restorable(rows, by_id, list_snapshots(current_settings().data_dir, job_id), last)
    points = [RetryPoint(row.ordinal, row.name, _place(by_id, row), row.status.value,
                         row_path(by_id, row)) for row in steps if row.ordinal in kept]
    default = last if last in kept else points[-1].ordinal if points else None
    refused = _refusal(session, job) or (None if points else (
        f"job {job_id} has no step to retry from (it stopped before its first step); "
        "re-run it instead"))
    options = RetryOptions(points, default, refused, job.runbook_version,
                           current.version if current else job.runbook_version, "")
    return _Plan(job, rows, options, last, {p.ordinal: kept[p.ordinal] for p in points},
                 current)


def retry_options(job_id: int) -> RetryOptions:
    """What Retry from step N offers for a job: the steps one may resume from (each with
    its state kept), the default one, why retry is refused (None: it is not), and the
    runbook's diff since the job's version. NotFound for an unknown job."""
    with read_scope() as session:
        plan = _plan(session, job_id)
    job, current = plan.job, plan.current
    if current is not None and current.source != job.source:
        plan.options.diff = "".join(difflib.unified_diff(
            job.source.splitlines(keepends=True), current.source.splitlines(keepends=True),
            f"{job.runbook_name} version {job.runbook_version}",
            f"{job.runbook_name} version {current.version}"))
    return plan.options


def _chosen(plan: _Plan, from_step: str | int | None) -> StepRun:
    """The old row to resume at; InvalidInput for an unknown step, ActionRefused for one
    after the failed step or one whose state was not kept."""
    opts, job, last = plan.options, plan.job, plan.last
    names = list(dict.fromkeys(p.name for p in opts.points))
    hint = ", ".join(f'"{n}"' for n in names[:5]) + (", …" if len(names) > 5 else "")
    by_name = isinstance(from_step, str) and not (
        from_step.isdigit() and all(r.name != from_step for r in plan.rows))
    if from_step is None:
        found = [r for r in plan.rows if r.ordinal == opts.default]
    elif by_name:
        found = [r for r in plan.rows if r.name == from_step and r.ordinal <= last][-1:]
        later = any(r.name == from_step for r in plan.rows) or any(
            s.name == from_step for s in _all_steps(stored_runbook(
                job.source, f"{job.runbook_name}.yaml").steps))
        if not found and not later:
            raise InvalidInput(f'job {job.id} has no step "{from_step}"; steps it can '
                               f"retry from: {hint or 'none'}")
    else:
        found = [r for r in plan.rows if r.ordinal == int(from_step)]
        if not found:
            raise InvalidInput(f"job {job.id} has no step run {from_step} (it has "
                               f"{len(plan.rows)}); steps it can retry from: {hint}")
    failed = next((r for r in plan.rows if r.ordinal == last), None)
    what = f'the failed step "{failed.name}" (#{failed.ordinal})' if failed else "its end"
    if not found or found[0].ordinal > last:
        raise ActionRefused(f"step {from_step} of job {job.id} comes after {what}: retry "
                            f"from that step or an earlier one ({hint})")
    row = found[0]
    if row.action == BY_HAND:
        raise InvalidInput(f"step run {row.ordinal} is what a person did by hand, not a "
                           f"step of the runbook; retry from one of: {hint}")
    if row.ordinal not in plan.snapshots:
        raise ActionRefused(f'job {job.id} kept no browser state from just before step '
                            f'"{row.name}" (#{row.ordinal}): a snapshot after an earlier step '
                            "could not be saved, or a person worked the page by hand after "
                            f"the last one; retry from an earlier step ({hint}) or re-run "
                            "the job")
    return row


def _all_steps(steps: list) -> list:
    return [s for step in steps for s in (step, *_all_steps(step.steps))]


def _added_before(old: RunbookSpec, new: RunbookSpec, path: list) -> list[str]:
    """The steps `new` has before the path's steps (at each loop level) that `old` has
    not there: a retry with `new` would never run them."""
    added: list[str] = []
    olds, news = old.steps, new.steps
    for part in path[::2]:
        o = next((i for i, s in enumerate(olds) if s.name == part), len(olds))
        n = next((i for i, s in enumerate(news) if s.name == part), len(news))
        had = {s.name for s in olds[:o]}
        added += [s.name for s in news[:n] if s.name not in had]
        olds = olds[o].steps if o < len(olds) else []
        news = news[n].steps if n < len(news) else []
    return added


def _check_path(spec: RunbookSpec, path: list, version: int) -> None:
    """InvalidInput unless each step name of `path` is in `spec` where the path has it."""
    steps = spec.steps
    for part in path[::2]:
        step = next((s for s in steps if s.name == part), None)
        if step is None:
            raise InvalidInput(f'step "{part}" is not in version {version} of the runbook '
                               "where the old job had it; retry with the old version, or "
                               "from another step")
        steps = step.steps


def retry_job(job_id: int, from_step: str | int | None = None, version: str = "old", *,
              by: str = "someone", comment: str | None = None,
              source: str | None = None) -> Job:
    """A new queued job (trigger `retry`, retry_of the old one) that restores the browser
    state the failed or cancelled job `job_id` had just before `from_step` (a step name:
    its last run up to the failed step; or a step run's ordinal; None: RetryOptions.default,
    the failed step, or the last step before it whose state was kept)
    and runs on from there, with the same params and copies of its input files.
    `version`: "old" runs the old job's runbook source, "new" the runbook's current one.
    NotFound (no job), ActionRefused (not failed or cancelled, resume: false, no
    snapshot, a step after the failed one, "new" adding steps before it), InvalidInput
    (unknown step or version, a path not in the new version), InvalidParams,
    StorageFull."""
    if version not in VERSIONS:
        raise InvalidInput(f'version must be "old" or "new", not "{version}"')
    data_dir, job, files = current_settings().data_dir, None, None
    try:
        with storage_guard(data_dir), session_scope() as session, ExitStack() as opened:
            plan = _plan(session, job_id)
            old = plan.job
            if (runbook := session.get(Runbook, old.runbook_id)) is not None:
                refuse_archived(runbook)  # first: restoring it is the way on
            if plan.options.refused:
                raise ActionRefused(plan.options.refused)
            row = _chosen(plan, from_step)
            path = row_path(cast(dict, {r.id: r for r in plan.rows}), row)
            old_spec = stored_runbook(old.source, f"{old.runbook_name}.yaml")
            files, gone = files_of_job(data_dir, job_id, old_spec, old.params, opened)
            if gone:
                raise InvalidParams(f"job {job_id}'s file for {', '.join(gone)} is gone: "
                                    "start a new job and give the file again")
            texts = {k: v for k, v in old.params.items() if k not in files}
            params, spec, yaml, number = dict(old.params), old_spec, old.source, \
                old.runbook_version
            if version == "new" and plan.current is None:
                raise InvalidInput(f"runbook {old.runbook_name} no longer exists: retry "
                                   'with version "old"')
            if version == "new" and plan.current is not None:
                yaml, number = plan.current.source, plan.current.version
                spec = stored_runbook(yaml, f"{old.runbook_name}.yaml")
                _check_path(spec, path, number)
                if added := _added_before(old_spec, spec, path):
                    raise ActionRefused(
                        f"version {number} of the runbook adds steps before {row.name} "
                        f"({', '.join(added)}): they would not run; retry with the job's "
                        "version, or start the runbook again")
                params = resolve_params(spec, texts, files)
            else:
                resolve_params(spec, texts, files)  # secrets must still be set
            snap = plan.snapshots[row.ordinal]
            now = utcnow()
            job = Job(runbook_id=old.runbook_id, runbook_name=old.runbook_name,
                      runbook_title=old.runbook_title, runbook_version=number, source=yaml,
                      status=JobStatus.queued, trigger=Trigger.retry, started_by=by,
                      params=params, created_at=now, queued_at=now,
                      step_count=len(spec.steps), retry_of=old.id,
                      resume={"job": old.id, "from_ordinal": row.ordinal, "path": path,
                              "snapshot": snap.seq if snap else None, "version": version})
            event = add_queued(session, job, data_dir, files)
            audit.record(by, "retry", job_id=old.id, comment=comment, source=source,
                         before=old.status.value,
                         after=f'retried as job {job.id} from step "{row.name}" '
                               f"(#{row.ordinal}, version {number})", session=session)
    except BaseException:
        discard_files(data_dir, job.id if job else None, files)
        raise
    return published_and_queued(job, event)
