"""A finished job's execution report as people read it: the outcome, the figures, the
steps that failed, the files it exported or downloaded, and the JSON behind a toggle.

The report (engine.service.report) names each artifact's file on the server; the page
shows what the API shows instead (pages/api/routes.py): the artifact's URL."""

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nicegui import run, ui

from engine.limits import excerpt
from engine.service.report import artifact_url, build_report, public_report
from pages.ui.display import duration, file_size, job_status_look

SHOWN_FILES = ("export", "download")  # the job's results; the rest is in Artifacts above
MAX_WARNINGS = 20
# (label, key in the report's "metrics", how to show it): the report's own figures, as
# the engine defines them; the page does not count them again, and shows those it has
FIGURES: list[tuple[str, str, Callable[[Any], str]]] = [
    ("Duration", "duration_ms", duration),
    ("Succeeded", "steps_succeeded", str),
    ("Failed", "steps_failed", str),
    ("Skipped", "steps_skipped", str),
    ("Cancelled", "steps_cancelled", str),
    ("Retries", "retry_count", str)]


def report_section(job_id: int, data_dir: Path) -> None:
    """The report of an ended job; read after the page is delivered (it may be large)."""
    with ui.card().classes("w-full gap-3").props("data-report").mark("report"):
        with ui.row().classes("w-full items-center gap-2"):
            ui.icon("summarize", size="22px").classes("text-grey-7")
            ui.label("Execution report").classes("text-lg font-medium")
            ui.space()
            ui.link("Download as JSON", f"/api/jobs/{job_id}/report").classes("text-sm")
        body = ui.column().classes("w-full gap-3")
        with body:
            waiting = ui.spinner()

    async def fill() -> None:
        report = await run.io_bound(build_report, job_id, data_dir)
        if report is None or body.is_deleted:  # the server is stopping, the page went away
            return
        waiting.delete()
        with body:
            render_report(public_report(report))

    ui.timer(0, fill, once=True)


def render_report(report: dict) -> None:
    """The summary of a public_report(), then its JSON behind "Show raw JSON"."""
    _outcome(report)
    _figures(report.get("metrics") or {})
    _failed_steps(report.get("steps", []))
    _warnings(report.get("steps", []))
    _files(report.get("artifacts", []))
    _raw_json(report)


def _outcome(report: dict) -> None:
    label, color, icon = job_status_look(report["status"])
    with ui.row().classes("items-center gap-2"):
        ui.label("Outcome").classes("text-sm text-grey-7 w-20")
        with ui.badge(color=color).classes("py-1 px-2").props("data-report-status"):
            ui.icon(icon, size="14px").classes("mr-1")
            ui.label(label)
    error = report.get("error")
    if error:
        with ui.card().classes("w-full bg-red-50 dark:bg-red-950 shadow-none p-2 gap-1"):
            ui.label(error.get("kind") or "error").classes("font-mono text-negative text-xs")
            ui.label(excerpt(error.get("message") or "")).classes(
                "whitespace-pre-wrap break-words").props("data-report-error")


def _figures(metrics: dict) -> None:
    with ui.row().classes("w-full gap-x-6 gap-y-2"):
        for label, key, shown in (f for f in FIGURES if f[1] in metrics):
            value = metrics[key]
            with ui.column().classes("gap-0").props(f'data-report-figure="{key}"'):
                ui.label(label).classes("text-xs text-grey-7")
                ui.label("—" if value is None else shown(value)).classes(
                    "text-lg font-semibold")


def _step_name(step: dict) -> str:
    return step["name"] + (f" (iteration {step['iteration']})" if step.get("iteration")
                           else "")


def _failed_steps(steps: list[dict]) -> None:
    failed = [s for s in steps if s.get("status") == "failed"]
    if not failed:
        return
    ui.label(f"Failed step{'s' if len(failed) > 1 else ''}").classes("font-medium")
    with ui.column().classes("w-full gap-2"):
        for step in failed:
            with ui.column().classes("w-full gap-0 pl-3 border-l-4 border-red-400").props(
                    f'data-report-failed="{_attr(step["name"])}"'):
                ui.label(f"{_step_name(step)} · {step['action']}"
                         ).classes("font-medium break-all")
                ui.label(step.get("error_kind") or "error").classes(
                    "font-mono text-negative text-xs")
                ui.label(excerpt(step.get("error_message") or "")).classes(
                    "text-sm whitespace-pre-wrap break-words")


def _warnings(steps: list[dict]) -> None:
    found = [(s, w) for s in steps for w in s.get("warnings") or []]
    if not found:
        return
    ui.label(f"Warnings ({len(found)})").classes("font-medium")
    for step, warning in found[:MAX_WARNINGS]:
        ui.label(f"⚠ {_step_name(step)}: {excerpt(warning)}").classes(
            "text-sm text-orange-9 break-words").props("data-report-warning")
    if len(found) > MAX_WARNINGS:
        ui.label(f"… and {len(found) - MAX_WARNINGS} more in the raw JSON").classes(
            "text-xs text-grey-7")


def _files(artifacts: list[dict]) -> None:
    results = [a for a in artifacts if a["kind"] in SHOWN_FILES]
    others = Counter(a["kind"] for a in artifacts if a["kind"] not in SHOWN_FILES)
    ui.label("Exports and downloads").classes("font-medium")
    if not results:
        ui.label("This job exported and downloaded nothing.").classes("text-sm text-grey-7")
    for artifact in results:
        with ui.row().classes("w-full items-center gap-3 no-wrap").props(
                f'data-report-file="{artifact["id"]}"'):
            ui.icon("table_view" if artifact["kind"] == "export" else "download").classes(
                "text-grey-7")
            with ui.column().classes("gap-0 grow min-w-0"):
                ui.link(artifact["name"], artifact["url"], new_tab=True).classes(
                    "font-medium break-all")
                ui.label(f"{artifact['kind']} · {file_size(artifact['size'])}").classes(
                    "text-xs text-grey-7")
            ui.link("Download", artifact_url(artifact["id"], download=True)).classes(
                "text-sm shrink-0")
    if others:
        counted = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in others.items())
        ui.label(f"Also under Artifacts: {counted}.").classes("text-xs text-grey-7")


def _raw_json(report: dict) -> None:
    """The JSON the API returns, drawn on the first click only: it may hold megabytes."""
    raw: list[ui.label] = []

    def toggle() -> None:
        if not raw:
            with holder:  # a label: scraped text stays text
                raw.append(ui.label(json.dumps(report, indent=2, ensure_ascii=False)).classes(
                    "w-full max-h-[60vh] overflow-auto font-mono text-xs whitespace-pre-wrap "
                    "break-all bg-gray-100 dark:bg-gray-800 rounded p-2").props("data-report-json"))
        else:
            raw[0].set_visibility(not raw[0].visible)
        button.text = "Hide raw JSON" if raw[0].visible else "Show raw JSON"

    button = ui.button("Show raw JSON", icon="data_object", on_click=toggle).props(
        "flat dense no-caps").mark("report-raw-json")
    holder = ui.column().classes("w-full")


def _attr(text: str) -> str:
    return text.replace('"', "'")
