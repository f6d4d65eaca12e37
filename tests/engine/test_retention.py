"""Retention: the sweep deletes exactly the due jobs' files and Artifact rows, and nothing
of kept, running, waiting, baseline or being-retried jobs, nor any job, step or audit row;
the count limit; two sweeps at once; the lease; Keep; the settings."""

import threading

import pytest
from pydantic import ValidationError
from retention_seed import bytes_of, files_of, runbook, seed_job
from sqlalchemy import func
from sqlmodel import col, select

from engine.background.retention import RetentionSweeper
from engine.errors import Conflict, Forbidden
from engine.identity.access import Actor
from engine.service import recovery, retention
from engine.settings import Settings
from engine.store import retention as store
from engine.store.db import session_scope
from models import Artifact, AuditEvent, Job, JobStatus, Role, StepRun

S = JobStatus
OPERATOR = Actor(1, "olga", Role.operator, "test")
VIEWER = Actor(2, "vera", Role.viewer, "test")
THIRTY_DAYS = store.Rules(days=30, per_runbook=None)


def counts() -> tuple[int, int, int, int]:
    """(jobs, step rows, artifact rows, audit rows)."""
    with session_scope() as session:
        return tuple(session.exec(select(func.count()).select_from(table)).one()
                     for table in (Job, StepRun, Artifact, AuditEvent))  # type: ignore[return-value]


def artifact_jobs() -> set[int]:
    with session_scope() as session:
        return set(session.exec(select(Artifact.job_id).distinct()))


def swept_jobs() -> set[int]:
    with session_scope() as session:
        return set(session.exec(select(Job.id).where(
            col(Job.artifacts_deleted_at).is_not(None))))


@pytest.fixture
def seeded(runtime, settings):
    """Two runbooks' jobs: which are due under 30 days, and which are not, and why."""
    data = settings.data_dir
    alpha, beta = runbook("alpha"), runbook("beta")
    due = {
        "old completed": seed_job(data, alpha, "alpha", S.completed, 40),
        "old failed": seed_job(data, alpha, "alpha", S.failed, 41),
        "old cancelled": seed_job(data, alpha, "alpha", S.cancelled, 42),
        "beta old failed": seed_job(data, beta, "beta", S.failed, 50),
    }
    retried = seed_job(data, alpha, "alpha", S.failed, 43)
    spared = {
        "kept": seed_job(data, alpha, "alpha", S.completed, 45, keep=True),
        "running": seed_job(data, alpha, "alpha", S.running, 44),
        "waiting": seed_job(data, alpha, "alpha", S.waiting_for_approval, 46),
        "paused": seed_job(data, alpha, "alpha", S.paused, 47),
        "retried now": retried,  # its retry, queued, restores its snapshots
        "its retry": seed_job(data, alpha, "alpha", S.queued, 1, retry_of=retried),
        "young": seed_job(data, alpha, "alpha", S.completed, 2),
        # beta's newest completed job: the visual-change baseline, however old
        "beta baseline": seed_job(data, beta, "beta", S.completed, 45),
    }
    return due, spared


def test_the_sweep_deletes_exactly_the_due_files_and_rows(seeded, settings):
    due, spared = seeded
    data = settings.data_dir
    kept_files = {job: files_of(data, job) for job in spared.values()}
    assert kept_files[spared["kept"]] == ["001-after-open.png", "inputs/table/rows.csv",
                                          "snapshots/00001-00001.snap"]
    jobs, steps, artifacts, audited = counts()
    freed = sum(bytes_of(data, job) for job in due.values())

    ids, planned_bytes = store.planned(data, THIRTY_DAYS)
    assert (set(ids), planned_bytes) == (set(due.values()), freed)

    result = store.sweep(data, THIRTY_DAYS)
    assert sorted(result.job_ids) == sorted(due.values())
    assert result.bytes == freed and result.failed == []
    for job in due.values():
        assert not (data / "artifacts" / str(job)).exists()
    assert {job: files_of(data, job) for job in spared.values()} == kept_files
    # rows: only the due jobs' artifact rows went; jobs, steps and the audit log stay
    assert counts() == (jobs, steps, artifacts - 2 * len(due), audited)
    assert artifact_jobs() == set(spared.values())
    assert swept_jobs() == set(due.values())
    with session_scope() as session:
        job = session.get(Job, due["old failed"])
        assert job is not None and job.steps_succeeded == 0 and job.step_count == 1
        assert job.status == S.failed and job.finished_at is not None

    again = store.sweep(data, THIRTY_DAYS)  # idempotent: nothing left to do
    assert (again.job_ids, again.bytes) == ([], 0)
    assert store.planned(data, THIRTY_DAYS) == ([], 0)


def test_the_count_limit_keeps_each_runbooks_newest_jobs(runtime, settings):
    data = settings.data_dir
    gamma, delta = runbook("gamma"), runbook("delta")
    # a year old, newest last; only gamma's oldest job completed: it stays, as the baseline
    gammas = [seed_job(data, gamma, "gamma", status, 400 - i)
              for i, status in enumerate([S.completed, S.failed, S.failed, S.failed, S.failed])]
    deltas = [seed_job(data, delta, "delta", S.completed, 400 - i) for i in range(2)]
    assert store.planned(data, store.Rules(days=0, per_runbook=None)) == ([], 0)  # off

    result = store.sweep(data, store.Rules(days=0, per_runbook=2))
    # gamma: the newest two stay, the third and fourth go, the first is its baseline
    assert sorted(result.job_ids) == [gammas[1], gammas[2]]
    assert artifact_jobs() == {gammas[0], gammas[3], gammas[4], *deltas}


def test_two_sweeps_at_once_delete_each_job_once(seeded, settings):
    due, _ = seeded
    data = settings.data_dir
    freed = sum(bytes_of(data, job) for job in due.values())
    start = threading.Barrier(2)
    results, errors = [], []

    def sweep() -> None:
        start.wait()
        try:
            results.append(store.sweep(data, THIRTY_DAYS))
        except Exception as exc:  # a failure would be the test's answer
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    first, second = results
    assert not set(first.job_ids) & set(second.job_ids)
    assert sorted(first.job_ids + second.job_ids) == sorted(due.values())
    assert first.bytes + second.bytes == freed
    assert swept_jobs() == set(due.values())


def test_one_console_sweeps_at_a_time(seeded, settings):
    due, _ = seeded
    assert store.take_lease("console-a") is None
    assert store.leased_sweep(settings.data_dir, THIRTY_DAYS, "console-b") == "console-a"
    assert swept_jobs() == set()
    store.release_lease("console-a")
    assert store.last_sweep() is not None

    sweeper = RetentionSweeper(settings, first_after_s=0)
    result = sweeper.sweep(force=True)  # as at start
    assert result is not None and sorted(result.job_ids) == sorted(due.values())
    assert sweeper.sweep() is None  # the daily one: the last sweep ended just now


def test_keep_spares_a_job_and_is_audited(seeded, settings):
    due, _ = seeded
    job_id = due["old completed"]
    with pytest.raises(Forbidden, match="operator role"):
        retention.set_keep(job_id, True, by=VIEWER)
    assert retention.set_keep(job_id, True, by=OPERATOR).keep
    assert job_id not in store.sweep(settings.data_dir, THIRTY_DAYS).job_ids
    assert files_of(settings.data_dir, job_id)
    assert not retention.set_keep(job_id, False, by=OPERATOR).keep
    with session_scope() as session:
        actions = list(session.exec(select(AuditEvent.action).where(
            AuditEvent.job_id == job_id).order_by(AuditEvent.id)))
    assert actions == ["start", "keep_refused", "job_kept", "job_unkept"]

    assert store.sweep(settings.data_dir, THIRTY_DAYS).job_ids == [job_id]
    with pytest.raises(Conflict, match="deleted by the retention sweep on .*nothing left"):
        retention.set_keep(job_id, True, by=OPERATOR)
    with session_scope() as session:
        failed = session.get(Job, due["old failed"])
    assert failed is not None
    refusal = recovery.retry_refusal(failed)
    assert refusal is not None and "snapshots were deleted by the retention sweep" in refusal


def test_the_storage_report_and_sweep_now(seeded, settings):
    due, spared = seeded
    data = settings.data_dir
    report = retention.storage_report()
    assert (report.days, report.per_runbook, report.kept_jobs) == (30, None, 1)
    assert report.next_jobs == len(due)
    assert report.next_bytes == sum(bytes_of(data, job) for job in due.values())
    by_name = {r.runbook: r for r in report.runbooks}
    assert by_name["beta"].bytes == sum(bytes_of(data, j) for j in
                                        (due["beta old failed"], spared["beta baseline"]))
    assert report.total_bytes == sum(bytes_of(data, j) for j in [*due.values(),
                                                                   *spared.values()])
    admin = Actor(3, "ada", Role.admin, "test")
    with pytest.raises(Forbidden):
        retention.sweep_now(by=OPERATOR)
    assert sorted(retention.sweep_now(by=admin).job_ids) == sorted(due.values())
    after = retention.storage_report()
    assert (after.next_jobs, after.next_bytes) == (0, 0)
    assert after.total_bytes == report.total_bytes - report.next_bytes


def test_the_settings_are_checked():
    assert Settings(retention_jobs_per_runbook="").retention_jobs_per_runbook is None
    assert Settings(retention_jobs_per_runbook="10").retention_jobs_per_runbook == 10
    for wrong in ("0", "ten"):
        with pytest.raises(ValidationError, match="1 or more"):
            Settings(retention_jobs_per_runbook=wrong)
    with pytest.raises(ValidationError, match="0: keep them for ever"):
        Settings(retention_days=-1)
