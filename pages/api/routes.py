"""The REST API (documented at /docs): the same engine functions the pages call."""

import re
from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import FileResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import InvalidInput, NotFound
from engine.identity import audit
from engine.identity.access import NEEDS, Actor, may
from engine.service import job_actions, job_search, jobs, recovery, runbooks
from engine.service.report import build_report, job_summary, public_report
from engine.settings import current_settings
from models import (
    JOB_ACTIONS,
    ActorRead,
    ErrorDetail,
    JobAction,
    JobPage,
    JobRead,
    JobReport,
    RunbookProblems,
    RunbookRead,
    RunbookSaved,
    RunbookWithSource,
    Trigger,
)
from models.api import RetryOptions
from pages.api import start_body
from pages.api.access import REFUSED, UNSIGNED, Invalid, actor_of, allowed
from pages.api.action_bodies import BODIES, Comment
from pages.api.limits import MAX_INT, allow_body, refuse_control_characters

router = APIRouter(prefix="/api", tags=["api"], responses=UNSIGNED)
YAML_TYPES = ("application/x-yaml", "application/yaml", "text/yaml", "text/x-yaml",
              "text/plain")
INLINE_TYPES = ("image/jpeg", "image/png", "video/webm")
# error answers, for the docs: {"detail": "what is wrong and what to do"}
NO_JOB: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No such job"}}
NO_RUNBOOK: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorDetail, "description": "No such runbook"}}
# what a 422 means for the actions that start a job (JobActionRule.starts_job)
INVALID = {JobAction.rerun: "An unknown param, a text value for a file param, a file that "
           "is gone, a secret no longer set: the message says which",
           JobAction.retry: "No such step, or a version other than old and new"}
JobId = Annotated[int, Path(ge=1, le=MAX_INT, description="the job's id")]
ArtifactId = Annotated[int, Path(ge=1, le=MAX_INT, description="the artifact's id")]


def _job_document(job_id: int) -> dict:
    report = build_report(job_id, current_settings().data_dir)
    if report is None:
        raise NotFound(f"there is no job {job_id}")
    return public_report(report)


@router.get("/me", summary="Who you are signed in as, and what your role may do",
            response_model=ActorRead)
def me(actor: Actor = Depends(actor_of)) -> dict:
    return {"name": actor.name, "role": actor.role.value,
            "may": [action for action in NEEDS if may(actor.role, action)]}


@router.get("/jobs", summary="List jobs, newest first, narrowed by any of the filters",
            response_model=JobPage, responses={422: {"model": Invalid, "description":
                                                     "A filter's value is not usable: the "
                                                     "message says which and what is"}})
def list_jobs(status: str | None = Query(None, description="comma-separated statuses"),
              runbook: str | None = Query(None, description="the runbook's name"),
              trigger: str | None = Query(None, description="comma-separated triggers: "
                                          "manual, schedule, api, rerun, retry, cli"),
              started_by: str | None = Query(None, description="who started the job"),
              since: str | None = Query(None, description="created at or after: ISO 8601 "
                                        "date or date and time, UTC unless an offset"),
              until: str | None = Query(None, description="created before (a date: to the "
                                        "end of that day), ISO 8601, UTC unless an offset"),
              error_kind: str | None = Query(None, description="the job's error kind"),
              q: str | None = Query(None, description="full-text: every word in the "
                                    "runbook's name or title, who started it, the error "
                                    "message or the params' values; the last word a prefix"),
              limit: int = Query(50, ge=1, le=500),
              offset: int = Query(0, ge=0, le=MAX_INT)) -> dict:
    wanted = job_search.parse_filter(runbook=runbook, status=status, trigger=trigger,
                                     started_by=started_by, since=since, until=until,
                                     error_kind=error_kind, q=q)
    found, total = jobs.list_jobs(limit=limit, offset=offset, filters=wanted)
    return {"items": [job_summary(j) for j in found], "total": total}


@router.get("/jobs/{job_id}", summary="A job with its steps, metrics and artifacts",
            response_model=JobReport, responses=NO_JOB)
def get_job(job_id: JobId) -> dict:
    return _job_document(job_id)


@router.get("/jobs/{job_id}/report", summary="The execution report as a JSON file",
            response_model=JobReport, responses=NO_JOB)
def get_report(job_id: JobId) -> JSONResponse:
    return JSONResponse(_job_document(job_id), headers={
        "Content-Disposition": f'attachment; filename="job-{job_id}-report.json"'})


def _action_route(action: JobAction) -> None:
    """`POST /api/jobs/{id}/<action>` for each job action, from the one table of them."""
    def take(job_id: JobId, body: Comment | None = None,
             actor: Actor = allowed(action.value)) -> dict:
        job = job_actions.act(job_id, action, by=actor.name, source=actor.source,
                              comment=body.comment if body else None,
                              **(body.options() if body else {}))
        return job_summary(job)

    take.__name__ = action.value
    # FastAPI reads the body's schema from the signature: each action's own model
    take.__annotations__["body"] = BODIES.get(action, Comment) | None
    starts = JOB_ACTIONS[action].starts_job  # answers with a new job
    router.post(f"/jobs/{{job_id}}/{action.value}", summary=JOB_ACTIONS[action].summary,
                status_code=201 if starts else 200, response_model=JobRead, responses={
                    **NO_JOB, **REFUSED, **({422: {"model": Invalid, "description":
                                                   INVALID[action]}} if starts else {}),
                    409: {"model": ErrorDetail,
                          "description": "The job's status does not allow it now" + (
                              "; or it has no snapshot to restore from, or the step comes "
                              "after the failed one" if action == JobAction.retry else "")}
                })(take)


for _action in JobAction:
    _action_route(_action)


@router.get("/jobs/{job_id}/retry", summary="The steps a job can be retried from, and the "
            "runbook's changes since it ran", response_model=RetryOptions, responses=NO_JOB)
def retry_options(job_id: JobId) -> dict:
    return asdict(recovery.retry_options(job_id))


def _runbook_document(row, with_source: bool = False) -> dict:
    doc = {"name": row.name, "title": row.title, "version": row.version,
           "updated_at": row.updated_at.isoformat(), **{
               k: row.summary.get(k) for k in ("description", "params", "secrets", "steps")},
           "archived_at": row.archived_at and row.archived_at.isoformat(),
           "archived_by": row.archived_by}
    if with_source:
        doc["source"] = row.source
    return doc


@router.get("/runbooks", summary="List runbooks (archived ones only when asked)",
            response_model=list[RunbookRead])
def list_runbooks(archived: bool = Query(False, description="true: archived runbooks too "
                                         "(their `archived_at` is set)")) -> list[dict]:
    return [_runbook_document(r) for r in runbooks.list_runbooks(archived=archived)]


@router.get("/runbooks/{name}", summary="A runbook with its YAML",
            response_model=RunbookWithSource, responses=NO_RUNBOOK)
def get_runbook(name: str) -> dict:
    row = runbooks.get_runbook(name)
    if row is None:
        raise NotFound(f'there is no runbook named "{name}"')
    return _runbook_document(row, with_source=True)


@router.post("/runbooks", summary="Add a runbook (the YAML itself as the body)",
             status_code=201, response_model=RunbookSaved,
             responses={
                 201: {"description": "Created, or a new version of it"},
                 200: {"model": RunbookSaved, "description": "Unchanged: the same YAML"},
                 **REFUSED,
                 409: {"model": ErrorDetail, "description": "A runbook of that name is "
                       "archived: restore it first"},
                 415: {"model": ErrorDetail, "description": "The body is not YAML"},
                 422: {"model": RunbookProblems, "description": "The runbook is invalid"}},
             openapi_extra={"requestBody": {"content": {
                 "application/x-yaml": {"schema": {"type": "string"}}}, "required": True}})
async def add_runbook(request: Request, response: Response,
                      actor: Actor = allowed("runbooks")) -> dict:
    content_type = request.headers.get("content-type", "").split(";")[0].strip()
    if content_type not in YAML_TYPES:
        raise HTTPException(415, "send the runbook's YAML as the body with "
                                 "Content-Type: application/x-yaml")
    body = await request.body()
    try:
        source = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise HTTPException(422, "the body is not UTF-8 text") from exc
    refuse_control_characters(source, "the runbook")  # YAML's reader refuses them, unkindly
    saved = await run_in_threadpool(runbooks.add_runbook, source, "runbook.yaml", by=actor)
    response.status_code = 201 if saved.outcome in ("created", "new_version") else 200
    return {"outcome": saved.outcome, **_runbook_document(saved.runbook)}


@router.post("/runbooks/{name}/jobs", summary="Start a job of a runbook (JSON, or "
             "multipart/form-data to give the files of its file params)", status_code=201,
             response_model=JobRead, openapi_extra=start_body.OPENAPI_BODY, responses={
                 **NO_RUNBOOK, **REFUSED, 409: {
                     "model": ErrorDetail, "description": "The runbook is archived: "
                     "restore it to run it"}, 413: {
                     "model": ErrorDetail, "description": "Larger than its files may be"},
                 422: {
                     "model": Invalid, "description": "Unknown or missing params, a "
                     "missing file, a file over JOBDECK_MAX_UPLOAD_MB: the message says which"}})
async def start_job(name: str, request: Request, actor: Actor = allowed("start")) -> dict:
    if not start_body.is_multipart(request):
        params = await start_body.json_params(request)
        job = await run_in_threadpool(jobs.start_job, name, params, trigger=Trigger.api,
                                      started_by=actor.name, source=actor.source)
        return job_summary(job)
    row = await run_in_threadpool(runbooks.get_runbook, name)
    if row is None:
        raise NotFound(f'there is no runbook named "{name}"')
    wanted = [p for p, spec in (row.summary.get("params") or {}).items()
              if spec.get("type") == "file"]
    allow_body(request.scope, start_body.body_limit(len(wanted)))  # each file its own cap
    if start_body.too_large(request, len(wanted)):
        raise InvalidInput(f"the request is larger than this runbook's files may be "
                           f"together: each file may be at most "
                           f"{current_settings().max_upload_mb:g} MB (JOBDECK_MAX_UPLOAD_MB)")
    try:
        form = await request.form()  # files over 1 MB wait in temporary files
    except StarletteHTTPException as exc:  # Starlette's 400 for a body its parser cannot read
        if exc.status_code != 400:  # e.g. 413: the body passed its limit while being read
            raise
        raise InvalidInput(f"the body is not valid multipart/form-data (RFC 7578): "
                           f"{exc.detail}") from None
    try:
        params, files = start_body.form_params(form)
        job = await run_in_threadpool(jobs.start_job, name, params, trigger=Trigger.api,
                                      started_by=actor.name, source=actor.source, files=files)
    finally:
        await form.close()
    return job_summary(job)


@router.get("/artifacts/{artifact_id}", summary="An artifact's file",
            response_class=FileResponse, responses={
                200: {"description": "The file: images and videos inline (unless "
                      "`download`), anything else as an attachment",
                      "content": {"application/octet-stream": {
                          "schema": {"type": "string", "format": "binary"}}}},
                404: {"model": ErrorDetail, "description": "No such artifact"}})
def get_artifact(artifact_id: ArtifactId, download: bool = False,
                 actor: Actor = Depends(actor_of)) -> FileResponse:
    artifact = jobs.get_artifact(artifact_id)
    path = artifact and jobs.artifact_path(artifact)
    if artifact is None or not path:
        raise NotFound(f"there is no artifact {artifact_id}")
    media_type = artifact.media_type
    inline = not download and media_type in INLINE_TYPES
    if not inline:  # a download, not a screenshot shown on a page
        audit.record(actor.name, "artifact_downloaded", job_id=artifact.job_id,
                     target=f"artifact {artifact.name}", source=actor.source)
    # Only images and videos are shown in place; HTML, SVG, XML and anything else from a
    # website is a download, and if a browser rendered it anyway it would run sandboxed
    return FileResponse(path, media_type=media_type, headers={
        "Content-Disposition": content_disposition("inline" if inline else "attachment",
                                                   download_name(artifact, path)),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'; img-src 'self'; "
                                   "media-src 'self'"})


def download_name(artifact, path) -> str:
    """`job-<id>-<artifact name>`, keeping the file's real extension and any language's
    letters; only what no file name may hold (path separators, quotes, control characters
    and the characters Windows refuses) becomes `_`."""
    name = artifact.name if artifact.name.endswith(path.suffix) else artifact.name + path.suffix
    return re.sub(r'[\x00-\x1f\x7f/\\:*?"<>|;]+', "_",
                  f"job-{artifact.job_id}-{name}").strip(" ._")


def content_disposition(kind: str, name: str) -> str:
    """RFC 6266 with RFC 8187's `filename*` (UTF-8, any language) and a plain ASCII
    `filename` for old clients; `filename*` first, as modern clients prefer it anyway."""
    fallback = re.sub(r"[^A-Za-z0-9._ -]+", "_", name)
    return f"{kind}; filename*=UTF-8''{quote(name, safe='')}; filename=\"{fallback}\""
