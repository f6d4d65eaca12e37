"""One diff viewer for the console (pages/ui/diff_view.py): the Retry dialog's runbook
diff and the healing dialog's both draw through it."""

import pytest
from nicegui import ui

from pages.ui.diff_view import diff_view


@pytest.mark.asyncio
async def test_a_long_diff_is_cut_and_lines_are_coloured_as_text(user):
    lines = ["--- a.yaml", "+++ b.yaml", "@@ -1,450 +1,450 @@", "-old <b>line</b>",
             "+new line", " kept"] + [f"+added {i}" for i in range(444)]

    @ui.page("/diff-view-test")
    def page() -> None:
        diff_view("\n".join(lines), max_lines=400).mark("diff")

    await user.open("/diff-view-test")
    await user.should_see("… 50 more lines")
    with user.scope(marker="diff"):
        await user.should_see("-old <b>line</b>")  # as text, never HTML
        await user.should_not_see("+added 394")  # the 401st line
    shown = {e.text: e.classes for e in user.find(ui.label).elements}
    assert "text-negative" in shown["-old <b>line</b>"]
    assert "text-positive" in shown["+new line"]
    assert "text-grey-7" in shown["@@ -1,450 +1,450 @@"]
    assert "+added 393" in shown and "+added 394" not in shown
