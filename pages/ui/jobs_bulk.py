"""Acting on jobs from the list: approve from a row, cancel or re-run the selected ones."""

from nicegui import run, ui

from engine.errors import JobdeckError
from engine.identity.access import Actor
from engine.service import job_actions
from pages.ui.identity import acting
from pages.ui.job_actions_bar import perform


def act_on_many(job_ids: list[int], action: str, actor: Actor) -> tuple[list[int], list[str]]:
    """Apply one action to several jobs; (ids done, one message per refusal)."""
    done, refused = [], []
    for job_id in job_ids:
        try:
            job_actions.act(job_id, action, by=actor.name, source=actor.source)
            done.append(job_id)
        except JobdeckError as exc:
            refused.append(str(exc))
    return done, refused


def bulk_bar(table, on_done) -> tuple[ui.row, ui.label]:
    """Shown while rows are selected: cancel or re-run them all. Returns the bar and its
    count label."""
    with ui.row().classes("w-full items-center gap-2").bind_visibility_from(
            table, "selected", backward=bool) as bar:
        count = ui.label().bind_text_from(table, "selected",
                                          backward=lambda s: f"{len(s)} selected")

        async def apply(action: str) -> None:
            actor = await acting(action)
            if actor is None:
                return
            ids = [row["id"] for row in table.selected]
            result = await run.io_bound(act_on_many, ids, action, actor)
            if result is None:
                return
            done, refused = result
            verb = "cancelled" if action == "cancel" else "re-run"
            ui.notify(f"{len(done)} {verb}" + (f"; {len(refused)} not: " + "; ".join(refused)
                                               if refused else ""),
                      type="positive" if not refused else "warning", multi_line=True)
            table.selected = []
            await on_done()

        def confirm_cancel() -> None:
            with ui.dialog(value=True) as dialog, ui.card():
                ui.label(f"Cancel {len(table.selected)} jobs?").classes("text-lg")
                ui.label("Running steps are stopped; artifacts so far are kept.")
                with ui.row().classes("w-full justify-end"):
                    ui.button("Keep them", on_click=dialog.close).props("flat no-caps")
                    ui.button("Cancel jobs", color="negative",
                              on_click=lambda: (dialog.close(), apply("cancel"))[1]).props(
                        "unelevated no-caps data-confirm-yes")

        ui.button("Cancel selected", icon="block", color="negative",
                  on_click=confirm_cancel).props("outline no-caps").mark("bulk-cancel")
        ui.button("Re-run selected", icon="replay",
                  on_click=lambda: apply("rerun")).props("outline no-caps").mark("bulk-rerun")
        ui.button("Clear", on_click=lambda: setattr(table, "selected", [])).props(
            "flat no-caps")
    return bar, count


async def approve_row(job_id: int, on_done) -> None:
    if await perform(job_id, "approve"):
        await on_done()
