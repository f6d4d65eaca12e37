"""A secret is masked in every form it takes on its way through a browser: in a URL's path,
query and fragment as Chromium encodes them, form-encoded, JSON- and HTML-escaped and in
base64; and a page that prints a secret has it painted over in screenshots and keeps the
live view dark."""

import base64
import html
import json
import re
import threading
import zipfile
from urllib.parse import quote, quote_plus, unquote_plus, urlencode

import pytest
from sqlmodel import select
from support import in_browser_thread, pixel_at, step, viewer_browser

from engine.bus import events
from engine.bus.events import get_bus, recorded_after
from engine.secrets import store as secret_store
from engine.secrets.values import MASK, Redactor, secret_forms
from engine.service.report import build_report
from engine.store.db import session_scope
from models import ArtifactKind, Job, JobStatus

SECRETS = ["Zeb ra$9931!~", "a/b+c%d\"e'f", "pässwörd ✓"]


def chromium_forms(secret: str) -> dict[str, str]:
    """How Chromium itself writes `secret` (WHATWG URL parser, URLSearchParams, the JS
    encoders, JSON.stringify, btoa), read from the tests' own browser."""
    page = viewer_browser().new_page()
    try:
        return page.evaluate("""(s) => {
            const u = new URL("http://host/p/" + s + "?q=" + s + "#" + s);
            const at = new URL("http://host/");
            at.username = s; at.password = s;
            return {
              path: u.pathname.slice(3), query: u.search.slice(3), fragment: u.hash.slice(1),
              userinfo: at.password, form: new URLSearchParams({q: s}).toString().slice(2),
              component: encodeURIComponent(s), uri: encodeURI(s),
              json: JSON.stringify(s).slice(1, -1),
              base64: btoa(String.fromCharCode(...new TextEncoder().encode(s))),
            }; }""", secret)
    finally:
        page.close()


def python_forms(secret: str) -> dict[str, str]:
    """How Python's standard library writes `secret`."""
    return {"quote": quote(secret), "quote_safe_none": quote(secret, safe=""),
            "quote_plus": quote_plus(secret), "urlencode": urlencode({"q": secret})[2:],
            "lower_hex": re.sub(r"%[0-9A-F]{2}", lambda m: m[0].lower(), quote_plus(secret)),
            "read_back_from_a_query": unquote_plus(secret),
            "json_ascii": json.dumps(secret)[1:-1],
            "json_unicode": json.dumps(secret, ensure_ascii=False)[1:-1],
            "html": html.escape(secret), "html_39": html.escape(secret).replace("&#x27;", "&#39;"),
            "html_numeric": "".join(f"&#{ord(c)};" if c in "&<>\"'" or not c.isascii() else c
                                    for c in secret),
            "base64": base64.b64encode(secret.encode()).decode(),
            "base64_unpadded": base64.b64encode(secret.encode()).decode().rstrip("=")}


@pytest.mark.parametrize("secret", SECRETS)
def test_every_form_a_browser_or_python_writes_is_a_secret_form(secret):
    forms = secret_forms(secret)
    written = {**in_browser_thread(chromium_forms, secret), **python_forms(secret)}
    missing = {name: form for name, form in written.items() if form not in forms}
    assert not missing, missing
    redactor = Redactor([secret])
    for name, form in written.items():
        assert redactor.text(f"<{form}>") == f"<{MASK}>", name


def test_the_url_encodings_follow_the_whatwg_percent_encode_sets():
    secret = "Zeb ra$9931!~"
    forms = secret_forms(secret)
    # what Chromium stored in the incident: the path/query form, "$!~" kept
    assert "Zeb%20ra$9931!~" in forms
    assert "Zeb+ra%249931%21%7E" in forms  # an HTML form post
    assert "Zeb%20ra%249931!~" in forms  # encodeURIComponent
    quoted = "a/b+c%d\"e'f"
    forms = secret_forms(quoted)
    assert "a/b+c%d%22e'f" in forms  # query: "%" and "'" kept
    assert "a/b+c%d%22e%27f" in forms  # the query of a special (http) URL: "'" encoded
    assert "a%2Fb%2Bc%25d%22e'f" in forms  # component set: "/+%" encoded, "'" kept
    assert "a/b+c%d&quot;e&#x27;f" in forms and "a/b+c%d&#34;e&#39;f" in forms
    assert "p&#xE4;ssw&#xF6;rd &#x2713;" in secret_forms("pässwörd ✓")


def test_a_secret_inside_a_longer_text_is_masked_in_each_form():
    redactor = Redactor(["Zeb ra$9931!~"])
    text = ("GET /echo/Zeb%20ra$9931!~?t=Zeb%20ra$9931!~ body=t=Zeb+ra%249931%21%7E "
            '{"t":"Zeb ra$9931!~"} <p>Zeb ra$9931!~</p> WmViIHJhJDk5MzEhfg==')
    assert redactor.text(text) == (f"GET /echo/{MASK}?t={MASK} body=t={MASK} "
                                   f'{{"t":"{MASK}"}} <p>{MASK}</p> {MASK}')


RUNBOOK = """
version: 1
name: secret-in-url
title: Secret in a URL
settings: {base_url: SITE, timeout_ms: 3000, retries: 0, trace: true}
secrets: [api_token]
steps:
  - name: open-with-it
    action: goto
    url: "/echo/{{api_token}}/end?token={{api_token}}&n=1#{{api_token}}"
    capture:
      address: {url: true}
      href: {js: "location.href"}
      printed: {selector: "#echo-query"}
      boxes: {js: "JSON.stringify(['#echo-path', '#echo-query', '#echo-url', '#echo-field',
        '#plain'].map((s) => document.querySelector(s).getBoundingClientRect()))"}
  - name: not-found
    action: goto
    url: "/status/404?token={{api_token}}"
    continue_on_error: true
  - {name: fetch-it, action: download, url: "/echo/x/{{api_token}}"}
"""


def _text_members(path):
    """A trace's text members, each as it is and, for its JSON lines, as the strings they
    decode to (a selector inside a JSON string is escaped twice), with regular
    expressions' escapes read (\\xHH, \\s+) too."""
    with zipfile.ZipFile(path) as archive:
        for member in archive.namelist():
            if not member.endswith((".jpeg", ".jpg", ".png", ".webm")):
                text = archive.read(member).decode("utf-8", "replace")
                decoded = []
                for line in text.splitlines():
                    try:
                        decoded.append(_strings(json.loads(line)))
                    except ValueError:
                        pass
                strings = "\n".join(decoded)
                unescaped = re.sub(r"\\x([0-9a-fA-F]{2})", lambda m: chr(int(m[1], 16)),
                                   strings.replace("\\s+", " "))
                yield member, "\n".join([text, strings, unescaped])


def _strings(data) -> str:
    if isinstance(data, dict):
        return "\n".join(_strings(v) for v in data.values())
    if isinstance(data, list):
        return "\n".join(_strings(v) for v in data)
    return data if isinstance(data, str) else ""


@pytest.mark.parametrize("secret", SECRETS)
def test_a_secret_in_a_url_is_masked_in_every_record_and_painted_over(
        secret, run_runbook, settings):
    secret_store.set_secret("api_token", secret, by="admin")
    written = {**in_browser_thread(chromium_forms, secret), **python_forms(secret),
               "raw": secret}
    written = {name: form for name, form in written.items() if len(form) >= 4}
    seen = []
    unsubscribe = get_bus().subscribe(seen.append)
    try:
        detail = run_runbook(RUNBOOK)
    finally:
        unsubscribe()
    assert detail.job.status == JobStatus.completed, detail.job.error_message

    def leaks(text: str) -> dict[str, str]:
        return {name: form for name, form in written.items() if form in text}

    opened = step(detail, "open-with-it")
    assert opened.captures["address"].count(MASK) == 3, opened.captures["address"]
    assert opened.captures["href"] == opened.captures["address"]
    assert opened.captures["printed"] == f"token={MASK} n=1"
    failed = step(detail, "not-found")
    assert failed.status == "failed" and MASK in (failed.error_message or "")
    [download] = [a for a in detail.artifacts if a.kind == ArtifactKind.download]
    if "/" not in secret:  # the last part of the path names the file: here, all of it
        assert MASK in download.name, download.name
    rows = json.dumps([r.model_dump(mode="json")
                       for r in [*detail.steps, detail.job, *detail.artifacts]])
    assert not leaks(rows), leaks(rows)
    report = json.dumps(build_report(detail.job.id, settings.data_dir), default=str)
    assert not leaks(report), leaks(report)
    events = repr([{k: v for k, v in e.data.items() if k != "jpeg"}
                   for e in seen + recorded_after(detail.job.id)])
    assert not leaks(events), leaks(events)
    # the database (and its WAL) and the artifacts; not the store, nor the downloaded
    # page, which is the site's own file (kept as it came)
    kept = {settings.data_dir / "secrets.json", settings.data_dir / download.path}
    for path in settings.data_dir.rglob("*"):
        if path.is_file() and path not in kept and path.suffix not in (".jpg", ".zip"):
            found = leaks(path.read_bytes().decode("utf-8", "replace"))
            assert not found, f"{path}: {found}"
    [trace] = [a for a in detail.artifacts if a.kind == ArtifactKind.trace]
    for member, text in _text_members(settings.data_dir / trace.path):
        found = leaks(text)
        assert not found, f"trace {member}: {found}"

    # The page printed it (decoded, and encoded in its address) and in a field's value:
    # each is painted over (Playwright's mask colour); text without it is not.
    path_box, query_box, url_box, field_box, plain_box = json.loads(opened.captures["boxes"])
    [shot] = [a for a in detail.artifacts
              if a.step_run_id == opened.id and a.kind == ArtifactKind.screenshot]
    jpeg = (settings.data_dir / shot.path).read_bytes()
    for name, box in [("path", path_box), ("query", query_box), ("address", url_box),
                      ("field", field_box)]:
        for fx, fy in [(0.1, 0.5), (0.5, 0.5), (0.9, 0.5)]:
            red, green, blue = in_browser_thread(pixel_at, settings, jpeg,
                                                 box["x"] + box["width"] * fx,
                                                 box["y"] + box["height"] * fy)
            assert red > 200 and green < 80 and blue > 200, (name, fx, (red, green, blue))
    plain = in_browser_thread(pixel_at, settings, jpeg, plain_box["x"] + 2,
                              plain_box["y"] + plain_box["height"] / 2)
    assert not (plain[0] > 200 and plain[1] < 80 and plain[2] > 200), plain


LIVE = """
version: 1
name: NAME
title: Live NAME
settings: {base_url: SITE, timeout_ms: 20000, retries: 0, screenshots: "off"}
secrets: [api_token]
steps:
  - {name: busy, action: goto, url: "/echo/SHOWN?ms=2500"}
  - {name: done, action: wait, selector: "#done"}
"""


def _live_frames(run_runbook, name: str, shown: str) -> int:
    """Live frames published for a job whose page keeps painting for 2.5 s, printing
    `shown`, while someone watches it (as a job page or an SSE stream does)."""
    frames: list[events.Event] = []
    bus = events.get_bus()
    unsubscribe = bus.subscribe(lambda e: frames.append(e) if (
        e.kind == events.SCREENSHOT and e.data.get("live")) else None)
    stop = threading.Event()

    def viewer() -> None:
        while not stop.is_set():
            with session_scope() as session:
                job = session.exec(select(Job).where(Job.runbook_name == name)).first()
            if job is not None:
                bus.publish(events.Event(events.VIEWING, job.id))
            stop.wait(events.VIEWING_EVERY_S / 4)

    watching = threading.Thread(target=viewer)
    watching.start()
    try:
        detail = run_runbook(LIVE.replace("NAME", name).replace("SHOWN", shown))
    finally:
        stop.set()
        unsubscribe()
        watching.join()
    assert detail.job.status == JobStatus.completed, detail.job.error_message
    return len([f for f in frames if f.job_id == detail.job.id])


def test_the_live_view_drops_frames_while_the_page_shows_a_secret(run_runbook):
    secret_store.set_secret("api_token", SECRETS[0], by="admin")
    assert _live_frames(run_runbook, "live-plain", "nothing-secret") > 0
    assert _live_frames(run_runbook, "live-secret", "{{api_token}}") == 0
