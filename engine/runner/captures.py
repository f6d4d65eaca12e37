"""Conditions (`when`, `while`, `until`) and captures, read from the page without waiting."""

import re

from engine.errors import StepFailed
from engine.limits import cut_capture
from engine.runbook.globs import glob_match
from engine.runbook.model import Capture, Condition
from engine.runbook.templating import render
from engine.runner.locate import describe, in_frames, to_locator
from engine.runner.step_context import JobContext
from models import ErrorKind


async def holds(ctx: JobContext, cond: Condition) -> bool:
    """Whether a condition holds now."""
    if cond.kind == "not":
        return not await holds(ctx, cond.value)
    if cond.kind == "equals":
        left, right = render(cond.value, ctx.values)
        return left == right
    if cond.kind == "url":
        return glob_match(render(cond.value, ctx.values), ctx.page.url)
    scope = in_frames(ctx.page, render(cond.frame, ctx.values))
    for cand in render(cond.value, ctx.values):
        locator = to_locator(scope, cand)
        if cond.kind == "exists" and await locator.count() > 0:
            return True
        if cond.kind == "visible" and await locator.first.is_visible():
            return True
    return False


async def read_capture(ctx: JobContext, cap: Capture, frames: list[str] | None = None) -> str:
    """A capture's value as text ('' when nothing is there); fails if required and empty.
    A selector capture reads inside `frames` (the step's frame) when given."""
    page = ctx.page
    value = ""
    if cap.url:
        value = page.url
    elif cap.js is not None:
        result = await page.evaluate(render(cap.js, ctx.values))
        value = "" if result is None else str(result)
    else:
        scope = in_frames(page, frames or [])
        for cand in render(cap.selector, ctx.values):
            locator = to_locator(scope, cand)
            if await locator.count() > 0:
                first = locator.first
                value = (await first.get_attribute(render(cap.attr, ctx.values)) if cap.attr
                         else await first.inner_text()) or ""
                break
    if cap.pattern is not None:
        match = re.search(render(cap.pattern, ctx.values), value)
        value = (match.group(1) if match.groups() else match.group(0)) if match else ""
    value = cut_capture(value.strip())  # after `pattern`, so it may match beyond the cut
    if cap.required and not value:
        where = ", ".join(describe(c) for c in cap.selector) if cap.selector else (
            "the page url" if cap.url else "the script")
        raise StepFailed(ErrorKind.capture_missing,
                         f'required capture "{cap.name}" is empty: nothing found by {where}')
    return value
