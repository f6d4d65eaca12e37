"""A job's artifacts: the list with view and download, and previews of each kind."""

import csv
import io
import json
from datetime import datetime
from pathlib import Path

from nicegui import run, ui

from engine.limits import excerpt
from engine.service.report import artifact_url
from models import Artifact, ArtifactKind
from pages.ui.display import exact_time, file_size

PREVIEW_ROWS = 100
KIND_ICONS = {"screenshot": "image", "video": "movie", "export": "table_view",
              "download": "download", "trace": "timeline", "input": "upload_file"}


def preview_table(path: Path, media_type: str) -> tuple[list[str], list[list[str]], int]:
    """Header, the first PREVIEW_ROWS rows and the total row count of a CSV or JSON file;
    each cell shown is an excerpt (engine.limits.excerpt)."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if "json" in media_type or path.suffix == ".json":
        data = json.loads(text)
        items = data if isinstance(data, list) else [data]
        header = list(dict.fromkeys(k for item in items if isinstance(item, dict)
                                    for k in item)) or ["value"]
        rows = [[_cell(item.get(h)) for h in header] if isinstance(item, dict)
                else [_cell(item)] for item in items]
    else:
        csv.field_size_limit(2**31 - 1)  # a cell may pass csv's default 128 KiB; excerpted
        parsed = list(csv.reader(io.StringIO(text)))
        header, rows = (parsed[0], parsed[1:]) if parsed else ([], [])
    shown = [[excerpt(cell) for cell in row] for row in rows[:PREVIEW_ROWS]]
    return [excerpt(h) for h in header], shown, len(rows)  # a cell may hold megabytes


def _cell(value) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def url(artifact: Artifact, download: bool = False) -> str:
    assert artifact.id is not None  # a stored artifact
    return artifact_url(artifact.id, download)


def previewable(artifact: Artifact) -> bool:
    return artifact.kind in (ArtifactKind.screenshot, ArtifactKind.video) or (
        artifact.media_type.split(";")[0] in ("text/csv", "application/json"))


def render_artifacts(artifacts: list[Artifact], step_names: dict[int | None, str], data_dir: Path,
                     deleted_at: datetime | None = None) -> None:
    """The list; `deleted_at`: when the retention sweep deleted the job's files."""
    if deleted_at is not None and not artifacts:  # docs/retention.md
        ui.label(f"Artifacts deleted by the retention sweep on {exact_time(deleted_at)}. The "
                 "job's steps and figures are kept.").classes("text-grey-7").mark(
            "artifacts-deleted")
        return
    if not artifacts:
        ui.label("No artifacts yet.").classes("text-grey-7")
        return
    with ui.column().classes("w-full gap-0"):
        for artifact in artifacts:
            with ui.row().classes("w-full items-center gap-3 py-1 border-b border-gray-200 "
                                  "dark:border-gray-700 no-wrap").props(
                    f'data-artifact="{artifact.id}"'):
                ui.icon(KIND_ICONS.get(artifact.kind.value, "description")).classes(
                    "text-grey-7")
                with ui.column().classes("gap-0 grow min-w-0"):
                    # max-w-full: a long name is cut with … instead of running under the buttons
                    ui.label(artifact.name).classes("font-medium truncate max-w-full")
                    step = ("given when the job started" if artifact.kind == ArtifactKind.input
                            else step_names.get(artifact.step_run_id, "whole job"))
                    ui.label(f"{artifact.kind.value} · {file_size(artifact.size)} · {step}"
                             ).classes("text-xs text-grey-7")
                if previewable(artifact):
                    ui.button("View", icon="visibility",
                              on_click=lambda a=artifact: show_artifact(a, data_dir)).props(
                        "flat dense no-caps")
                if artifact.kind == ArtifactKind.trace:  # Playwright's viewer, in the console
                    ui.button("Open trace", icon="timeline").props(
                        f'flat dense no-caps href="/jobs/{artifact.job_id}/trace"')
                ui.button("Download", icon="download",
                          on_click=lambda a=artifact: ui.navigate.to(url(a, True))).props(
                    "flat dense no-caps")


async def show_artifact(artifact: Artifact, data_dir: Path) -> None:
    with ui.dialog().props("maximized=false") as dialog, ui.card().classes(
            "w-full max-w-5xl"):
        with ui.row().classes("w-full items-center"):
            ui.label(artifact.name).classes("text-lg font-medium")
            ui.space()
            ui.button(icon="close", on_click=dialog.close).props("flat round dense")
        if artifact.kind == ArtifactKind.screenshot:
            ui.image(url(artifact)).classes("w-full").props("fit=contain")
        elif artifact.kind == ArtifactKind.video:
            ui.video(url(artifact)).classes("w-full")
        else:
            await _table_preview(artifact, data_dir)
        ui.link("Download", url(artifact, True)).classes("mt-2")
    dialog.open()


async def _table_preview(artifact: Artifact, data_dir: Path) -> None:
    try:
        preview = await run.io_bound(preview_table, data_dir / artifact.path,
                                     artifact.media_type)
    except (OSError, ValueError) as exc:
        ui.label(f"This file cannot be previewed: {exc}").classes("text-negative")
        return
    if preview is None:  # the server is stopping
        return
    header, rows, total = preview
    # field names are ours (c0, c1…); the file's header is only ever shown as text
    columns = [{"name": f"c{i}", "label": h, "field": f"c{i}", "align": "left"}
               for i, h in enumerate(header)]
    table_rows = [{"_row": n, **{f"c{i}": v for i, v in enumerate(row)}}
                  for n, row in enumerate(rows)]
    ui.table(columns=columns, rows=table_rows, row_key="_row", pagination=0).classes(
        "w-full max-h-[60vh]").props("flat bordered dense hide-bottom "
                                     "data-preview")
    shown = f"first {len(rows)} of {total} rows" if total > len(rows) else f"{total} rows"
    ui.label(shown).classes("text-xs text-grey-7")
