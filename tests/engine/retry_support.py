"""What the Retry from step N tests share: runbooks on the demo site's /recovery pages, a
fixture that runs them for one test's key, and helpers to run a retried job."""

import csv
import io
import uuid

import httpx
import pytest
from support import in_browser_thread

from engine.bus.events import get_bus
from engine.demo_html import DEMO_PASSWORD
from engine.runner.worker import execute_job
from engine.secrets import store as secret_store
from engine.service.jobs import get_job
from models import ArtifactKind

ORDERS = """
version: 1
name: orders-KEY
title: Orders
params: {who: {default: demo}}
secrets: [site_password]
settings: {base_url: SITE/recovery/KEY, timeout_ms: 5000, screenshots: off}
steps:
  - {name: open, action: goto, url: /login}
  - {name: user, action: fill, selector: "#username", value: "{{who}}"}
  - name: password
    action: fill
    selector: "#password"
    value: "{{site_password}}"
    capture: {typed: {js: "document.getElementById('password').value"}}
  - {name: sign-in, action: click, selector: "button[type=submit]"}
  - {name: first-page, action: extract, selector: tr.row, fields: {id: .id, amount: .amount},
     into: rows}
  - name: pages
    action: repeat
    max: 5
    while: {exists: "a#next"}
    steps:
      - {name: next, action: click, selector: "a#next"}
      - {name: more, action: extract, selector: tr.row, fields: {id: .id, amount: .amount},
         into: rows}
  - {name: export-page, action: goto, url: /export}
  - name: export
    action: export
    collection: rows
    format: csv
    filename: rows.csv
    capture: {seen: {js: "Object.keys(localStorage).sort().join()"}}
"""

ITEMS = """
version: 1
name: items-KEY
title: Items
secrets: [site_password]
settings: {base_url: SITE/recovery/KEY, timeout_ms: 5000, screenshots: off}
steps:
  - {name: open, action: goto, url: /login}
  - {name: user, action: fill, selector: "#username", value: demo}
  - {name: password, action: fill, selector: "#password", value: "{{site_password}}"}
  - {name: sign-in, action: click, selector: "button[type=submit]"}
  - {name: list, action: extract, selector: tr.row, fields: {id: .id}, into: items}
  - name: each
    action: for_each
    items: items
    as: it
    when: {exists: tr.row}  # true on the list; a retry resumes on an item's page
    steps:
      - {name: visit, action: goto, url: "/item/{{it.id}}", capture: {at: {url: true}}}
      - {name: seen, action: assert, selector: "#item", text: "{{it.id}} checked"}
  - {name: done, action: export, collection: items, format: json}
"""


@pytest.fixture
def key() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture
def recovery(run_runbook, site, key):
    """Run a runbook of this module for this test's key; the site's endpoints for it."""
    secret_store.set_secret("site_password", DEMO_PASSWORD, by="admin")

    class Site:
        root = f"{site}/recovery/{key}"

        def run(self, text: str, **options):
            return run_runbook(text.replace("KEY", key), **options)

        def arm(self, what: str = "export") -> None:
            httpx.post(f"{self.root}/arm", params={"what": what}).raise_for_status()

        def forget(self) -> None:
            httpx.post(f"{self.root}/forget").raise_for_status()

        def sign_ins(self) -> int:
            return httpx.get(f"{self.root}/sign-ins").json()["sign_ins"]

    return Site()


def run_job(runtime, settings, job_id: int, approver=None):
    in_browser_thread(execute_job, job_id, settings=settings, bus=get_bus(),
                      heartbeat=runtime.heartbeat, approver=approver)
    return get_job(job_id)


def csv_rows(settings, detail) -> list[dict]:
    [export] = [a for a in detail.artifacts if a.kind == ArtifactKind.export]
    return list(csv.DictReader(io.StringIO((settings.data_dir / export.path).read_text())))


# ORDERS with a for_each over the further pages that checks each one's first row on its
# item page
PAGES_LOOP = """  - name: pages
    action: repeat
    max: 5
    while: {exists: "a#next"}
    steps:
      - {name: next, action: click, selector: "a#next"}
      - {name: more, action: extract, selector: tr.row, fields: {id: .id, amount: .amount},
         into: rows}
"""
CHECKED = ORDERS.replace("params: {who: {default: demo}}",
                         'params: {who: {default: demo}, further: {default: "2,3"}}').replace(
    PAGES_LOOP, """  - name: pages
    action: for_each
    items: further
    as: p
    steps:
      - {name: next, action: goto, url: "/rows?page={{p}}"}
      - {name: more, action: extract, selector: tr.row, fields: {id: .id, amount: .amount},
         into: rows}
      - {name: check, action: goto, url: "/item/P{{p}}-1"}
""")
assert "items: further" in CHECKED

EVERY_ROW = [f"P{p}-{i}" for p in (1, 2, 3) for i in (1, 2, 3, 4)]


