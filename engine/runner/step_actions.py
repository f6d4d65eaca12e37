"""One function per runbook action, each registered with its parameters by `@step_action`;
each gets the step's arguments already templated."""

import asyncio

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from engine.errors import StepFailed
from engine.runbook.actions import step_action
from engine.runbook.globs import glob_match, glob_regex
from engine.runner.browser_session import navigation_blocked, note_block
from engine.runner.locate import wait_for_state
from engine.runner.step_context import JobContext, StepRunState
from engine.runner.step_tools import absolute_url, element_of
from engine.runner.tabs import describe_tabs, opened_by, switch_to
from models import ArtifactKind, ErrorKind


@step_action("goto", required=("url",), optional=("allow_status",),
             kinds={"allow_status": "statuses"})
async def goto(ctx: JobContext, st: StepRunState, args: dict) -> None:
    url = absolute_url(ctx, args["url"])
    reason = ctx.policy.blocked_reason(url)
    if reason:
        await note_block(ctx, url, reason)
        raise StepFailed(ErrorKind.blocked_url, f"navigation to {url} blocked: {reason}")
    try:
        response = await ctx.page.goto(url, timeout=st.timeout_ms)
    except PlaywrightTimeout:
        await ctx.cdp.send("Page.stopLoading")  # else the page stays busy (screenshots hang)
        raise StepFailed(ErrorKind.navigation_timeout,
                         f"{url} did not finish loading within {st.timeout_ms} ms; check the "
                         "site is up or raise timeout_ms") from None
    except PlaywrightError as exc:
        if blocked := navigation_blocked(ctx):
            raise StepFailed(ErrorKind.blocked_url, f"navigation to {blocked[0]} blocked: "
                             f"{blocked[1]}") from None
        raise StepFailed(ErrorKind.action_failed, f"could not load {url}: "
                         f"{str(exc).splitlines()[0]}") from None
    if response is not None and response.status >= 400 and (
            response.status not in args.get("allow_status", ())):
        if blocked := navigation_blocked(ctx):  # the guard's own refusal
            raise StepFailed(ErrorKind.blocked_url, f"navigation to {blocked[0]} blocked: "
                             f"{blocked[1]}")
        raise StepFailed(ErrorKind.http_error, f"{response.url} answered HTTP "
                         f"{response.status} {response.status_text}".rstrip() + "; if the "
                         f"runbook expects it, add allow_status: [{response.status}] to the step",
                         {"status": response.status, "url": response.url})


async def _maybe_in_new_tab(ctx: JobContext, st: StepRunState, args: dict, act) -> None:
    """Run `act()`; with `new_tab: true`, wait for the tab it opens and move there."""
    if args.get("new_tab"):
        await opened_by(ctx, st.timeout_ms, act)
    else:
        await act()


@step_action("click", required=("selector",), optional=("button", "count", "new_tab"))
async def click(ctx, st, args):
    element = await element_of(ctx, st, args)
    await _maybe_in_new_tab(ctx, st, args, lambda: element.click(
        button=args.get("button", "left"), click_count=args.get("count", 1),
        timeout=st.timeout_ms))


@step_action("fill", required=("selector", "value"))
async def fill(ctx, st, args):
    element = await element_of(ctx, st, args)
    await element.fill(args["value"], timeout=st.timeout_ms)
    if ctx.redactor.text(args["value"]) != args["value"]:
        ctx.masked.append(element)


@step_action("select", required=("selector",), one_of=("value", "label"))
async def select(ctx, st, args):
    element = await element_of(ctx, st, args)
    if "label" in args:
        await element.select_option(label=args["label"], timeout=st.timeout_ms)
    else:
        await element.select_option(value=args["value"], timeout=st.timeout_ms)


@step_action("check", required=("selector",))
async def check(ctx, st, args):
    await (await element_of(ctx, st, args)).check(timeout=st.timeout_ms)


@step_action("uncheck", required=("selector",))
async def uncheck(ctx, st, args):
    await (await element_of(ctx, st, args)).uncheck(timeout=st.timeout_ms)


@step_action("hover", required=("selector",))
async def hover(ctx, st, args):
    await (await element_of(ctx, st, args)).hover(timeout=st.timeout_ms)


@step_action("press", required=("key",), optional=("selector", "new_tab"))
async def press(ctx, st, args):
    if "selector" in args:
        element = await element_of(ctx, st, args)
        await _maybe_in_new_tab(ctx, st, args, lambda: element.press(
            args["key"], timeout=st.timeout_ms))
    else:
        await _maybe_in_new_tab(ctx, st, args, lambda: ctx.page.keyboard.press(args["key"]))


@step_action("drag", required=("selector", "to"), kinds={"to": "selector"})
async def drag(ctx, st, args):
    source = await element_of(ctx, st, args)
    dragged, retries = st.selector_used, st.used_retries
    target = await element_of(ctx, st, args, "to")
    st.selector_used, st.used_retries = f"{dragged} → {st.selector_used}", retries + st.used_retries
    await source.drag_to(target, timeout=st.timeout_ms)


@step_action("scroll", one_of=("selector", "to"))
async def scroll(ctx, st, args):
    if "selector" in args:
        await (await element_of(ctx, st, args)).scroll_into_view_if_needed(timeout=st.timeout_ms)
    else:
        y = "document.body.scrollHeight" if args["to"] == "bottom" else "0"
        await ctx.page.evaluate(f"window.scrollTo(0, {y})")


@step_action("wait", one_of=("ms", "selector", "url", "load"), optional=("state",))
async def wait(ctx, st, args):
    page = ctx.page
    try:
        if "ms" in args:
            await page.wait_for_timeout(args["ms"])
        elif "url" in args:
            await page.wait_for_url(glob_regex(args["url"]), timeout=st.timeout_ms)
        elif "load" in args:
            await page.wait_for_load_state(args["load"], timeout=st.timeout_ms)
        else:
            st.used_retries = st.retries  # if it fails, every round was used
            found = await wait_for_state(page, args["selector"], args.get("state", "visible"),
                                         st.timeout_ms, st.retries, st.frame)
            st.used_retries, st.selector_used = found.retries, found.candidate
            st.candidate = found.index
    except PlaywrightTimeout:
        what = f"the url {args['url']}" if "url" in args else f"the {args['load']} state"
        raise StepFailed(ErrorKind.navigation_timeout,
                         f"waited {st.timeout_ms} ms for {what} in vain") from None


@step_action("screenshot", optional=("full_page",))
async def screenshot(ctx, st, args):
    data = await ctx.page.screenshot(full_page=args.get("full_page", False), type="png",
                               mask=ctx.masks())
    await asyncio.to_thread(ctx.artifacts.save, ArtifactKind.screenshot,
                            ctx.artifact_name(st.step.name, st.step_run_id), data, "png",
                            st.step_run_id)


@step_action("approval", optional=("message", "risk"))
async def approval(ctx, st, args):
    """The wait happens before the step (see the executor); nothing is left to do."""


@step_action("repeat", required=("steps", "max"), one_of=("while", "until"), nested=True)
async def repeat(ctx, st, args):
    """The job's execution runs the iterations (loops.py): they are steps of their own."""
    assert ctx.run_nested is not None  # the execution sets it
    await ctx.run_nested(st.step, st.step_run_id)


@step_action("for_each", required=("items", "as", "steps"), optional=("max",), nested=True,
             kinds={"items": "items", "as": "name"})
async def for_each(ctx, st, args):
    """Once per item of a collection or a list param, as iterations (loops.py)."""
    assert ctx.run_nested is not None
    await ctx.run_nested(st.step, st.step_run_id)


def find_tab(ctx: JobContext, to) -> Page | None:
    """The open tab `to` names (previous, latest, an index, {url: glob}); None for
    {title} (it needs awaiting) and for a tab that does not exist."""
    pages = ctx.context.pages
    if to == "previous":
        return ctx.tab_history[-1] if ctx.tab_history else None
    if to == "latest":
        return pages[-1] if pages else None
    if isinstance(to, int):
        return pages[to] if to < len(pages) else None
    if "url" in to:
        return next((p for p in pages if glob_match(to["url"], p.url)), None)
    return None  # by title: needs awaiting, see switch_tab


@step_action("switch_tab", required=("to",), kinds={"to": "tab"})
async def switch_tab(ctx: JobContext, st, args):
    to = args["to"]
    page = find_tab(ctx, to)
    if isinstance(to, dict) and "title" in to:
        for candidate in ctx.context.pages:
            if to["title"] in await candidate.title():
                page = candidate
                break
    if page is None:
        tabs = await describe_tabs(ctx.context.pages)
        listed = "; ".join(f'{i}: {t["url"]} "{t["title"]}"' for i, t in enumerate(tabs))
        raise StepFailed(ErrorKind.action_failed, f"no tab matches {to!r}; the open tabs "
                         f"are {listed}", {"tabs": tabs})
    if page is ctx.page:
        return
    if to == "previous":  # going back: the tab left is not a place to come back to
        ctx.tab_history.pop()
        await switch_to(ctx, page, remember=False)
    else:
        await switch_to(ctx, page)


@step_action("close_tab")
async def close_tab(ctx: JobContext, st, args):
    leaving = ctx.page
    ctx.tab_history[:] = [p for p in ctx.tab_history if not p.is_closed()]
    others = [p for p in ctx.context.pages if p is not leaving]
    if not others:
        raise StepFailed(ErrorKind.action_failed, "the job's only tab cannot be closed; "
                         "close_tab closes a tab opened by an earlier step")
    # Back to the tab the job came from, else to the newest other one.
    await switch_to(ctx, ctx.tab_history.pop() if ctx.tab_history else others[-1],
                    remember=False)
    await leaving.close()
