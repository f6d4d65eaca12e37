"""What a step's action can reach: the page, the job's values, collections and artifacts."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from playwright.async_api import BrowserContext, CDPSession, Locator, Page

if TYPE_CHECKING:  # annotations only: the step actions import this module, and the
    # runbook loader imports the step actions (their registry)
    from engine.runbook.model import Runbook, Step
    from engine.runner.network_guard import NetworkGuard
    from engine.runner.url_policy import UrlPolicy
    from engine.secrets.values import Redactor
    from engine.store.artifacts import ArtifactStore


@dataclass
class JobContext:
    """Lives for one job run."""

    runbook: Runbook
    page: Page
    context: BrowserContext
    cdp: CDPSession  # for what Playwright has no call for: stop loading, screencast
    policy: UrlPolicy
    artifacts: ArtifactStore
    redactor: Redactor
    values: dict[str, str]  # params, secrets and captures, for templating
    max_download_bytes: int
    collections: dict[str, list[dict]] = field(default_factory=dict)
    masked: list[Locator] = field(default_factory=list)  # fields that hold a secret
    console_errors: list[str] = field(default_factory=list)
    # Of the running step: requests the network guard blocked (url, reason), and the
    # URLs of its main-frame navigations and their redirect hops.
    blocks: list[tuple[str, str]] = field(default_factory=list)
    navigations: list[str] = field(default_factory=list)
    # Of the running step, recorded on its row: dialogs answered, tabs opened (pages),
    # warnings, uncaught page errors; and how it answers dialogs ({accept, text} or None
    # for the runbook's `dialogs` setting).
    dialogs: list[dict] = field(default_factory=list)
    tabs_opened: list[Page] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialog_answer: dict | None = None
    # Tabs: the ones the job was on before the current one (the last is "previous"), a
    # CDP session per tab, what to tell when the job moves to another tab, and whether a
    # tab about to open is the step's own (new_tab, a download by URL) rather than a surprise.
    tab_history: list[Page] = field(default_factory=list)
    cdp_sessions: dict[Page, CDPSession] = field(default_factory=dict)
    on_switch: list[Callable[[Page, CDPSession], None]] = field(default_factory=list)
    expecting_tab: bool = False
    blocked_seen: set[str] = field(default_factory=set)  # URLs already in the audit log
    background: set[asyncio.Task] = field(default_factory=set)  # e.g. audit writes
    crashed: bool = False  # the page's renderer crashed (the browser may live on)
    guard: NetworkGuard | None = None  # the proxy all of the context's traffic goes through

    # Runs a nested step's own steps (step, its step run's id); set by the job's execution.
    run_nested: Callable[[Step, int], Awaitable[None]] | None = None
    # Waits for a person to take control and hand back (message, step state); set by the
    # job's execution (engine/runner/handover.py).
    handover: Callable[[str, StepRunState], Awaitable[None]] | None = None

    # Where each step run sits in the loops around it ("iteration 2", "item 3"), by its
    # row's id, with its action: what tells the screenshots of a repeated step apart.
    places: dict[int, tuple[str, str]] = field(default_factory=dict)

    def enter_step(self, row_id: int, action: str, parent_id: int | None,
                   iteration: int | None) -> None:
        """Note where a step run sits: under a for_each its item's number, under a repeat
        its iteration's, after those of the loops around its parent."""
        outer_action, outer = self.places.get(parent_id or 0, ("", ""))
        here = ""
        if iteration is not None:
            here = f"{'item' if outer_action == 'for_each' else 'iteration'} {iteration}"
        self.places[row_id] = (action, ", ".join(p for p in (outer, here) if p))

    def artifact_name(self, name: str, row_id: int | None) -> str:
        """`name`, with where its step run sits in loops: "after fill (iteration 2)"."""
        place = self.places.get(row_id or 0, ("", ""))[1]
        return f"{name} ({place})" if place else name

    def masks(self) -> list[Locator]:
        """What a screenshot of the job's current tab paints over (another tab's fields are
        not on it): the fields a secret was typed into, and in each of the tab's frames the
        smallest elements whose text holds a secret in a form a page shows (one pattern,
        Redactor.page_pattern: one pass over the page; Playwright's text matching looks
        into open shadow roots) and the fields whose value attribute holds one. A value a
        script put into a field, or a secret drawn in an image or a canvas, is not found."""
        masks = [secret for secret in self.masked if secret.page == self.page]
        pattern = self.redactor.page_pattern
        for frame in self.page.frames if pattern else []:
            if frame.is_detached():  # gone while we looked: nothing of it is painted
                continue
            masks.append(frame.get_by_text(re.compile(pattern, re.IGNORECASE)))
            # get_by_placeholder's and get_by_title's selector, for the value attribute
            masks.append(frame.locator(f"internal:attr=[value=/{pattern}/i]"))
        return masks


@dataclass
class StepRunState:
    """What one step learns while it runs, recorded on its row afterwards."""

    step: Step
    step_run_id: int
    timeout_ms: int
    retries: int
    used_retries: int = 0
    selector_used: str | None = None
    candidate: int | None = None  # 0-based index of the selector candidate that resolved
    frame: list[str] = field(default_factory=list)  # the step's frame, templated
    visual_threshold: float | None = None  # assert unchanged's: checked on its screenshot
