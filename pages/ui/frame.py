"""The frame every page shares: header, navigation and theme."""

from contextlib import contextmanager

from nicegui import app, ui

from pages.ui.identity import allowed, signed_in_now, viewer

NAV = [("Jobs", "/jobs"), ("Runbooks", "/runbooks"), ("Schedules", "/schedules"),
       ("API", "/docs"), ("Demo site", "/demo/")]


@contextmanager
def frame(title: str):
    ui.colors(primary="#3b5bdb")
    ui.page_title(f"{title} · Jobdeck")
    # kept per browser on the server (browser storage is a cookie, fixed once the page is sent)
    dark = ui.dark_mode(app.storage.user.get("dark"))  # None: follow the system
    app.storage.client["dark_mode"] = dark  # for the code views that follow it
    with ui.header().classes("items-center px-4 py-1 gap-1 flex-wrap"):
        ui.link("Jobdeck", "/jobs").classes("text-lg font-bold text-white no-underline mr-4")
        for label, target in NAV:
            ui.link(label, target).classes("text-white no-underline px-2 py-1 rounded "
                                           "hover:bg-white/20" + (" gt-xs" if label in (
                                               "API", "Demo site") else ""))
        ui.space()
        ui.button(icon="dark_mode", on_click=lambda: _toggle(dark)).props(
            "flat round dense color=white").tooltip("Dark mode").mark("dark-mode")
        _account_menu()
    ui.add_body_html(SESSION_ENDED_SCRIPT)
    ui.timer(SESSION_CHECK_S, _check_session, immediate=False)  # the gate just checked
    with ui.column().classes("w-full max-w-6xl mx-auto p-3 sm:p-6 gap-4"):
        yield


# An open page lives on its websocket, which the gate checked once: look again now and
# then, so a page whose session ended (signed out elsewhere, expired, user disabled) goes
# to the sign-in form instead of showing on.
SESSION_CHECK_S = 60
# When the websocket is refused (say after the laptop slept past the session), NiceGUI
# would show "connection lost" for ever: ask the API, and go to the sign-in form on 401.
SESSION_ENDED_SCRIPT = """<script>
(function () {
  const watch = setInterval(() => {
    if (!window.socket) return;
    clearInterval(watch);
    window.socket.on("connect_error", async () => {
      try {
        const answer = await fetch("/api/me", {credentials: "same-origin"});
        if (answer.status === 401) {
          location.href = "/login?expired=1&next=" +
            encodeURIComponent(location.pathname + location.search);
        }
      } catch (e) { /* the server is away: NiceGUI keeps trying */ }
    });
  }, 200);
})();
</script>"""


async def _check_session() -> None:
    if await signed_in_now() is None:
        ui.navigate.to("/login?expired=1")


ADMIN_PAGES = [("Users", "/users", "group", "users"), ("Secrets", "/secrets", "key", "secrets"),
               ("Notifications", "/notifications", "notifications", "notifications"),
               ("Storage", "/storage", "storage", "storage"),
               ("Audit log", "/audit", "policy", "audit")]


def _account_menu() -> None:
    me = viewer()
    with ui.button(me.name, icon="account_circle").props(
            "flat no-caps dense color=white").mark("account-menu"):
        with ui.menu():
            ui.item(f"Signed in as {me.name} ({me.role.value})").props("disable")
            ui.menu_item("Your account", lambda: ui.navigate.to("/account"))
            for label, target, _, action in ADMIN_PAGES:
                if allowed(action):
                    ui.menu_item(label, lambda t=target: ui.navigate.to(t))
            ui.separator()
            # a real form: the browser's current cookie is what ends, and is cleared
            with ui.element("form").props('method="post" action="/logout"').classes("w-full"):
                ui.button("Sign out", icon="logout").props(
                    "type=submit flat no-caps align=left").classes("w-full").mark("sign-out")


def follow_dark_mode(code: ui.codemirror) -> ui.codemirror:
    """Give a code view the page's light or dark theme, now and whenever it switches:
    CodeMirror paints its own colours, which Quasar's dark mode does not reach."""
    dark = app.storage.client.get("dark_mode")
    if dark is None:  # not under frame()
        return code

    def show(is_dark) -> None:
        if not code.is_deleted:
            code.theme = "basicDark" if is_dark else "basicLight"

    async def ask_browser() -> None:  # following the system: only the browser knows
        try:
            show(await ui.run_javascript("document.body.classList.contains('body--dark')"))
        except TimeoutError:  # the page went away, or answers no scripts
            pass

    dark.on_value_change(lambda e: show(e.value))
    if dark.value is None:
        ui.timer(0, ask_browser, once=True)  # runs once the browser is connected
    else:
        show(dark.value)
    return code


def _toggle(dark) -> None:
    dark.set_value(not dark.value)
    app.storage.user["dark"] = dark.value
