"""Dialogs opened from parts of a page that are drawn again while the dialog is open."""

from nicegui import ui


def lasting_dialog() -> ui.dialog:
    """An open dialog that outlives redraws of the part of the page that opened it (the job
    page redraws its header on every event), and is removed once closed."""
    with ui.context.client.content, ui.element() as holder:
        dialog = ui.dialog(value=True)
    dialog.on("hide", holder.delete)
    return dialog
