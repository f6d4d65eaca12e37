"""Finding a browser, a clear message without one, and video and trace artifacts."""

import zipfile

import pytest
from support import in_browser_thread

from engine.runner.browser import INSTALL_HINT, BrowserNotFound, find_browser
from models import ArtifactKind, JobStatus


def test_no_browser_names_what_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing to find on PATH
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "none"))
    with pytest.raises(BrowserNotFound) as err:
        find_browser()
    assert "apt-get install -y chromium" in str(err.value)
    assert "playwright install chromium" in str(err.value)


def test_explicit_browser_path_must_exist():
    with pytest.raises(BrowserNotFound, match="JOBDECK_BROWSER_PATH=/nope/chrome"):
        find_browser("/nope/chrome")


def test_a_system_chromium_is_found(monkeypatch, tmp_path):
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "none"))
    found = find_browser()
    assert found and "chrom" in found


def test_the_headless_shell_comes_before_a_full_chromium(monkeypatch, tmp_path):
    """Both on PATH (as Debian's two packages install them): the shell, without the
    browser's UI, is the one jobs run in."""
    for name in ("chromium", "chromium-headless-shell"):
        (tmp_path / name).write_text("#!/bin/sh\n")
        (tmp_path / name).chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "none"))
    assert find_browser() == str(tmp_path / "chromium-headless-shell")


def test_job_without_a_browser_fails_with_the_hint(run_runbook, monkeypatch, settings):
    settings.browser_path = "/nope/chrome"
    from engine.runner.worker import close_browser

    in_browser_thread(close_browser)  # the next job must look for a browser again
    detail = run_runbook("""
        version: 1
        name: nobrowser
        title: No browser
        steps: [{action: goto, url: SITE}]
        """)
    assert detail.job.status == JobStatus.failed
    assert INSTALL_HINT in detail.job.error_message


@pytest.mark.slow
def test_video_and_trace_are_kept(run_runbook, settings):
    detail = run_runbook("""
        version: 1
        name: recorded
        title: Recorded
        settings: {base_url: SITE, video: true, trace: true, screenshots: off}
        steps:
          - {action: goto, url: /late?delay_ms=300}
          - {action: wait, selector: li.late-item}
          - {action: goto, url: /table}
        """)
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    kinds = {a.kind: a for a in detail.artifacts}
    video = settings.data_dir / kinds[ArtifactKind.video].path
    assert video.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # WebM (Matroska) header
    assert kinds[ArtifactKind.video].size > 1000
    with zipfile.ZipFile(settings.data_dir / kinds[ArtifactKind.trace].path) as trace:
        assert any(n.endswith(".trace") for n in trace.namelist())
    assert not (video.parent / "video-tmp").exists()
