"""What many step actions share: find the step's element, make its URL absolute, let a
navigation it started settle.

Kept apart from the modules of actions (they import this one), so that they can be
imported in any order: the runbook loader imports them to fill the registry.
"""

import re
from urllib.parse import urljoin

from playwright.async_api import TimeoutError as PlaywrightTimeout

from engine.errors import StepFailed
from engine.runner.locate import resolve
from engine.runner.step_context import JobContext, StepRunState
from models import ErrorKind


def absolute_url(ctx: JobContext, url: str) -> str:
    """A URL as written, or joined to the runbook's base_url when it has no scheme."""
    base = ctx.values.get("__base_url__") or ""
    if base and not re.match(r"^[a-z][a-z0-9+.-]*:", url, re.I):
        return urljoin(base.rstrip("/") + "/", url.lstrip("/"))
    return url


async def element_of(ctx: JobContext, st: StepRunState, args: dict, key: str = "selector"):
    """The one element the step's selector `key` finds (in the step's frame), resolved in
    rounds (locate.py); records the rounds used and the candidate on the step."""
    st.used_retries = st.retries  # if it fails, every round was used
    found = await resolve(ctx.page, args[key], st.timeout_ms, st.retries,
                          frames=st.frame)
    st.used_retries, st.selector_used = found.retries, found.candidate
    st.candidate = found.index
    return found.locator


async def settle(ctx: JobContext, st: StepRunState) -> None:
    """After an action that started a navigation of the job's tab (a link, a submit,
    Enter), wait until the new document has loaded, so that conditions and captures after
    it see the new page (runbook-format.md, "Navigation settles"). Playwright's click and
    press return once such a navigation has committed; this waits for its load event, up
    to the step's timeout (navigation_timeout after that)."""
    try:
        await ctx.page.wait_for_load_state("load", timeout=st.timeout_ms)
    except PlaywrightTimeout:
        raise StepFailed(ErrorKind.navigation_timeout, f"the page the step opened "
                         f"({ctx.page.url}) did not finish loading within {st.timeout_ms} "
                         "ms; raise the step's timeout_ms") from None
