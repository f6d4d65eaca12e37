"""Selector resolution in rounds: try every candidate, wait with back-off, try again."""

import time
from dataclasses import dataclass, field

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import FrameLocator, Locator, Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from engine.errors import StepFailed
from models import ErrorKind


def describe(candidate: dict) -> str:
    """How a candidate reads in the timeline: `role=button name="Login"`, `#login`."""
    if "selector" in candidate:
        return candidate["selector"]
    kind = next(k for k in candidate if k != "name")
    text = f"{kind}={candidate[kind]}"
    return f'{text} name="{candidate["name"]}"' if "name" in candidate else text


Scope = Page | FrameLocator  # where selectors resolve: the page, or a frame inside it


def in_frames(page: Page, frames: list[str]) -> Scope:
    """The scope of a step's `frame`: nested frame selectors, outermost first."""
    scope: Scope = page
    for selector in frames:
        scope = scope.frame_locator(selector)
    return scope


def to_locator(page: Scope, candidate: dict) -> Locator:
    if "test_id" in candidate:
        return page.get_by_test_id(candidate["test_id"])
    if "role" in candidate:
        name = candidate.get("name")
        return page.get_by_role(candidate["role"], name=name) if name else page.get_by_role(
            candidate["role"])
    if "label" in candidate:
        return page.get_by_label(candidate["label"])
    if "placeholder" in candidate:
        return page.get_by_placeholder(candidate["placeholder"])
    if "text" in candidate:
        return page.get_by_text(candidate["text"])
    if "css" in candidate:
        return page.locator(f"css={candidate['css']}")
    return page.locator(candidate["selector"])


@dataclass
class Resolution:
    locator: Locator
    candidate: str
    retries: int
    attempts: list[dict] = field(default_factory=list)
    index: int | None = None  # 0-based: which candidate resolved (None: not one alone)


def rounds_text(timeout_ms: int, retries: int) -> str:
    """How a failure names the rounds it took: `3 rounds of up to 1500 ms`."""
    return f"{retries + 1} round{'s' if retries else ''} of up to {timeout_ms} ms"


async def resolve(page: Page, candidates: list[dict], timeout_ms: int, retries: int,
                  many: bool = False, frames: list[str] | None = None) -> Resolution:
    """The one element the first resolving candidate finds; StepFailed when none resolves.

    A candidate resolves when it matches exactly one element (with `many`, at least one),
    inside `frames` (nested iframe selectors, outermost first) when given. Each round tries
    every candidate, then waits up to `timeout_ms` for any to appear; up to `retries` more
    rounds follow, so late content gets (retries + 1) × timeout_ms in all, and the
    Resolution's `retries` is the number of rounds after the first (runbook-format.md,
    "Selectors").
    """
    attempts: list[dict] = []
    scope = in_frames(page, frames or [])
    for rnd in range(retries + 1):
        attempts = []
        for index, cand in enumerate(candidates):
            locator = to_locator(scope, cand)
            try:
                count = await locator.count()
            except PlaywrightError as exc:
                attempts.append({"candidate": describe(cand), "result": _first_line(exc)})
                continue
            if count == 1 or (many and count > 1):
                return Resolution(locator, describe(cand), rnd, attempts, index)
            attempts.append({"candidate": describe(cand),
                             "result": "no element matched" if count == 0
                             else f"{count} elements matched, expected one"})
        if rnd < retries:
            await _wait_for_any(page, scope, candidates, timeout_ms)
    rounds = rounds_text(timeout_ms, retries)
    await _fail_on_missing_frame(page, frames, rounds)
    ambiguous = any("elements matched" in a["result"] for a in attempts)
    tried = "; ".join(f'{a["candidate"]}: {a["result"]}' for a in attempts)
    if ambiguous:
        raise StepFailed(ErrorKind.element_ambiguous,
                         f"the selector matched more than one element ({tried}) after {rounds}; "
                         "make it specific, e.g. add a test_id or a role with a name",
                         {"candidates": attempts})
    raise StepFailed(ErrorKind.element_not_found,
                     f"no candidate found its element after {rounds} ({tried}); check the "
                     "selector against the page, or raise the step's timeout_ms",
                     {"candidates": attempts})


async def wait_for_state(page: Page, candidates: list[dict], state: str, timeout_ms: int,
                         retries: int, frames: list[str] | None = None) -> Resolution:
    """Wait, in rounds of up to `timeout_ms` each (as `resolve`), until the first element
    of any candidate is in `state` (visible, hidden, attached, detached; Playwright's
    `Locator.wait_for`). StepFailed naming the selector and state when no round saw it:
    element_not_found for visible/attached, action_failed for hidden/detached."""
    scope = in_frames(page, frames or [])
    combined = to_locator(scope, candidates[0])
    for cand in candidates[1:]:
        combined = combined.or_(to_locator(scope, cand))
    names = " or ".join(describe(c) for c in candidates)
    for rnd in range(retries + 1):
        try:
            await combined.first.wait_for(state=state, timeout=timeout_ms)  # type: ignore[arg-type]
        except PlaywrightTimeout:
            continue
        winner, won = names, None
        if state in ("visible", "attached"):
            for index, cand in enumerate(candidates):
                if await to_locator(scope, cand).count():
                    winner, won = describe(cand), index
                    break
        return Resolution(combined, winner, rnd, index=won)
    rounds = rounds_text(timeout_ms, retries)
    await _fail_on_missing_frame(page, frames, rounds)
    appearing = state in ("visible", "attached")
    raise StepFailed(ErrorKind.element_not_found if appearing else ErrorKind.action_failed,
                     f"{names} did not become {state} in {rounds}"
                     + ("; check the selector against the page, or raise the step's "
                        "timeout_ms" if appearing else ""), {"selector": names, "state": state})


async def _fail_on_missing_frame(page: Page, frames: list[str] | None, rounds: str) -> None:
    """StepFailed (element_not_found) naming the step's frame when it is not there: the
    reason nothing inside it was found."""
    if frames and (missing := await _missing_frame(page, frames)):
        raise StepFailed(ErrorKind.element_not_found,
                         f"the frame {missing} was not found after {rounds}; check the "
                         "step's frame selector against the page", {"frame": missing})


async def _missing_frame(page: Page, frames: list[str]) -> str | None:
    """The first of the nested frame selectors that matches no element, as `a >> b`."""
    scope: Scope = page
    for depth, selector in enumerate(frames):
        try:
            if await scope.locator(selector).count() == 0:
                return " >> ".join(frames[:depth + 1])
        except PlaywrightError:
            return " >> ".join(frames[:depth + 1])
        scope = scope.frame_locator(selector)
    return None


async def _wait_for_any(page: Page, scope: Scope, candidates: list[dict],
                        budget_ms: float) -> None:
    combined: Locator | None = None
    for cand in candidates:
        loc = to_locator(scope, cand)
        combined = loc if combined is None else combined.or_(loc)
    try:
        # Returns at once when something is attached already (e.g. two matches): then
        # back off briefly instead, so the rounds still spread over the timeout.
        started = time.monotonic()
        assert combined is not None  # a selector has at least one candidate (the loader checks)
        await combined.first.wait_for(state="attached", timeout=max(budget_ms, 1))
        if time.monotonic() - started < 0.01:
            await page.wait_for_timeout(min(budget_ms, 250))
    except (PlaywrightTimeout, PlaywrightError):
        pass


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0][:300]
