"""The recovery marks of a timeline row (docs/recovery.md): "healed: 2nd candidate … won",
"restored from job #M" and "page changed 23 %" (a link to the step's diff image). Each
mark is made when first needed and then changed in place, like the rest of the row; the
heal notes are read off the UI loop when a row first shows a step that won through a
later candidate or after retries."""

from collections.abc import Callable

from nicegui import background_tasks, run, ui

from engine.service import healing
from engine.service.healing import HealNote
from engine.service.report import artifact_url
from engine.service.visual import SHOWN_FROM, percent
from models import StepRun, StepStatus

KINDS = ("healed", "restored", "changed")  # the marks' order under the step's name


def may_have_healed(run: StepRun | None) -> bool:
    """Whether the job's heal notes may hold this run (so they are worth reading)."""
    return run is not None and run.status == StepStatus.success and run.restored_from is None \
        and ((run.candidate or 0) > 0 or run.retries > 0)


class StepMarks:
    """One row's marks, in a line under its name (`column`)."""

    def __init__(self, column: ui.column):
        self.column = column
        self.line: ui.row | None = None
        self.items: dict[str, ui.label | ui.link] = {}

    def show(self, run: StepRun | None, note: HealNote | None,
             diff_image: int | None = None) -> None:
        """Show the marks `run` calls for; `diff_image`: the artifact id of the step's diff
        image (`change after <step>`), which "page changed" links to."""
        change = run.visual_change if run is not None else None
        restored = run.restored_from if run is not None else None
        wanted = {
            "healed": note.text() if note is not None else "",
            "restored": f"restored from job #{restored}" if restored else "",
            "changed": f"page changed {percent(change)}"
            if change is not None and change >= SHOWN_FROM else "",
        }
        for kind in KINDS:
            item = self.items.get(kind)
            if item is None and wanted[kind]:
                item = self.items[kind] = self._make(kind, note, restored)
                order = [self.items[k] for k in KINDS if k in self.items]
                item.move(target_index=order.index(item))
            if item is None:
                continue
            item.text = wanted[kind]
            item.set_visibility(bool(wanted[kind]))
            if kind == "restored" and restored:
                item.props(f'href="/jobs/{restored}" data-restored-from="{restored}"')
            if kind == "healed" and note is not None:
                item.props(f'data-healed="{note.position}" data-retries="{note.retries}"')
            if kind == "changed":  # no diff image (deleted, or not stored): no link
                item.props(f'href="{artifact_url(diff_image)}"' if diff_image
                           else None, remove=None if diff_image else "href")

    def _make(self, kind: str, note: HealNote | None, restored: int | None
              ) -> ui.label | ui.link:
        if self.line is None:
            with self.column:
                self.line = ui.row().classes("gap-x-3 gap-y-0 items-baseline flex-wrap")
        with self.line:
            if kind == "restored":
                # a click opens the job, not the row
                return ui.link("", f"/jobs/{restored}").classes("text-xs").mark(
                    "restored").on("click.stop", lambda: None)
            if kind == "healed":
                return ui.label().classes("text-xs text-teal-9 break-words").mark("healed")
            # the diff image in a new tab; a click opens it, not the row
            return ui.link("", new_tab=True).classes("text-xs text-deep-orange-9").mark(
                "page-changed").props("data-page-changed").on("click.stop", lambda: None)


class HealNotes:
    """A job's heal notes for its timeline, read off the UI loop: again only when a run
    that may have healed appears that was not asked about (a finished step's row does not
    change after it)."""

    def __init__(self, on_loaded: Callable[[], None]):
        self.notes: dict[int, HealNote] = {}
        self._asked: set[int] = set()
        self._loading = False
        self._on_loaded = on_loaded  # called on the UI loop once new notes are in

    def want(self, runs: list[StepRun]) -> None:
        """Read the notes if some of `runs` may have healed and were not asked about."""
        new = {r.id for r in runs if may_have_healed(r) and r.id not in self._asked}
        if not new or self._loading:
            return
        self._asked |= {i for i in new if i is not None}
        self._loading = True
        background_tasks.create(self._load(runs[0].job_id), name="heal notes")

    async def _load(self, job_id: int) -> None:
        try:
            notes = await run.io_bound(healing.healed_steps, job_id)
        finally:
            self._loading = False
        if notes is None:  # the server is stopping
            return
        self.notes = notes
        self._on_loaded()
