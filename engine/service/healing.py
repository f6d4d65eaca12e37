"""Selectors that heal (docs/recovery.md): steps that succeeded only through a later
candidate of their selector list, or only after retries; across a runbook's recent jobs,
how often each candidate won; and a new runbook version with the candidate that won most
put first, shown as a diff before it is saved.

A step's candidates are read from each job's own YAML (a job keeps the YAML it ran), so a
win counts for the candidate itself, wherever a later version lists it."""

from dataclasses import dataclass, field
from typing import NamedTuple

from sqlalchemy import or_
from sqlmodel import col, select

from engine.errors import Conflict, InvalidInput, NotFound
from engine.identity import audit
from engine.identity.access import Actor, require
from engine.runbook import Runbook as RunbookSpec
from engine.runbook import RunbookInvalid, Step, stored_runbook
from engine.runbook.actions import ACTIONS
from engine.runbook.rewrite import reorder_selector, unified_diff
from engine.runner.locate import describe
from engine.service import runbooks
from engine.store.db import read_scope
from models import ErrorKind, Job, JobStatus, Runbook, StepRun, StepStatus

NOTE_JOBS = 5  # a healed step's note looks this many of the runbook's jobs back
MAX_JOBS = 200  # the most jobs a suggestion may look back over
FINAL = (JobStatus.completed, JobStatus.failed, JobStatus.cancelled)
NOT_FOUND_KINDS = (ErrorKind.element_not_found.value, ErrorKind.element_ambiguous.value)
# Only what the notes need: not the rows' captures, diagnostics or params (JSON)
JOB_COLUMNS = (col(Job.id), col(Job.runbook_id), col(Job.runbook_name), col(Job.source))


class _Run(NamedTuple):
    """The columns of a step run the notes read."""

    id: int
    job_id: int
    name: str
    candidate: int | None
    selector_used: str | None
    status: StepStatus
    retries: int
    error_kind: str | None


RUN_COLUMNS = tuple(col(getattr(StepRun, name)) for name in _Run._fields)


@dataclass(frozen=True)
class HealNote:
    """Why a step row is marked healed: `position` (1-based) of the `winner` candidate in
    the job's selector list (1 with no later candidate: it only needed `retries` rounds
    after the first), the `first` candidate's text, and in how many (`first_failed`) of
    the `runs` (at most NOTE_JOBS) recent jobs that tried it the first candidate failed."""

    step_run_id: int
    step: str
    winner: str | None
    position: int
    first: str | None
    first_failed: int
    runs: int
    retries: int

    def text(self) -> str:
        """'healed: 2nd candidate `role=button name="Login"` won; 1st `#login-btn` failed
        in 4 of the last 5 runs', or 'healed after 2 retries'."""
        after = f" after {self.retries} retr{'y' if self.retries == 1 else 'ies'}" \
            if self.retries else ""
        if self.position == 1:
            return f"healed{after}"
        text = f"healed: {ordinal(self.position)} candidate `{self.winner}` won{after}"
        if self.first is not None and self.runs:
            text += (f"; 1st `{self.first}` failed in {self.first_failed} of the last "
                     f"{self.runs} run{'s' if self.runs > 1 else ''}")
        return text


@dataclass(frozen=True)
class CandidateWins:
    """One candidate of a step's current selector list: its text, its written position
    (1-based) and in how many of the jobs looked at it won."""

    candidate: str
    position: int
    wins: int


@dataclass(frozen=True)
class Suggestion:
    """A step whose later candidate won more often than its first in the last `jobs`
    jobs that resolved it: each candidate's wins (in written order), and the `proposed`
    order (written positions, 1-based: most wins first, ties in written order)."""

    step: str
    candidates: list[CandidateWins]
    proposed: list[int]
    jobs: int
    winner: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "winner", self.candidates[self.proposed[0] - 1].candidate)


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th … 11th, 12th, 13th, 21st."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def healed_steps(job_id: int) -> dict[int, HealNote]:
    """The job's steps that succeeded through a later selector candidate or only after
    retries, by step run id; {} for none (or no such job). Rows a retried job restored
    from another job are not its own and are left out."""
    with read_scope() as session:
        job = session.exec(select(*JOB_COLUMNS).where(Job.id == job_id)).first()
        if job is None:
            return {}
        healed = [_Run(*r) for r in session.exec(select(*RUN_COLUMNS).where(
            StepRun.job_id == job_id, StepRun.status == StepStatus.success,
            col(StepRun.restored_from).is_(None),
            or_(col(StepRun.candidate) > 0, col(StepRun.retries) > 0)))]
        if not healed:
            return {}
        recent = session.exec(select(*JOB_COLUMNS).where(
            Job.runbook_id == job.runbook_id, col(Job.id) <= job_id,
            or_(col(Job.id) == job_id, col(Job.status).in_(FINAL)))
            .order_by(col(Job.id).desc()).limit(NOTE_JOBS)).all()
        history = session.exec(select(*RUN_COLUMNS).where(
            col(StepRun.job_id).in_([j.id for j in recent]),
            col(StepRun.name).in_({row.name for row in healed}),
            col(StepRun.restored_from).is_(None))).all()
    parse = _Parser()
    lists = {j.id: parse(j.source, j.runbook_name) for j in recent}  # once per job
    by_step: dict[tuple[int, str], list[_Run]] = {}
    for run in (_Run(*r) for r in history):  # grouped once, not filtered per row and job
        by_step.setdefault((run.job_id, run.name), []).append(run)
    own = lists.get(job_id) or parse(job.source, job.runbook_name)
    counted: dict[tuple[str, str], tuple[int, int]] = {}  # (step, first) -> (failed, runs)
    notes = {}
    for row in healed:
        cands = own.get(row.name, [])
        won = _won(cands, row)
        if won is None and not row.retries:  # resolved through another key (drag's `to`)
            continue
        index = row.candidate if won is not None and row.candidate is not None else 0
        first = cands[0] if index > 0 else None
        failed = runs = 0
        if first is not None:
            key = (row.name, repr(first))  # the same for every row of the step
            if key not in counted:
                outcomes = [_first_failed(first, lists[j.id].get(row.name, []),
                                          by_step.get((j.id, row.name), [])) for j in recent]
                counted[key] = (sum(o for o in outcomes if o), sum(o is not None
                                                                   for o in outcomes))
            failed, runs = counted[key]
        notes[row.id] = HealNote(
            row.id, row.name, row.selector_used or (describe(won) if won else None),
            index + 1, describe(first) if first is not None else None, failed, runs,
            row.retries)
    return notes


def healing_suggestions(runbook_name: str, last: int = 20) -> list[Suggestion]:
    """The steps of the runbook's current version whose later selector candidate won more
    often than the first across its `last` finished jobs (1-MAX_JOBS), in step order.
    NotFound for no such runbook; InvalidInput for `last` out of range."""
    if not 1 <= last <= MAX_JOBS:
        raise InvalidInput(f"last is how many jobs to look back over: 1 to {MAX_JOBS}")
    row, spec = _current(runbook_name)
    lists = _steps_with_lists(spec)
    if not lists:
        return []
    with read_scope() as session:
        recent = session.exec(select(*JOB_COLUMNS).where(
            Job.runbook_id == row.id, col(Job.status).in_(FINAL))
            .order_by(col(Job.id).desc()).limit(last)).all()
        runs = session.exec(select(StepRun.job_id, StepRun.name, StepRun.candidate).where(
            col(StepRun.job_id).in_([j.id for j in recent]), col(StepRun.name).in_(lists),
            col(StepRun.candidate).is_not(None), col(StepRun.restored_from).is_(None))).all()
    runs_of: dict[int, list[tuple[str, int]]] = {}
    for job_id, name, candidate in runs:
        runs_of.setdefault(job_id, []).append((name, candidate))
    parse = _Parser()
    won: dict[str, dict[int, set[int]]] = {}  # step -> current position -> job ids
    for job in recent:
        if job.id not in runs_of:
            continue
        theirs = parse(job.source, job.runbook_name)
        for name, candidate in runs_of[job.id]:
            cands = theirs.get(name, [])
            current = lists[name][0].args["selector"]
            if 0 <= candidate < len(cands) and cands[candidate] in current:
                won.setdefault(name, {}).setdefault(
                    current.index(cands[candidate]), set()).add(job.id)
    found = []
    for name, (step, _path) in lists.items():
        wins = won.get(name, {})
        counts = [len(wins.get(i, ())) for i in range(len(step.args["selector"]))]
        order = sorted(range(len(counts)), key=lambda i: -counts[i])  # stable: written order
        if order[0] != 0:
            found.append(Suggestion(name, [
                CandidateWins(describe(c), i + 1, counts[i])
                for i, c in enumerate(step.args["selector"])],
                [i + 1 for i in order], len(set().union(*wins.values()))))
    return found


def preview_healing(runbook_name: str, step_name: str, last: int = 20) -> tuple[str, str]:
    """(the runbook's YAML with the step's candidates in the suggested order, the unified
    diff from the current YAML). Only the list's lines change; comments and layout stay.
    NotFound: no such runbook; InvalidInput: no such step; Conflict: nothing to apply
    (no suggestion for the step, or it changed so that its candidates are gone)."""
    row, _spec, _suggestion, new = _plan(runbook_name, step_name, last)
    return new, unified_diff(row.source, new, f"{runbook_name}.yaml")


def apply_healing(runbook_name: str, step_name: str, *, by: Actor, source: str | None = None,
                  last: int = 20) -> int:
    """Store the runbook with the step's winning candidate first, as a new version, and
    audit it (`healing_applied`); returns the new version number. `source`: the new YAML
    the person saw (preview_healing); when given, Conflict if the preview is no longer
    that. Forbidden below the role access.RULES gives `heal` (audited as `heal_refused`);
    the errors of preview_healing; RunbookInvalid when the result does not validate; StorageFull."""
    require(by, "heal", target=f"runbook {runbook_name}")
    row, _spec, suggestion, new = _plan(runbook_name, step_name, last)
    if source is not None and source != new:
        raise Conflict(f'runbook "{runbook_name}" changed since this diff was made: look at '
                       "the new diff and apply again")
    winner = suggestion.candidates[suggestion.proposed[0] - 1]
    first = suggestion.candidates[0]

    def audited(session, saved: runbooks.SavedRunbook) -> None:  # in the same transaction
        audit.record(by.name, "healing_applied", target=f"runbook {runbook_name}",
                     source=by.source, before=f"version {row.version}",
                     after=f"version {saved.runbook.version}",
                     comment=f'step "{step_name}": `{winner.candidate}` first (won in '
                     f"{winner.wins} of the last {suggestion.jobs} jobs), before `"
                     f"{first.candidate}` (won in {first.wins})", session=session)

    try:  # stored only over the version the plan was made from
        saved = runbooks.add_runbook(new, f"{runbook_name}.yaml",
                                     expected_version=row.version, then=audited)
    except Conflict:
        raise Conflict(f'runbook "{runbook_name}" changed just now: look at the new diff '
                       "and apply again") from None
    return saved.runbook.version


def _plan(runbook_name: str, step_name: str, last: int
          ) -> tuple[Runbook, RunbookSpec, Suggestion, str]:
    row, spec = _current(runbook_name)
    everything = _all_steps(spec.steps, [])
    if step_name not in everything:
        raise InvalidInput(f'runbook "{runbook_name}" has no step named "{step_name}"')
    suggestion = next((s for s in healing_suggestions(runbook_name, last)
                       if s.step == step_name), None)
    if suggestion is None:
        raise Conflict(f'nothing to apply to step "{step_name}": in the last {last} jobs no '
                       "later candidate of its selector list won more often than its first "
                       "(or the runbook changed since and no longer lists it)")
    _step, path = everything[step_name]
    new = reorder_selector(row.source, path, [p - 1 for p in suggestion.proposed])
    return row, spec, suggestion, new


def _current(runbook_name: str) -> tuple[Runbook, RunbookSpec]:
    row = runbooks.get_runbook(runbook_name)
    if row is None:
        raise NotFound(f'there is no runbook named "{runbook_name}"')
    try:
        return row, stored_runbook(row.source, f"{row.name}.yaml")
    except RunbookInvalid as exc:  # stored under older rules: nothing can be worked out
        raise Conflict(f'runbook "{runbook_name}" no longer validates: {exc}') from None


def _all_steps(steps: list[Step], path: list[int]) -> dict[str, tuple[Step, list[int]]]:
    """Every step by name, nested ones too, with its 0-based path through `steps` lists."""
    found: dict[str, tuple[Step, list[int]]] = {}
    for index, step in enumerate(steps):
        found[step.name] = (step, [*path, index])
        found.update(_all_steps(step.steps, [*path, index]))
    return found


def _steps_with_lists(spec: RunbookSpec) -> dict[str, tuple[Step, list[int]]]:
    """The steps whose selector lists more than one candidate."""
    return {name: (step, path) for name, (step, path) in _all_steps(spec.steps, []).items()
            if len(_selector(step)) > 1}


def _selector(step: Step) -> list[dict]:
    value = step.args.get("selector")
    return value if isinstance(value, list) else []


class _Parser:
    """Each step's selector candidates as a job's own YAML wrote them, parsed once per
    text (the jobs of one version share it). A step with another selector key (drag's
    `to`) is left out: its run records the candidate of the key resolved last."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, list[dict]]] = {}

    def __call__(self, source: str, runbook_name: str) -> dict[str, list[dict]]:
        if source not in self._seen:
            self._seen[source] = _candidate_lists(source, runbook_name)
        return self._seen[source]


def _candidate_lists(source: str, runbook_name: str) -> dict[str, list[dict]]:
    try:
        spec = stored_runbook(source, f"{runbook_name}.yaml")
    except RunbookInvalid:
        return {}
    return {name: _selector(step) for name, (step, _) in _all_steps(spec.steps, []).items()
            if not _other_selectors(step)}


def _other_selectors(step: Step) -> bool:
    action = ACTIONS.get(step.action)
    return action is not None and any(
        key != "selector" and action.kind(key) == "selector" for key in step.args)


def _first_failed(first: dict, cands: list[dict], runs: list["_Run"]) -> int | None:
    """1 when a job's runs of a step tried `first` and it failed, 0 when it resolved,
    None when they did not try it (not run, not listed, an earlier candidate won)."""
    if first not in cands:
        return None
    at = cands.index(first)
    outcome = None
    for run in runs:
        won = _won(cands, run)
        if won is not None and run.candidate is not None and run.candidate > at:
            return 1
        if won is not None and run.candidate == at:
            outcome = 0
        elif run.status == StepStatus.failed and run.error_kind in NOT_FOUND_KINDS:
            return 1
    return outcome


def _won(cands: list[dict], run: "_Run") -> dict | None:
    """The candidate of `cands` that resolved the run, by the index the runner recorded
    (its rendered text may differ from the written one: a template); None when none did."""
    if run.candidate is None or not 0 <= run.candidate < len(cands):
        return None
    return cands[run.candidate]
