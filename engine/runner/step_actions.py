"""One function per runbook action, each registered with its parameters by `@step_action`;
each gets the step's arguments already templated."""

import asyncio
import csv
import io
import json
import re
from urllib.parse import urljoin

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout
from playwright.async_api import expect

from engine.errors import StepFailed
from engine.runbook.actions import step_action
from engine.runbook.globs import glob_regex
from engine.runner.browser_session import navigation_blocked, note_block
from engine.runner.locate import resolve, to_locator
from engine.runner.step_context import JobContext, StepRunState
from engine.store.artifacts import sniffed_extension
from models import ArtifactKind, ErrorKind

# Reads every row's fields in one round trip; sub-selectors are CSS.
EXTRACT_JS = """(rows, fields) => rows.map(row => Object.fromEntries(
  Object.entries(fields).map(([col, f]) => {
    const el = f.selector ? row.querySelector(f.selector) : row;
    if (!el) return [col, ""];
    const v = f.attr ? el.getAttribute(f.attr) : el.innerText;
    return [col, (v || "").trim()];
  })))"""


async def _element(ctx: JobContext, st: StepRunState, args: dict):
    st.used_retries = st.retries  # if it fails, every round was used
    found = await resolve(ctx.page, args["selector"], st.timeout_ms, st.retries)
    st.used_retries, st.selector_used = found.retries, found.candidate
    return found.locator


@step_action("goto", required=("url",))
async def goto(ctx: JobContext, st: StepRunState, args: dict) -> None:
    base = ctx.values.get("__base_url__") or ""
    url = urljoin(base.rstrip("/") + "/", args["url"].lstrip("/")) if base and not re.match(
        r"^[a-z][a-z0-9+.-]*:", args["url"], re.I) else args["url"]
    reason = ctx.policy.blocked_reason(url)
    if reason:
        await note_block(ctx, url, reason)
        raise StepFailed(ErrorKind.blocked_url, f"navigation to {url} blocked: {reason}")
    try:
        await ctx.page.goto(url, timeout=st.timeout_ms)
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


@step_action("click", required=("selector",), optional=("button", "count"))
async def click(ctx, st, args):
    await (await _element(ctx, st, args)).click(button=args.get("button", "left"),
                                  click_count=args.get("count", 1), timeout=st.timeout_ms)


@step_action("fill", required=("selector", "value"))
async def fill(ctx, st, args):
    element = await _element(ctx, st, args)
    await element.fill(args["value"], timeout=st.timeout_ms)
    if ctx.redactor.text(args["value"]) != args["value"]:
        ctx.masked.append(element)


@step_action("select", required=("selector",), one_of=("value", "label"))
async def select(ctx, st, args):
    element = await _element(ctx, st, args)
    if "label" in args:
        await element.select_option(label=args["label"], timeout=st.timeout_ms)
    else:
        await element.select_option(value=args["value"], timeout=st.timeout_ms)


@step_action("check", required=("selector",))
async def check(ctx, st, args):
    await (await _element(ctx, st, args)).check(timeout=st.timeout_ms)


@step_action("uncheck", required=("selector",))
async def uncheck(ctx, st, args):
    await (await _element(ctx, st, args)).uncheck(timeout=st.timeout_ms)


@step_action("hover", required=("selector",))
async def hover(ctx, st, args):
    await (await _element(ctx, st, args)).hover(timeout=st.timeout_ms)


@step_action("press", required=("key",), optional=("selector",))
async def press(ctx, st, args):
    if "selector" in args:
        await (await _element(ctx, st, args)).press(args["key"], timeout=st.timeout_ms)
    else:
        await ctx.page.keyboard.press(args["key"])


@step_action("scroll", one_of=("selector", "to"))
async def scroll(ctx, st, args):
    if "selector" in args:
        await (await _element(ctx, st, args)).scroll_into_view_if_needed(timeout=st.timeout_ms)
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
            locators = [to_locator(page, c) for c in args["selector"]]
            combined = locators[0]
            for loc in locators[1:]:
                combined = combined.or_(loc)
            await combined.first.wait_for(state=args.get("state", "visible"), timeout=st.timeout_ms)
    except PlaywrightTimeout:
        what = next(k for k in ("url", "load", "selector") if k in args)
        kind = ErrorKind.element_not_found if what == "selector" else ErrorKind.navigation_timeout
        raise StepFailed(kind, f"waited {st.timeout_ms} ms for {what} "
                         f"{args.get('state', '')} in vain".replace("  ", " ")) from None


@step_action("extract", required=("selector", "fields", "into"))
async def extract(ctx, st, args):
    st.used_retries = st.retries
    found = await resolve(ctx.page, args["selector"], st.timeout_ms, st.retries, many=True)
    st.used_retries, st.selector_used = found.retries, found.candidate
    records = await found.locator.evaluate_all(EXTRACT_JS, args["fields"])
    ctx.collections.setdefault(args["into"], []).extend(ctx.redactor.data(records))


@step_action("assert", one_of=("selector", "url", "title"), optional=("text",))
async def assert_(ctx, st, args):
    page = ctx.page
    try:
        if "url" in args:
            await expect(page).to_have_url(glob_regex(args["url"]), timeout=st.timeout_ms)
        elif "title" in args:
            await expect(page).to_have_title(args["title"], timeout=st.timeout_ms)
        else:
            element = await _element(ctx, st, args)
            if "text" in args:
                await expect(element).to_contain_text(args["text"], timeout=st.timeout_ms)
    except AssertionError:
        what = ("url " + page.url if "url" in args else
                "title " + repr(await page.title()) if "title" in args else "text")
        expected = args.get("url") or args.get("title") or args.get("text")
        raise StepFailed(ErrorKind.assertion_failed,
                         f"assertion failed: expected {expected!r}, the page has {what}") from None
    except StepFailed as exc:
        raise StepFailed(ErrorKind.assertion_failed, f"assertion failed: {exc.message}",
                         exc.diagnostics) from None


@step_action("screenshot", optional=("full_page",))
async def screenshot(ctx, st, args):
    data = await ctx.page.screenshot(full_page=args.get("full_page", False), type="png",
                               mask=ctx.masked)
    await asyncio.to_thread(ctx.artifacts.save, ArtifactKind.screenshot, st.step.name, data,
                            "png", st.step_run_id)


@step_action("download", required=("selector",))
async def download(ctx, st, args):
    element = await _element(ctx, st, args)
    if ctx.guard is not None:  # a download over the limit is cut off as it passes it
        ctx.guard.arm(ctx.max_download_bytes)
    try:
        dl = await _started_download(ctx, st, element)
        name = dl.suggested_filename or "download"  # Content-Disposition's, RFC 6266
        over_limit = StepFailed(
            ErrorKind.action_failed, f"download {name} is over the limit of "
            f"{ctx.max_download_bytes} bytes (JOBDECK_MAX_DOWNLOAD_MB); nothing was kept")
        stem, dot, ext = name.rpartition(".")
        path = ctx.artifacts.new_path(stem if dot else name, ext if dot else "bin")
        try:
            await dl.save_as(path)  # Chromium streamed it to disk; this waits for the end
        except PlaywrightError:
            if ctx.guard is not None and ctx.guard.cut_off:
                raise over_limit from None
            raise
    finally:
        if ctx.guard is not None:
            ctx.guard.disarm()
    if path.stat().st_size > ctx.max_download_bytes:  # e.g. a blob: URL, never on the wire
        path.unlink()
        raise over_limit
    if not dot and (sniffed := sniffed_extension(path)):  # a name without its type
        path = path.rename(path.with_suffix(f".{sniffed}"))
    await asyncio.to_thread(ctx.artifacts.record, ArtifactKind.download, name, path,
                            st.step_run_id)


async def _started_download(ctx: JobContext, st: StepRunState, element):
    """Click and wait for the download to start; fails at once when the guard refused it."""
    started = asyncio.ensure_future(ctx.page.wait_for_event("download", timeout=st.timeout_ms))
    blocked = asyncio.ensure_future(_until_navigation_blocked(ctx))
    try:
        await element.click(timeout=st.timeout_ms)
        await asyncio.wait({started, blocked}, return_when=asyncio.FIRST_COMPLETED)
        if not started.done():  # no need to wait the step's timeout out
            url, reason = blocked.result()
            raise StepFailed(ErrorKind.blocked_url, f"download from {url} blocked: {reason}")
        return started.result()
    finally:
        for task in (started, blocked):
            task.cancel()


async def _until_navigation_blocked(ctx: JobContext) -> tuple[str, str]:
    while (found := navigation_blocked(ctx)) is None:
        await asyncio.sleep(0.05)
    return found


@step_action("export", required=("collection", "format"), optional=("filename",))
async def export(ctx, st, args):
    name = args["collection"]
    if name not in ctx.collections:
        raise StepFailed(ErrorKind.action_failed, f'collection "{name}" has no records: no '
                         "extract step with that `into` ran before this export")
    records = ctx.collections[name]
    fmt = args["format"]
    if fmt == "json":
        data = json.dumps(records, ensure_ascii=False, indent=2)
    else:
        columns = list(dict.fromkeys(k for r in records for k in r))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(records)
        data = out.getvalue()
    filename = args.get("filename") or f"{name}.{fmt}"
    await asyncio.to_thread(ctx.artifacts.save, ArtifactKind.export, filename,
                            data.encode("utf-8"), fmt, st.step_run_id)


@step_action("approval", optional=("message", "risk"))
async def approval(ctx, st, args):
    """The wait happens before the step (see the executor); nothing is left to do."""


@step_action("repeat", required=("steps", "max"), one_of=("while", "until"), nested=True)
async def repeat(ctx, st, args):
    """The job's execution runs the iterations: they are steps of their own."""
    assert ctx.run_nested is not None  # the execution sets it
    await ctx.run_nested(st.step, st.step_run_id)
