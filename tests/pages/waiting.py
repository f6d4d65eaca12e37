"""Waiting for what a page shows: pages load their data after they are delivered."""

import asyncio
import time


async def eventually(check, timeout: float = 5.0):
    """Retry `check` (a function that asserts) until it passes or the time is up."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)
