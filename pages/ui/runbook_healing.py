"""The runbook page's "Selectors that healed": steps whose later selector candidate won
more often than the first in the runbook's recent jobs, how often each won, and Apply (a
diff first, then a new runbook version); docs/recovery.md."""

from nicegui import run, ui

from engine.errors import JobdeckError
from engine.service import healing
from engine.service.healing import Suggestion
from pages.ui.dialogs import lasting_dialog
from pages.ui.diff_view import diff_view
from pages.ui.identity import acting, allowed

LOOK_BACK = 20  # jobs


async def healed_selectors(runbook_name: str) -> None:
    """The section, for the runbook's current version; nothing when no step healed."""

    saved: list[int] = []  # the versions Apply stored from this page

    @ui.refreshable
    async def section() -> None:
        try:
            found = await run.io_bound(healing.healing_suggestions, runbook_name, LOOK_BACK)
        except JobdeckError as exc:  # the runbook went away, or no longer validates
            ui.label(str(exc)).classes("text-grey-7")
            return
        if not found and not saved:  # None: the server is stopping
            return
        ui.label("Selectors that healed").classes("text-lg font-medium")
        if saved:  # the page above still shows the version it was opened with
            with ui.row().classes("items-baseline gap-2").mark("healing-saved"):
                ui.label(f"Saved as version {saved[-1]}.")
                ui.link("Show it", f"/runbooks/{runbook_name}")
        if found:
            ui.label(f"In the last {LOOK_BACK} finished jobs, a later candidate of these "
                     "steps' selector lists won more often than the first.").classes(
                "text-sm text-grey-7")
        for suggestion in found or []:
            _suggestion(runbook_name, suggestion, may_apply, on_saved)

    def on_saved(version: int) -> None:
        saved.append(version)
        section.refresh()

    may_apply = allowed("heal")  # access.RULES["heal"]; checked again on Save
    await section()


def _suggestion(runbook_name: str, suggestion: Suggestion, may_apply: bool, on_saved) -> None:
    with ui.card().classes(
            "w-full shadow-none border border-gray-300 dark:border-gray-600 p-3").props(
            f'data-healing-step="{suggestion.step.replace(chr(34), "")}"').mark(
            f"healing-{suggestion.step}"):
        with ui.row().classes("w-full items-center gap-3"):
            ui.label(f'Step "{suggestion.step}"').classes("font-medium grow")
            if may_apply:
                ui.button("Apply", icon="auto_fix_high",
                          on_click=lambda: _apply_dialog(runbook_name, suggestion, on_saved)).props(
                    "outline dense").mark("healing-apply")
        for wins in suggestion.candidates:
            with ui.row().classes("gap-2 items-baseline no-wrap"):
                ui.label(f"{wins.position}.").classes("text-grey-7 w-5 text-right")
                ui.label(wins.candidate).classes("font-mono text-sm break-all")
                ui.label(f"won in {wins.wins} of {suggestion.jobs} "
                         f"job{'s' if suggestion.jobs != 1 else ''}").classes(
                    "text-xs text-grey-7").props(f'data-wins="{wins.wins}"')
        ui.label(f"Proposed: `{suggestion.winner}` first (order "
                 + ", ".join(str(p) for p in suggestion.proposed) + ")").classes("text-sm")


async def _apply_dialog(runbook_name: str, suggestion: Suggestion, on_saved) -> None:
    """The diff the change would make, and Save; "Saved as version N" once stored."""
    try:
        found = await run.io_bound(healing.preview_healing, runbook_name, suggestion.step,
                                   LOOK_BACK)
    except JobdeckError as exc:
        ui.notify(str(exc), type="warning", multi_line=True)
        return
    if found is None:  # the server is stopping
        return
    new_yaml, diff = found
    with lasting_dialog() as dialog, ui.card().classes("max-w-3xl w-full").mark(
            "healing-dialog"):
        ui.label(f'Put `{suggestion.winner}` first in step "{suggestion.step}"').classes(
            "text-lg font-medium")
        diff_view(diff).mark("healing-diff")

        async def save() -> None:
            actor = await acting("heal")  # signed in still, and still allowed
            if actor is None:
                return
            try:
                version = await run.io_bound(healing.apply_healing, runbook_name,
                                             suggestion.step, by=actor, source=new_yaml,
                                             last=LOOK_BACK)
            except JobdeckError as exc:  # a refusal: the message says why
                ui.notify(str(exc), type="negative", multi_line=True)
                return
            if version is None:
                return
            dialog.close()
            ui.notify(f"Saved as version {version}", type="positive")
            on_saved(version)

        with ui.row().classes("w-full justify-end gap-2"):
            ui.button("Cancel", on_click=dialog.close).props("flat")
            ui.button("Save", icon="save", on_click=save).mark("healing-save")

