"""Params of `type: file`: validated with line and column, stored as the job's input
artifact in the job's own transaction, refused when missing or too large, copied by a
re-run. A real SQLite file per test."""

import io

import pytest

from engine.runbook import RunbookInvalid, load_runbook
from engine.service import jobs
from engine.service.runbooks import save_runbook
from engine.store.db import session_scope
from engine.store.inputs import input_file, safe_filename, save_input
from models import Artifact, ArtifactKind, Job, JobStatus

RUNBOOK = """\
version: 1
name: send-invoice
title: Send an invoice
params:
  invoice: {type: file, description: The PDF}
  note: {default: ""}
steps:
  - {name: open, action: goto, url: "http://127.0.0.1:9/"}
"""


@pytest.fixture
def runbook(runtime):
    save_runbook(load_runbook(RUNBOOK, "send-invoice.yaml"))


def test_type_and_default_of_a_file_param_are_checked_with_line_and_column():
    source = RUNBOOK.replace("{type: file, description: The PDF}",
                             "{type: file, default: a.pdf}")
    source = source.replace('note: {default: ""}', "note: {type: banana}")
    with pytest.raises(RunbookInvalid) as invalid:
        load_runbook(source, "r.yaml")
    assert invalid.value.errors == [
        'r.yaml:5:34: param "invoice": a file param has no default (the file is given when '
        "a job starts)",
        'r.yaml:6:16: param "note": type must be text or file',
    ]
    spec = load_runbook(RUNBOOK, "r.yaml")
    assert spec.summary()["params"]["invoice"] == {
        "description": "The PDF", "default": None, "required": True, "type": "file"}
    assert spec.summary()["params"]["note"]["type"] == "text"


def test_a_job_keeps_its_file_under_its_original_name(runbook, settings):
    job = jobs.create_job("send-invoice", files={"invoice": ("Rechnung März.pdf", b"%PDF-1")})
    assert job.params == {"invoice": "Rechnung März.pdf", "note": ""}
    path = input_file(settings.data_dir, job.id, "invoice")
    assert path is not None and path.name == "Rechnung März.pdf"
    assert path.read_bytes() == b"%PDF-1"
    [artifact] = jobs.get_job(job.id).artifacts
    assert (artifact.kind, artifact.name, artifact.step_run_id) == (
        ArtifactKind.input, "Rechnung März.pdf", None)
    assert jobs.artifact_path(artifact) == path


def test_a_missing_text_valued_or_too_large_file_starts_no_job(runbook, settings):
    with pytest.raises(jobs.InvalidParams, match='file param "invoice" needs a file: .*'
                       r"-p invoice=@FILE"):
        jobs.start_job("send-invoice", {"note": "hi"})
    with pytest.raises(jobs.InvalidParams, match='"invoice" is a file param and takes a file'):
        jobs.start_job("send-invoice", {"invoice": "a.pdf"})
    with pytest.raises(jobs.InvalidParams, match='"note" is a text param, not a file param'):
        jobs.start_job("send-invoice", files={"invoice": ("a.pdf", b"x"),
                                              "note": ("n.txt", b"y")})
    settings.max_upload_mb = 0.5
    big = io.BytesIO(b"x" * 600_000)
    with pytest.raises(jobs.InvalidParams, match=r'"a.pdf" for "invoice" is 0.6 MB; files may '
                       r"be at most 0.5 MB \(JOBDECK_MAX_UPLOAD_MB\)"):
        jobs.start_job("send-invoice", files={"invoice": ("a.pdf", big)})
    assert jobs.list_jobs()[1] == 0
    assert not (settings.data_dir / "artifacts").exists()


def test_a_rerun_gets_a_copy_of_the_input_files(runbook, settings):
    first = jobs.create_job("send-invoice", files={"invoice": ("in.pdf", io.BytesIO(b"v1"))})
    with session_scope() as session:
        session.get(Job, first.id).status = JobStatus.completed
    again = jobs.rerun_job(first.id, by="tester")
    copy = input_file(settings.data_dir, again.id, "invoice")
    assert copy is not None and copy.read_bytes() == b"v1" and copy.name == "in.pdf"
    assert copy != input_file(settings.data_dir, first.id, "invoice")
    assert again.params["invoice"] == "in.pdf"

    input_file(settings.data_dir, first.id, "invoice").unlink()
    with pytest.raises(jobs.InvalidParams, match=f"job {first.id}'s file for invoice is gone"):
        jobs.rerun_job(first.id, by="tester")


@pytest.mark.parametrize("given, kept", [
    ("../../etc/passwd", "passwd"), ("C:\\Users\\me\\Rechnung.pdf", "Rechnung.pdf"),
    ("..", "file"), ("a\x00b/..", "file"), ("bad\x00name.txt", "badname.txt"),
    ("請求書.pdf", "請求書.pdf"), ("x" * 300 + ".pdf", "x" * 251 + ".pdf"),
])
def test_file_names_lose_directories_and_control_characters(given, kept):
    assert safe_filename(given) == kept


def test_save_input_stays_in_the_jobs_inputs_folder(runbook, settings):
    job = jobs.create_job("send-invoice", files={"invoice": ("a.pdf", b"1")})
    artifact = save_input(settings.data_dir, job.id, "invoice", "../../../b.pdf", b"2")
    path = input_file(settings.data_dir, job.id, "invoice")
    assert path == settings.data_dir.resolve() / f"artifacts/{job.id}/inputs/invoice/b.pdf"
    assert path.read_bytes() == b"2" and artifact.name == "b.pdf"  # one file per param
    with pytest.raises(ValueError):
        save_input(settings.data_dir, job.id, "../x", "a.pdf", b"3")
    with session_scope() as session:
        assert session.get(Artifact, artifact.id).kind == ArtifactKind.input
