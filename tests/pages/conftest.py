"""Page tests: NiceGUI's simulated user against the real console routes and a real SQLite
file, signed in through the real sign-in form (as an admin unless a test says otherwise)."""

import httpx
import pytest_asyncio
from nicegui import core
from nicegui.testing.user_simulation import user_simulation

from engine.identity import accounts
from pages.console import build_console

PASSWORD = "a-password-for-tests"
# FastAPI merges each included router's lifespan into the app's, one wrapper deeper per
# include_router; NiceGUI's per-test reset does not undo it, so after many page tests
# the nested wrappers exceed Python's recursion limit. Each test starts from the first.
FIRST_LIFESPAN = core.app.router.lifespan_context


def build(settings, with_demo: bool) -> None:
    core.app.router.lifespan_context = FIRST_LIFESPAN
    build_console(settings, with_demo=with_demo)


async def sign_in(simulated, name: str, role: str = "admin") -> None:
    """Sign the simulated browser in as `name` (made with `role` if there is no such user)."""
    if accounts.get_user(name) is None:
        accounts.create_user(name, role, PASSWORD, by="tests")
    simulated.http_client.cookies.clear()
    response = await simulated.http_client.post(
        "/login", data={"name": name, "password": PASSWORD}, headers={"Origin": "http://test"})
    assert response.status_code == 303, response.text


@pytest_asyncio.fixture
async def user(runtime, settings):
    async with user_simulation() as simulated:
        build(settings, with_demo=False)
        await sign_in(simulated, "admin")
        yield simulated


@pytest_asyncio.fixture
async def app_client(runtime, settings):
    """The whole console (demo site included) and a client with no credentials."""
    async with user_simulation() as simulated:
        build(settings, with_demo=True)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(core.app),
                                     base_url="http://test") as anonymous:
            yield simulated, anonymous
