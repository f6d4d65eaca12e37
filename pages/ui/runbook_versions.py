"""The runbook page's versions and archiving: each kept version with who saved it and
when, one version's YAML (`?version=N`, where a job page links), the diff of any two, and
Archive / Restore for admins, each after a confirmation; docs/console.md."""

from nicegui import run, ui

from engine.errors import JobdeckError
from engine.service import runbooks
from engine.service.runbooks import VersionInfo
from models import Runbook
from pages.ui.dialogs import lasting_dialog
from pages.ui.diff_view import diff_view
from pages.ui.display import exact_time, relative_time
from pages.ui.frame import follow_dark_mode
from pages.ui.identity import acting, allowed


def archived_banner(row: Runbook) -> None:
    """"Archived by X on …" and what that means; nothing for a runbook in use."""
    if row.archived_at is None:
        return
    with ui.card().classes("w-full bg-amber-50 dark:bg-amber-950 shadow-none p-3").mark(
            "runbook-archived"):
        with ui.row().classes("items-center gap-2"):
            ui.icon("archive", color="amber-9", size="24px")
            ui.label(f"Archived by {row.archived_by or 'someone'} on "
                     f"{exact_time(row.archived_at)}").classes("font-medium")
        ui.label("It is hidden from the runbook list and cannot be run; its schedules "
                 "record a miss instead of running. Its jobs and versions are kept. "
                 + ("Restore it to run it again." if allowed("runbooks") else
                    "An admin can restore it.")).classes("text-sm")


def archive_button(row: Runbook) -> None:
    """Archive (or Restore, when archived) for admins, each asking first; the page is
    opened again afterwards, showing the runbook as it is now."""
    if not allowed("runbooks"):  # access.RULES["runbooks"]; checked again on confirm
        return
    archived = row.archived_at is not None
    ui.button("Restore" if archived else "Archive",
              icon="unarchive" if archived else "archive",
              on_click=lambda: _confirm(row.name, restore=archived)).props(
        "outline" + ("" if archived else " color=grey-8")).mark(
        "runbook-restore" if archived else "runbook-archive")


def _confirm(name: str, restore: bool) -> None:
    with lasting_dialog() as dialog, ui.card().classes("max-w-lg").props(
            "data-archive-dialog"):
        ui.label(f'{"Restore" if restore else "Archive"} runbook "{name}"?').classes(
            "text-lg font-medium")
        ui.label("It appears in the runbook list again and can be run; its schedules fire "
                 "from their next time (the times missed meanwhile stay missed)." if restore
                 else "It is hidden from the runbook list and cannot be run until it is "
                 "restored; its schedules record a miss instead of running. Jobs already "
                 "queued or running go on. Its jobs, versions and schedules are kept.")

        async def act() -> None:
            actor = await acting("runbooks")
            if actor is None:
                return
            change = runbooks.restore_runbook if restore else runbooks.archive_runbook
            try:
                await run.io_bound(change, name, by=actor)
            except JobdeckError as exc:  # archived or restored by someone else meanwhile
                ui.notify(str(exc), type="warning", multi_line=True)
            dialog.close()
            ui.navigate.to(f"/runbooks/{name}")

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Restore" if restore else "Archive", on_click=act).props(
                "no-caps").mark("archive-confirm")


def _as_version(asked: str | None) -> int | None | str:
    """`?version=` as a number; a message when it is not one; None when not given."""
    if asked is None or asked == "":
        return None
    return int(asked) if asked.isdigit() and len(asked) < 10 else (
        f'"{asked[:40]}" is not a version number: open a version from the list below')


async def runbook_versions(row: Runbook, asked: str | None = None) -> None:
    """The Versions section: `asked` (the page's `?version=`) shows that version's YAML
    and compares it with the current one."""
    found = await run.io_bound(runbooks.runbook_versions, row.name)
    if found is None:  # the server is stopping
        return
    shown = _as_version(asked)
    with ui.column().classes("w-full gap-1").mark("runbook-versions"):
        ui.label("Versions").classes("text-lg font-medium")
        if isinstance(shown, str):
            ui.label(shown).classes("text-negative").mark("version-refused")
        elif shown is not None:
            await _one_version(row, shown)
        for info in found:
            _version_row(row, info, picked=info.version == shown)
        kept = {info.version for info in found}
        lost = [v for v in range(1, row.version + 1) if v not in kept]
        if lost:
            ui.label(f"Not kept: {', '.join(f'v{v}' for v in lost)} (saved before Jobdeck "
                     "kept versions, and no job ran them).").classes("text-sm text-grey-7")
        if len(found) >= 2:
            await _compare(row.name, found, shown if isinstance(shown, int) else None)


def _version_row(row: Runbook, info: VersionInfo, picked: bool) -> None:
    with ui.row().classes("items-baseline gap-2 text-sm" + (
            " bg-blue-50 dark:bg-blue-950 rounded px-1" if picked else "")).props(
            f'data-version="{info.version}"'):
        ui.link(f"v{info.version}", f"/runbooks/{row.name}?version={info.version}").classes(
            "font-mono font-medium")
        ui.label(f"saved by {info.saved_by}" if info.saved_by else
                 "loaded from a file (or saved before Jobdeck recorded who)").classes(
            "text-grey-8")
        ui.label(relative_time(info.saved_at)).classes("text-grey-7").tooltip(
            exact_time(info.saved_at))
        if info.version == row.version:
            ui.badge("current", color="primary").props("outline")
        if info.title != row.title:
            ui.label(f'titled "{info.title}"').classes("text-grey-7")


async def _one_version(row: Runbook, version: int) -> None:
    try:
        kept = await run.io_bound(runbooks.runbook_version, row.name, version)
    except JobdeckError as exc:  # no such version, or one that was not kept
        ui.label(str(exc)).classes("text-negative").mark("version-refused")
        return
    if kept is None:  # the server is stopping
        return
    with ui.card().classes("w-full").mark("version-source"):
        ui.label(f"Version {version}" + (" (the current one)" if version == row.version else
                                         f" (the current one is version {row.version})")
                 ).classes("font-medium")
        ui.label(f"saved by {kept.saved_by or 'a file loaded at start'} on "
                 f"{exact_time(kept.saved_at)}").classes("text-sm text-grey-7")
        follow_dark_mode(ui.codemirror(kept.source, language="YAML").classes(
            "w-full border border-gray-300 dark:border-gray-600").disable())


async def _compare(name: str, found: list[VersionInfo], shown: int | None) -> None:
    """Two version choices and the diff between them: by default the version asked for
    (or the one before the current) against the current one."""
    options = {info.version: f"v{info.version} · {info.saved_by or 'from a file'} · "
               f"{relative_time(info.saved_at)}" for info in found}
    newest = found[0].version
    start = shown if shown in options and shown != newest else found[1].version
    with ui.row().classes("items-center gap-3 mt-2"):
        ui.label("Compare").classes("font-medium")
        older = ui.select(options, value=start, label="from").classes("min-w-[14rem]").mark(
            "compare-from")
        newer = ui.select(options, value=newest, label="to").classes("min-w-[14rem]").mark(
            "compare-to")

    @ui.refreshable
    async def diff() -> None:
        try:
            text = await run.io_bound(runbooks.diff_versions, name, older.value, newer.value)
        except JobdeckError as exc:
            ui.label(str(exc)).classes("text-negative")
            return
        if text is None:  # the server is stopping
            return
        if not text:
            ui.label(f"v{older.value} and v{newer.value} have the same YAML.").classes(
                "text-grey-7").mark("compare-same")
            return
        diff_view(text).mark("compare-diff")

    older.on_value_change(diff.refresh)
    newer.on_value_change(diff.refresh)
    await diff()
