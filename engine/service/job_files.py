"""The files given for a runbook's params of `type: file` when a job starts: checked before
the job is written, stored in the job's own transaction (so no worker ever sees a job
without its inputs), and copied from the old job for a re-run."""

from contextlib import ExitStack
from pathlib import Path

from sqlmodel import Session

from engine.errors import Unavailable
from engine.runbook import Runbook as RunbookSpec
from engine.store.inputs import (
    InputData,
    data_size,
    input_file,
    remove_inputs,
    safe_filename,
    save_input,
)

# param -> (file name as the starter's computer called it, content)
JobFiles = dict[str, tuple[str, InputData]]

HOW = ('choose one in the Run dialog, send it as the file part "{name}" of a '
       "multipart/form-data request (API: curl -F {name}=@FILE), or pass -p {name}=@FILE "
       "(CLI)")


def file_params(spec: RunbookSpec) -> list[str]:
    """The names of the runbook's params of type file, in order."""
    return [name for name, param in spec.params.items() if param.type == "file"]


def _megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}".rstrip("0").rstrip(".")


def check_files(spec: RunbookSpec, given: dict[str, str], files: JobFiles | None,
                max_bytes: int) -> tuple[dict[str, str], list[str]]:
    """(the file params' values, problems): each file param's value is its file's safe
    name. Problems: a file for an unknown or text param, a file over `max_bytes`, a file
    param without a file or with a text value. `files` None: the caller cannot give files
    at all (a schedule)."""
    values: dict[str, str] = {}
    problems: list[str] = []
    wanted = file_params(spec)
    for name, (filename, data) in (files or {}).items():
        if name not in spec.params:
            problems.append(f'unknown file param "{name}" (this runbook takes files for: '
                            f'{", ".join(wanted) or "none"})')
        elif name not in wanted:
            problems.append(f'param "{name}" is a text param, not a file param: give it as '
                            f"text (-p {name}=VALUE, or in the JSON params)")
        elif (size := data_size(data)) > max_bytes:
            problems.append(f'the file "{safe_filename(filename)}" for "{name}" is '
                            f"{_megabytes(size)} MB; files may be at most "
                            f"{_megabytes(max_bytes)} MB (JOBDECK_MAX_UPLOAD_MB)")
    for name in wanted:
        if name in given:
            problems.append(f'param "{name}" is a file param and takes a file, not a text '
                            f"value: {HOW.format(name=name)}")
        elif files is None:
            problems.append(f'file param "{name}" needs a file, which a schedule cannot '
                            "give: start jobs of this runbook from the console, the API or "
                            "the CLI")
        elif name not in files:
            problems.append(f'file param "{name}" needs a file: {HOW.format(name=name)}')
        else:
            values[name] = safe_filename(files[name][0])
    return values, problems


def store_files(session: Session, data_dir: Path, job_id: int, files: JobFiles) -> None:
    """Write each file as the job's input and record it in `session` (the job's own
    transaction). Unavailable when the disk refuses; nothing of the files is left then.
    SQLite's write lock is held meanwhile, bounded by JOBDECK_MAX_UPLOAD_MB: 50 MB took
    0.03 s to write here (into the page cache, no fsync)."""
    try:
        for name, (filename, data) in files.items():
            save_input(data_dir, job_id, name, filename, data, session=session)
    except OSError as exc:
        remove_inputs(data_dir, job_id)
        raise Unavailable(f"the job's files could not be stored ({exc.strerror or exc}); "
                          "nothing was started: free some disk space and try again") from None
    except BaseException:
        remove_inputs(data_dir, job_id)
        raise


def discard_files(data_dir: Path, job_id: int | None, files: JobFiles | None) -> None:
    """After a job's transaction failed: its input files go too (a later job may get the
    same id)."""
    if job_id is not None and files:
        remove_inputs(data_dir, job_id)


def files_of_job(data_dir: Path, job_id: int, spec: RunbookSpec, params: dict[str, str],
                 stack: ExitStack) -> tuple[JobFiles, list[str]]:
    """The input files of an earlier job, opened in `stack`, for a re-run: (files, the file
    params whose file is gone)."""
    files: JobFiles = {}
    gone = []
    for name in file_params(spec):
        path = input_file(data_dir, job_id, name)
        if path is None:
            gone.append(name)
        else:
            files[name] = (params.get(name) or path.name, stack.enter_context(path.open("rb")))
    return files, gone
