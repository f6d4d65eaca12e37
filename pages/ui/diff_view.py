"""A unified diff on a page (a runbook's versions before Retry, a healed selector before
Save): one label a line, escaped text (never HTML), added lines green, removed ones red."""

from nicegui import ui

MAX_LINES = 400  # a longer diff is cut here, saying how many lines are left out


def diff_view(diff: str, max_lines: int = MAX_LINES) -> ui.column:
    """Draw `diff` (unified diff text) in a scrolling box; at most `max_lines` lines, then
    "… N more lines". Returns the box (to mark it)."""
    lines = diff.splitlines()
    with ui.column().classes("w-full gap-0 font-mono text-xs whitespace-pre border rounded "
                             "p-2 max-h-64 overflow-auto bg-grey-1") as box:
        for line in lines[:max_lines]:
            ui.label(line or " ").classes(_look(line))
        if len(lines) > max_lines:
            ui.label(f"… {len(lines) - max_lines} more lines").classes("text-grey-7").mark(
                "diff-cut")
    return box


def _look(line: str) -> str:
    if line.startswith(("+++", "---", "@@")):
        return "text-grey-7"
    if line.startswith("+"):
        return "text-positive"
    return "text-negative" if line.startswith("-") else ""
