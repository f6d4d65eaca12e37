"""A benchmark job with a large collection: the form runbook with two more steps that
make ROWS table rows in the page (a capture's JS) and `extract` them, so that every later
snapshot follows a job holding a 1000-record collection (bench/engine_overhead.py)."""

import json

MAKE_ROWS = ("(() => { const t = document.createElement('table'); for (let i = 0; i < "
             "ROWS; i++) { const r = t.insertRow(); r.className = 'bench-row'; "
             "r.insertCell().className = 'id'; r.cells[0].textContent = 'R' + i; "
             "r.insertCell().className = 'name'; r.cells[1].textContent = 'Record ' + i; } "
             "document.body.append(t); return 'ok'; })()")
ROWS = 1000


def rows_runbook(text: str) -> str:
    """The runbook `text` with two steps after its second: a capture's JS adds ROWS table
    rows to the page, and `extract` reads them into a collection (about 30 bytes each)."""
    lines = text.splitlines()
    at = lines.index("steps:") + 3
    js = json.dumps(MAKE_ROWS.replace("ROWS", str(ROWS)))
    lines[at:at] = [
        f'  - {{action: assert, selector: "#title", text: "Bench form", capture: '
        f'{{made: {{js: {js}}}}}}}',
        '  - {action: extract, selector: tr.bench-row, fields: {id: .id, name: .name}, '
        'into: records}']
    return "\n".join(lines) + "\n"
