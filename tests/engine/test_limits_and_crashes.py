"""A download over the size cap, and a browser that dies in the middle of a job."""

import os
import signal
import threading
import time

from sqlmodel import select
from support import browser_processes, close_viewer_browser, in_browser_thread, step

from engine.store.db import session_scope
from models import ArtifactKind, ErrorKind, JobStatus, StepRun, StepStatus


def test_a_download_over_the_cap_fails_its_step_and_is_not_kept(run_runbook, settings):
    settings.max_download_mb = 100 / (1024 * 1024)  # 100 bytes; the report has more
    detail = run_runbook("""
        version: 1
        name: big-download
        title: Big download
        settings: {base_url: SITE, timeout_ms: 5000, retries: 0}
        steps:
          - {action: goto, url: /download}
          - {name: get, action: download, selector: {test_id: download-report}}
        """)
    failed = step(detail, "get")
    assert detail.job.status == JobStatus.failed
    assert failed.error_kind == ErrorKind.action_failed.value
    assert "over the limit" in failed.error_message
    assert "JOBDECK_MAX_DOWNLOAD_MB" in failed.error_message
    assert not [a for a in detail.artifacts if a.kind == ArtifactKind.download]
    leftovers = [p for p in (settings.data_dir / "artifacts").rglob("*.csv")]
    assert leftovers == [], "the oversized file was left on disk"


def test_a_browser_that_dies_mid_job_fails_it_and_the_next_job_gets_a_new_one(
        run_runbook, runtime):
    slow = """
        version: 1
        name: NAME
        title: Slow
        settings: {base_url: SITE, timeout_ms: 20000, retries: 0}
        steps:
          - {name: first, action: goto, url: /table}
          - {name: slow, action: goto, url: "/slow?seconds=8"}
          - {name: after, action: goto, url: /table}
        """
    run_runbook(slow.replace("NAME", "warm-up"))  # the worker process has its browser now
    in_browser_thread(close_viewer_browser)  # only the engine's browser is left to kill
    result = {}
    worker = threading.Thread(target=lambda: result.update(
        detail=run_runbook(slow.replace("NAME", "crashing"))))
    worker.start()
    deadline = time.monotonic() + 30
    while not _step_running("slow"):
        assert time.monotonic() < deadline, "the slow step never started"
        time.sleep(0.05)
    browsers = browser_processes()
    assert browsers, "found no Chromium process to kill"
    for pid in browsers:
        os.kill(pid, signal.SIGKILL)
    worker.join(60)

    detail = result["detail"]
    assert detail.job.status == JobStatus.failed
    assert detail.job.error_kind == ErrorKind.browser_crashed.value, detail.job.error_message
    assert step(detail, "slow").status == StepStatus.failed
    assert "browser" in detail.job.error_message
    assert not [s for s in detail.steps if s.name == "after" and s.status == StepStatus.success]

    again = run_runbook(slow.replace("NAME", "after-crash").replace("seconds=8", "seconds=0"))
    assert again.job.status == JobStatus.completed, again.job.error_message


def _step_running(name: str) -> bool:
    with session_scope() as session:
        return session.exec(select(StepRun).where(StepRun.name == name,
                                                  StepRun.status == StepStatus.running)
                            ).first() is not None
