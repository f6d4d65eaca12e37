"""`/secrets` (admins): set and replace the values runbooks' secrets come from. Write-only:
a value is typed in, never shown again; the page shows where each value comes from."""

from nicegui import run, ui

from engine.secrets import store as secret_store
from engine.secrets.values import secret_env_name, secret_overview
from engine.service import runbooks
from pages.ui.frame import frame
from pages.ui.identity import acting, admin_only

ORIGIN = {"store": ("set here", "positive"), "environment": ("from the environment", "primary"),
          None: ("not set", "negative")}


def overview() -> list[dict]:
    used_by: dict[str, list[str]] = {}
    for row in runbooks.list_runbooks():
        for name in row.summary.get("secrets") or []:
            used_by.setdefault(name, []).append(row.name)
    return secret_overview(used_by)


async def secrets_page() -> None:
    with frame("Secrets"):
        if not await admin_only("secrets"):
            return
        with ui.row().classes("w-full items-center"):
            ui.label("Secrets").classes("text-2xl font-semibold")
            ui.space()
            ui.button("New secret", icon="add", on_click=lambda: _value_dialog(None, refresh)
                      ).props("no-caps").mark("new-secret")
        ui.label("Runbooks name the secrets they need; their values come from here, else from "
                 "the environment variable JOBDECK_SECRET_<NAME>. A value is never shown "
                 "again once saved, and is masked as •••• in everything a job records."
                 ).classes("text-sm text-grey-8")
        listing = ui.column().classes("w-full gap-2")

    async def refresh() -> None:
        rows = await run.io_bound(overview) or []
        listing.clear()
        with listing:
            if not rows:
                ui.label("No runbook needs a secret yet.").classes("text-grey-7")
            for row in rows:
                _secret_card(row, refresh)

    await refresh()


def _secret_card(row: dict, refresh) -> None:
    label, color = ORIGIN[row["origin"]]

    async def remove() -> None:
        actor = await acting("secrets")
        if actor is not None and await run.io_bound(secret_store.delete_secret, row["name"],
                                                    by=actor.name, source=actor.source):
            ui.notify(f"Secret {row['name']} deleted from the store", type="positive")
        await refresh()

    with ui.card().classes("w-full").props(f'data-secret="{row["name"]}"'):
        with ui.row().classes("w-full items-center gap-3"):
            with ui.column().classes("gap-0 grow"):
                ui.label(row["name"]).classes("text-lg font-medium font-mono")
                used = ", ".join(row["used_by"]) or "no runbook"
                detail = f"used by {used}"
                if row["origin"] == "store":
                    detail += f" · set by {row['updated_by']}"
                    detail += " · encrypted" if row["encrypted"] else ""
                elif row["origin"] == "environment":
                    detail += f" · {secret_env_name(row['name'])}"
                ui.label(detail).classes("text-xs text-grey-7")
            ui.badge(label, color=color).mark(f"origin-{row['name']}")
            ui.button("Replace" if row["origin"] == "store" else "Set",
                      on_click=lambda: _value_dialog(row["name"], refresh)).props(
                "outline no-caps").mark(f"set-{row['name']}")
            if row["origin"] == "store":
                ui.button(icon="delete", on_click=remove).props(
                    "flat round color=negative").tooltip("Delete the stored value")


def _value_dialog(name: str | None, on_saved) -> None:
    with ui.dialog(value=True) as dialog, ui.card().classes("w-96").mark("secret-dialog"):
        ui.label(f"Value of {name}" if name else "A new secret").classes("text-lg font-medium")
        field = ui.input("Name", value=name or "").classes("w-full").mark("secret-name")
        field.set_visibility(name is None)
        value = ui.input("Value", password=True, password_toggle_button=True).classes(
            "w-full").props('autocomplete="new-password"').mark("secret-value")

        async def save() -> None:
            actor = await acting("secrets")
            if actor is None:
                return
            try:
                await run.io_bound(secret_store.set_secret, field.value.strip(), value.value,
                                   by=actor.name, source=actor.source)
            except secret_store.SecretStoreError as exc:
                ui.notify(f"Not saved: {exc}", type="warning")
                return
            value.value = ""
            dialog.close()
            ui.notify(f"Secret {field.value} saved", type="positive")
            await on_saved()

        with ui.row().classes("w-full justify-end"):
            ui.button("Cancel", on_click=dialog.close).props("flat no-caps")
            ui.button("Save", on_click=save).props("no-caps").mark("secret-save")
