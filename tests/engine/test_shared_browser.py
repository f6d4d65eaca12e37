"""One browser per worker process: concurrent jobs share it, each in a context of its own;
a crash costs only the job it hit; live frames only while someone watches."""

import textwrap
import threading
import time

import pytest
from sqlmodel import select
from support import browser_processes, step

from engine.bus import events
from engine.runbook import load_runbook
from engine.runner.browser_host import HOST
from engine.runner.worker import execute_job
from engine.service.jobs import create_job, get_job
from engine.service.runbooks import save_runbook
from engine.store.db import session_scope
from models import ErrorKind, Job, JobStatus, StepRun, StepStatus

COOKIES = """
    version: 1
    name: NAME
    title: Cookies of NAME
    settings: {base_url: SITE, timeout_ms: 20000, retries: 0}
    steps:
      - name: mark
        action: goto
        url: /table
        capture:
          before: {js: "document.cookie"}
          set: {js: "(document.cookie = 'who=NAME') && 'set'"}
      - {name: wait, action: goto, url: "/slow?seconds=SECONDS"}
      - name: read
        action: goto
        url: /table
        capture: {after: {js: "document.cookie"}}
    """


@pytest.fixture
def run_at_once(runtime, settings, site):
    """Run runbooks as jobs at the same time, each on a thread of its own (as the queue's
    worker threads do); returns {name: thread} and fills `results` {name: JobDetail}."""

    def run(texts: dict[str, str], results: dict) -> list[threading.Thread]:
        job_ids = {}
        for name, text in texts.items():
            spec = load_runbook(textwrap.dedent(text).replace("SITE", site), "test.yaml")
            save_runbook(spec)
            job_ids[name] = create_job(spec.name, None).id

        def one(name: str) -> None:
            execute_job(job_ids[name], settings=settings, bus=events.get_bus(),
                        heartbeat=runtime.heartbeat)
            results[name] = get_job(job_ids[name])

        threads = [threading.Thread(target=one, args=(name,)) for name in texts]
        for thread in threads:
            thread.start()
        return threads

    return run


def _wait_until_running(name: str, count: int = 1, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        with session_scope() as session:
            running = session.exec(select(StepRun).where(
                StepRun.name == name, StepRun.status == StepStatus.running)).all()
        if len(running) >= count:
            return
        assert time.monotonic() < deadline, f"{count} × step {name!r} never ran at once"
        time.sleep(0.05)


def test_concurrent_jobs_share_one_browser_and_keep_their_own_cookies(run_runbook,
                                                                      run_at_once):
    run_runbook(COOKIES.replace("NAME", "warm").replace("SECONDS", "0"))
    browsers = browser_processes()
    assert browsers, "found no Chromium process"

    names, results = ["ann", "bob", "cyd"], {}
    threads = run_at_once({n: COOKIES.replace("NAME", n).replace("SECONDS", "2")
                           for n in names}, results)
    _wait_until_running("wait", count=3)
    during = browser_processes()
    for thread in threads:
        thread.join(60)

    assert during == browsers, "a job started a browser of its own"
    for name in names:
        detail = results[name]
        assert detail.job.status == JobStatus.completed, detail.job.error_message
        captured = step(detail, "mark").captures
        assert captured["before"] == "", f"{name} saw another job's cookie: {captured}"
        assert step(detail, "read").captures["after"] == f"who={name}"


async def _crash_renderer_showing(url_part: str) -> None:
    """Crash the renderer of the page (in any job's context) whose URL has `url_part`,
    as a renderer that runs out of memory would (CDP Page.crash)."""
    browser = await HOST.browser_if_running()
    assert browser is not None
    for context in browser.contexts:
        for page in context.pages:
            if url_part in page.url:
                cdp = await context.new_cdp_session(page)
                try:
                    await cdp.send("Page.crash")
                except Exception:  # the session goes with the renderer
                    pass
                return
    raise AssertionError(f"no page shows {url_part}")


SLOW = """
    version: 1
    name: NAME
    title: Slow NAME
    settings: {base_url: SITE, timeout_ms: 20000, retries: 0}
    steps:
      - {name: first, action: goto, url: "/table?job=NAME"}
      - {name: wait, action: wait, ms: 2500}
      - {name: after, action: goto, url: /table}
    """


def test_a_crashed_renderer_fails_only_its_job(run_runbook, run_at_once):
    results: dict = {}
    threads = run_at_once({n: SLOW.replace("NAME", n) for n in ("victim", "other")}, results)
    _wait_until_running("wait", count=2)
    HOST.run(_crash_renderer_showing("job=victim"))
    for thread in threads:
        thread.join(60)

    victim, other = results["victim"], results["other"]
    assert victim.job.status == JobStatus.failed
    assert victim.job.error_kind == ErrorKind.browser_crashed.value, victim.job.error_message
    assert step(victim, "wait").status == StepStatus.failed
    assert other.job.status == JobStatus.completed, other.job.error_message
    assert step(other, "after").status == StepStatus.success

    again = run_runbook(SLOW.replace("NAME", "next").replace("ms: 2500", "ms: 0"))
    assert again.job.status == JobStatus.completed, again.job.error_message


LIVE = """
    version: 1
    name: NAME
    title: Live NAME
    settings: {base_url: SITE, timeout_ms: 20000, retries: 0, screenshots: "off"}
    steps:
      - {name: busy, action: goto, url: "/animated?ms=2500"}
      - {name: done, action: wait, selector: "#done"}
    """


def _live_frames(run_runbook, name: str, watch: bool) -> int:
    frames: list[events.Event] = []
    bus = events.get_bus()
    unsubscribe = bus.subscribe(lambda e: frames.append(e) if (
        e.kind == events.SCREENSHOT and e.data.get("live")) else None)
    stop = threading.Event()

    def viewer() -> None:  # what a job page or an SSE stream does while open
        while not stop.is_set():
            with session_scope() as session:
                job = session.exec(select(Job).where(Job.runbook_name == name)).first()
            if job is not None:
                bus.publish(events.Event(events.VIEWING, job.id))
            stop.wait(events.VIEWING_EVERY_S / 4)

    watching = threading.Thread(target=viewer)
    if watch:
        watching.start()
    try:
        detail = run_runbook(LIVE.replace("NAME", name))
    finally:
        stop.set()
        unsubscribe()
        if watch:
            watching.join()
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    return len([f for f in frames if f.job_id == detail.job.id])


def test_live_frames_are_streamed_only_while_someone_watches(run_runbook):
    assert _live_frames(run_runbook, "unwatched", watch=False) == 0
    assert _live_frames(run_runbook, "watched", watch=True) > 0
