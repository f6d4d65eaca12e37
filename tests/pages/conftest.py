"""Page tests: NiceGUI's simulated user against the real console routes and a real SQLite file."""

import pytest_asyncio
from nicegui.testing.user_simulation import user_simulation

from pages.console import build_console


@pytest_asyncio.fixture
async def user(runtime, settings):
    async with user_simulation() as simulated:
        build_console(settings, with_demo=False)
        yield simulated
