"""What many step actions do first: find the step's element, make its URL absolute.

Kept apart from the modules of actions (they import this one), so that they can be
imported in any order: the runbook loader imports them to fill the registry.
"""

import re
from urllib.parse import urljoin

from engine.runner.locate import resolve
from engine.runner.step_context import JobContext, StepRunState


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
    return found.locator
