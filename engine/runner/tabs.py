"""Tabs and dialogs: every tab of the job's context is watched, every dialog answered and
recorded on the running step, and the job moves between tabs only when a step says so.

What users of Playwright, Selenium IDE and Robot Framework Browser expect: a tab opened
by a click (`target=_blank`, `window.open`) exists beside the old one and the job stays
where it is until `new_tab: true` or `switch_tab` moves it; `previous` is the tab the job
was on before, as a browser's Back is for pages.
"""

import asyncio
import logging

from playwright.async_api import Dialog, Page
from playwright.async_api import Error as PlaywrightError

from engine.errors import StepFailed
from engine.runner.browser_session import watch_page, watch_requests
from engine.runner.step_context import JobContext
from models import ErrorKind

log = logging.getLogger(__name__)


def watch_tabs(ctx: JobContext) -> None:
    """Watch the job's first tab and each tab its context opens later."""
    answer_dialogs(ctx, ctx.page)
    ctx.page.on("close", lambda page: _closed(ctx, page))
    ctx.context.on("page", lambda page: _opened(ctx, page))


def _opened(ctx: JobContext, page: Page) -> None:
    watch_page(ctx, page)
    watch_requests(ctx, page)
    answer_dialogs(ctx, page)
    page.on("close", lambda closed: _closed(ctx, closed))
    if not ctx.expecting_tab:
        ctx.tabs_opened.append(page)


def _closed(ctx: JobContext, page: Page) -> None:
    """A tab closed by its page (`window.close()`) or by the job: forget it; when it was
    the job's tab, go back to the previous one."""
    ctx.tab_history[:] = [p for p in ctx.tab_history if p is not page]
    ctx.cdp_sessions.pop(page, None)
    if page is ctx.page and ctx.tab_history:
        ctx.warnings.append(f"the tab {page.url} closed itself; the job went back to "
                            f"{ctx.tab_history[-1].url}")
        task = asyncio.get_running_loop().create_task(
            switch_to(ctx, ctx.tab_history.pop(), remember=False))
        ctx.background.add(task)
        task.add_done_callback(ctx.background.discard)


def answer_dialogs(ctx: JobContext, page: Page) -> None:
    """Answer each alert/confirm/prompt/beforeunload of `page` as the running step says
    (`dialog`), else as the runbook's `dialogs` setting says, and record it on the step."""
    async def on_dialog(dialog: Dialog) -> None:
        own = ctx.dialog_answer
        accept = own["accept"] if own else ctx.runbook.settings.dialogs == "accept"
        text = own.get("text") if own and dialog.type == "prompt" else None
        ctx.dialogs.append(ctx.redactor.data({
            "type": dialog.type, "message": dialog.message[:500],
            "answer": "accept" if accept else "dismiss", "text": text if accept else None}))
        if own is None and not accept and dialog.type != "alert":
            ctx.warnings.append(ctx.redactor.text(
                f'{dialog.type} "{dialog.message[:200]}" was dismissed, as the runbook\'s '
                "dialogs setting says; to accept it, give the step dialog: {accept: true}"))
        try:
            if accept:
                await dialog.accept(*([text] if text is not None else []))
            else:
                await dialog.dismiss()
        except PlaywrightError as exc:  # the page went away meanwhile
            log.debug("a dialog could not be answered: %s", exc)

    page.on("dialog", on_dialog)


async def switch_to(ctx: JobContext, page: Page, remember: bool = True) -> None:
    """Make `page` the tab every later step acts on (and the live view shows)."""
    if page is ctx.page:
        return
    if remember and not ctx.page.is_closed():
        ctx.tab_history.append(ctx.page)
    ctx.page = page
    if page not in ctx.cdp_sessions:
        ctx.cdp_sessions[page] = await ctx.context.new_cdp_session(page)
    ctx.cdp = ctx.cdp_sessions[page]
    await page.bring_to_front()
    for hook in ctx.on_switch:
        hook(page, ctx.cdp)


async def opened_by(ctx: JobContext, timeout_ms: int, act) -> Page:
    """Run `act()` (a click, a key press) and move the job to the tab it opens; StepFailed
    (action_failed) when none opens within `timeout_ms`."""
    ctx.expecting_tab = True
    try:
        async with ctx.context.expect_page(timeout=timeout_ms) as opening:
            await act()
        page = await opening.value
    except PlaywrightError as exc:
        if "Timeout" not in str(exc) and "Timeout" not in type(exc).__name__:
            raise
        raise StepFailed(ErrorKind.action_failed, f"no new tab opened within {timeout_ms} ms "
                         "(new_tab: true); check the link opens one, or drop new_tab") from None
    finally:
        ctx.expecting_tab = False
    ctx.tabs_opened.append(page)
    try:
        await page.wait_for_load_state(timeout=timeout_ms)
    except PlaywrightError:
        pass  # the step's own checks decide; the tab is there
    await switch_to(ctx, page)
    return page


async def describe_tabs(pages: list[Page]) -> list[dict]:
    """[{url, title}] of each page ("" for the title of a page that closed)."""
    out = []
    for page in pages:
        try:
            title = "" if page.is_closed() else await page.title()
        except PlaywrightError:
            title = ""
        out.append({"url": page.url, "title": title})
    return out
