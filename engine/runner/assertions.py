"""The `assert` action: the page's URL or title, or an element's visibility, text, value,
checked state or number of matches, or that the page looks as it did (`unchanged`). Each
check waits up to the step's timeout (Playwright's `expect`), looks at what a person sees (a
hidden element has no text to match), and a failure says what was expected and what the
page had."""

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, expect

from engine.errors import StepFailed
from engine.runbook.actions import step_action
from engine.runbook.globs import glob_regex
from engine.runner.locate import in_frames, to_locator
from engine.runner.step_context import JobContext, StepRunState
from engine.runner.step_tools import element_of
from models import ErrorKind

CHECKS = ("text", "equals", "visible", "value", "checked", "count")
# assert unchanged without a threshold: at most this share of the pixels may change (1 %:
# above a blinking caret or a clock's digits, below a banner, a row or a message that changed)
UNCHANGED_THRESHOLD = 0.01


@step_action("assert", one_of=("selector", "url", "title", "unchanged"),
             optional=(*CHECKS, "threshold"), kinds={"count": "whole", "threshold": "share"})
async def assert_(ctx: JobContext, st: StepRunState, args: dict) -> None:
    page = ctx.page
    if args.get("unchanged"):  # decided on the step's screenshot (engine/runner/visual.py)
        st.visual_threshold = args.get("threshold", UNCHANGED_THRESHOLD)
        return
    try:
        if "url" in args:
            await _expect(expect(page).to_have_url(glob_regex(args["url"]),
                                                   timeout=st.timeout_ms),
                          "the url", args["url"], lambda: _value(page.url))
        elif "title" in args:
            await _expect(expect(page).to_have_title(args["title"], timeout=st.timeout_ms),
                          "the title", args["title"], page.title)
        else:
            await _element_checks(ctx, st, args)
    except StepFailed as exc:
        if exc.kind == ErrorKind.assertion_failed:
            raise
        raise StepFailed(ErrorKind.assertion_failed, f"assertion failed: {exc.message}",
                         exc.diagnostics) from None


async def _element_checks(ctx: JobContext, st: StepRunState, args: dict) -> None:
    timeout = st.timeout_ms
    if "count" in args or args.get("visible") is False:  # none may be there: no resolving
        scope = in_frames(ctx.page, st.frame)
        every = to_locator(scope, args["selector"][0])
        for cand in args["selector"][1:]:
            every = every.or_(to_locator(scope, cand))
        if "count" in args:
            await _expect(expect(every).to_have_count(args["count"], timeout=timeout),
                          "the number of matches", args["count"], every.count)
        if args.get("visible") is False:
            await _expect(expect(every.first).to_be_hidden(timeout=timeout), "visible",
                          False, every.first.is_visible)
        return
    element = await element_of(ctx, st, args)
    if args.get("visible") or "text" in args or "equals" in args:
        await _expect(expect(element).to_be_visible(timeout=timeout), "visible", True,
                      element.is_visible)
    if "text" in args:
        await _expect(expect(element).to_contain_text(args["text"], timeout=timeout,
                                                      use_inner_text=True),
                      "text containing", args["text"], lambda: _text(element))
    if "equals" in args:
        await _expect(expect(element).to_have_text(args["equals"], timeout=timeout,
                                                   use_inner_text=True),
                      "the text", args["equals"], lambda: _text(element))
    if "value" in args:
        await _expect(expect(element).to_have_value(args["value"], timeout=timeout),
                      "the value", args["value"], element.input_value)
    if "checked" in args:
        await _expect(expect(element).to_be_checked(checked=args["checked"], timeout=timeout),
                      "checked", args["checked"], element.is_checked)


async def _expect(check, what: str, expected, actual) -> None:
    """Await a Playwright expectation; on failure, StepFailed with the expected and the
    actual value (`actual`: a coroutine function that reads it now)."""
    try:
        await check
    except AssertionError:
        try:
            now = await actual()
        except PlaywrightError as exc:
            now = f"(could not be read: {str(exc).splitlines()[0]})"
        if isinstance(now, str) and len(now) > 300:
            now = now[:300] + "…"
        raise StepFailed(ErrorKind.assertion_failed,
                         f"assertion failed: expected {what} {expected!r}, the page has {now!r}",
                         {"expected": expected, "actual": now}) from None


async def _value(value):
    return value


async def _text(element: Locator) -> str:
    return (await element.inner_text()).strip()
