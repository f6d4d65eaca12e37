"""The body of `POST /api/runbooks/{name}/jobs`: JSON `{"params": {...}}`, or
multipart/form-data (RFC 7578) with the text params as JSON in the field `params` and one
file part per param of type file, named after the param (`curl -F invoice=@invoice.pdf`)."""

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError
from starlette.datastructures import FormData, UploadFile

from engine.errors import InvalidInput
from engine.settings import current_settings
from pages.api.limits import refuse_control_characters

MULTIPART = "multipart/form-data"
FORM_SLACK_BYTES = 1024 * 1024  # the form's own framing and its text fields, beyond the files
HOW = ('send each file param as a file part named after it (curl -F invoice=@invoice.pdf) '
       'and the text params as JSON in the field "params" '
       '(curl -F \'params={"status": "open"}\')')


class StartJob(BaseModel):
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)


# For /openapi.json: the two bodies the route takes (it reads the body itself)
OPENAPI_BODY = {"requestBody": {"required": False, "content": {
    "application/json": {"schema": StartJob.model_json_schema()},
    MULTIPART: {"schema": {
        "type": "object",
        "properties": {"params": {"type": "string", "description": "the text params as a "
                                  'JSON object, e.g. {"status": "open"}'}},
        "additionalProperties": {"type": "string", "format": "binary",
                                 "description": "one file per param of type file, the part "
                                 "named after the param"}}}}}}


def param_texts(params: dict[str, str | int | float | bool]) -> dict[str, str]:
    """JSON params as the text a param holds: true -> "true", 2 -> "2", 2.5 -> "2.5"."""
    return {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in params.items()}


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").split(";")[0].strip().lower() == MULTIPART


async def json_params(request: Request) -> dict[str, str]:
    """The text params of a JSON body (none when the body is empty); 422 as FastAPI words
    it for a body that does not fit, InvalidInput for one that is not JSON."""
    body = await request.body()
    if not body.strip():
        return {}
    try:
        return param_texts(StartJob.model_validate_json(body).params)
    except ValidationError as exc:
        if any(e["type"] == "json_invalid" for e in exc.errors()):
            raise InvalidInput('the body is not JSON: send {"params": {...}} with Content-Type: '
                               f"application/json, or {MULTIPART} to give files") from None
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)],
            body=body) from None


def body_limit(file_params: int) -> int:
    """The most bytes a form with this many file params may have."""
    return current_settings().max_upload_bytes * max(1, file_params) + FORM_SLACK_BYTES


def too_large(request: Request, file_params: int) -> bool:
    """The request says (Content-Length) it is larger than its files may be together."""
    length = request.headers.get("content-length", "")
    return length.isdigit() and int(length) > body_limit(file_params)


def form_params(form: FormData) -> tuple[dict[str, str], dict[str, tuple[str, Any]]]:
    """(text params, files: param -> (file name, binary file)) of a multipart form;
    InvalidInput for a `params` field that is not a JSON object, two files for one param, or
    a text field other than `params` (a file param given as text, most likely)."""
    texts: dict[str, str] = {}
    refuse_control_characters([text for key, value in form.multi_items() for text in (
        key, value.filename or "" if isinstance(value, UploadFile) else "")], "a form field")
    raw = form.get("params")
    if raw is not None:
        try:
            if not isinstance(raw, str):
                raise ValueError("a file")
            texts = param_texts(StartJob(params=json.loads(raw)).params)
        except (ValueError, ValidationError, RecursionError):
            raise InvalidInput('the form field "params" holds the text params as a JSON '
                               'object of names and values, e.g. {"status": "open"}') from None
    refuse_control_characters(texts, 'the form field "params"')
    files: dict[str, tuple[str, Any]] = {}
    stray = []
    for key, value in form.multi_items():
        if key == "params":
            continue
        if not isinstance(value, UploadFile):
            stray.append(key)
        elif key in files:
            raise InvalidInput(f'two files for "{key}": a file param takes one file')
        else:
            files[key] = (value.filename or key, value.file)
    if stray:
        names = ", ".join(f'"{s}"' for s in stray)
        raise InvalidInput(f"the form field{'s' if len(stray) > 1 else ''} {names} "
                           f"hold{'' if len(stray) > 1 else 's'} text, not a file: {HOW}")
    return texts, files
