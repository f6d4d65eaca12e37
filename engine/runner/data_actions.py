"""The data actions: `extract` reads rows of the page into a collection, `export` writes a
collection as a CSV or JSON artifact (runbook-format.md, "extract", "export")."""

import asyncio
import csv
import io
import json
import re

from playwright.async_api import Error as PlaywrightError

from engine.errors import StepFailed
from engine.limits import cut_capture
from engine.runbook.actions import step_action
from engine.runner.locate import resolve
from engine.runner.step_context import JobContext, StepRunState
from models import ArtifactKind, ErrorKind

# Reads every row's fields in one round trip. A field's sub-selector is CSS, searched in
# the row and in every open shadow root under it (the row's own included), as Playwright's
# CSS engine does: the row's own elements first, then each shadow root's, outer before
# inner. Per row and column: null when nothing matched, else the text (or attribute, or
# input value) of the first match, or of every match with `all`. A selector the browser
# refuses ends the call with {bad: [column, message]}.
EXTRACT_JS = """(rows, fields) => {
  const cols = Object.entries(fields);
  for (const [col, f] of cols) {
    try { if (f.selector) document.createDocumentFragment().querySelector(f.selector); }
    catch (e) { return {bad: [col, e.message]}; }
  }
  const shadowRoots = row => {
    const found = row.shadowRoot ? [row.shadowRoot] : [];
    const hosts = node => { for (const el of node.querySelectorAll("*"))
      if (el.shadowRoot) found.push(el.shadowRoot); };
    hosts(row);
    for (let i = 0; i < found.length; i++) hosts(found[i]);
    return found;
  };
  const read = (el, f) => {
    const v = f.value ? el.value : f.attr ? el.getAttribute(f.attr) : el.innerText;
    return v == null ? "" : String(v);
  };
  return {rows: rows.map(row => {
    const roots = shadowRoots(row);
    return Object.fromEntries(cols.map(([col, f]) => {
      let els = [row];
      if (f.selector) {
        els = [...row.querySelectorAll(f.selector)];
        for (const root of roots) {
          if (els.length && !f.all) break;
          els.push(...root.querySelectorAll(f.selector));
        }
      }
      if (!els.length) return [col, null];
      return [col, (f.all ? els : els.slice(0, 1)).map(el => read(el, f))];
    }));
  })};
}"""

# OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection): a cell
# starting with one of these is run as a formula by spreadsheet programs.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def field_value(texts: list[str] | None, field: dict) -> str:
    """One field's value from what the page gave for it: each text trimmed, `pattern`
    applied (group 1 if the regex has groups, else the whole match; "" without a match),
    then the first one, or with `all` every non-empty one joined by ", "."""
    values = []
    for text in texts or []:
        value = text.strip()
        if field.get("pattern") is not None:
            match = re.search(field["pattern"], value)
            value = (match.group(1) if match.groups() else match.group(0)) if match else ""
        values.append((value or "").strip())
    if field.get("all"):
        return ", ".join(v for v in values if v)
    return values[0] if values else ""


def _rows(count: int) -> str:
    return "the one row" if count == 1 else f"any of the {count} rows"


def field_warnings(read: list[dict], records: list[dict], fields: dict) -> list[str]:
    """What the step tells about fields that found nothing: one that matched no element in
    any row, or one that matched but was blank in every row."""
    warnings = []
    for col, field in fields.items():
        where = f' (selector "{field["selector"]}")' if field["selector"] else " (the row itself)"
        if all(row[col] is None for row in read):
            warnings.append(f'field "{col}" matched nothing in {_rows(len(read))}{where}')
        elif not any(record[col] for record in records):
            blank = "the one row" if len(read) == 1 else f"all {len(read)} rows"
            warnings.append(f'field "{col}" was blank in {blank}{where}')
    return warnings


def missing_required(records: list[dict], fields: dict) -> StepFailed | None:
    """capture_missing for the first `required: true` field that is empty in some row,
    naming the field and the row (numbered from 1); None when every one has a value."""
    for col, field in fields.items():
        if not field.get("required"):
            continue
        empty = [i for i, record in enumerate(records, 1) if not record[col]]
        if empty:
            more = f" (and {len(empty) - 1} more)" if len(empty) > 1 else ""
            return StepFailed(
                ErrorKind.capture_missing,
                f'required field "{col}" is empty in row {empty[0]}{more} of {len(records)} '
                f'(selector "{field["selector"]}"); check the field\'s selector against the '
                "page, or drop required", {"field": col, "rows": empty[:50]})
    return None


@step_action("extract", required=("selector", "fields", "into"))
async def extract(ctx: JobContext, st: StepRunState, args: dict) -> None:
    """Append one record per row the selector matches to the collection `into`.

    Rows resolve in rounds (locate.py; at least one row). Each field is read as
    `EXTRACT_JS` says, then `field_value`, and kept up to 64 KiB (engine/limits.py).
    Secrets are masked in the records. Raises
    StepFailed(capture_missing) when a required field is empty in a row, and
    StepFailed(action_failed) when a field's sub-selector is not valid CSS. A field that
    found nothing in any row adds a warning to the step.
    """
    st.used_retries = st.retries
    found = await resolve(ctx.page, args["selector"], st.timeout_ms, st.retries, many=True,
                          frames=st.frame)
    st.used_retries, st.selector_used = found.retries, found.candidate
    st.candidate = found.index
    fields: dict[str, dict] = args["fields"]
    wanted = {col: {k: f.get(k) for k in ("selector", "attr", "value", "all")}
              for col, f in fields.items()}
    try:
        result = await found.locator.evaluate_all(EXTRACT_JS, wanted)
    except PlaywrightError as exc:
        raise StepFailed(ErrorKind.action_failed, "could not read the rows: "
                         f"{str(exc).strip().splitlines()[0]}") from None
    if result.get("bad"):
        col, message = result["bad"]
        raise StepFailed(ErrorKind.action_failed, f'field "{col}": the selector '
                         f'"{fields[col]["selector"]}" is not valid CSS ({message})')
    read: list[dict] = result["rows"]
    records = [{col: cut_capture(field_value(row[col], f)) for col, f in fields.items()}
               for row in read]
    ctx.warnings.extend(ctx.redactor.text(w) for w in field_warnings(read, records, fields))
    if failure := missing_required(records, fields):
        raise failure
    ctx.collections.setdefault(args["into"], []).extend(ctx.redactor.data(records))


def csv_text(records: list[dict], escape_formulas: bool = True) -> str:
    """CSV with a header row of every column in first-seen order and CRLF line ends.

    With `escape_formulas`, a cell that begins with =, +, -, @, a tab or a carriage return
    is written with a leading ' so that a spreadsheet shows it as text instead of running
    it as a formula (OWASP, "CSV Injection",
    https://owasp.org/www-community/attacks/CSV_Injection); the header cells too.
    """
    columns = list(dict.fromkeys(k for r in records for k in r))

    def cell(value: object) -> str:
        text = "" if value is None else str(value)
        return "'" + text if escape_formulas and text.startswith(FORMULA_STARTS) else text

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([cell(c) for c in columns])
    writer.writerows([cell(r.get(c)) for c in columns] for r in records)
    return out.getvalue()


@step_action("export", required=("collection", "format"),
             optional=("filename", "bom", "formulas"))
async def export(ctx: JobContext, st: StepRunState, args: dict) -> None:
    """Write the collection as an artifact of kind export named `filename` (default
    `<collection>.<format>`): CSV (UTF-8, `bom: true` adds a byte-order mark, formulas
    escaped unless `formulas: keep`; see `csv_text`) or JSON (a list of objects, UTF-8;
    `bom` and `formulas` do not apply: RFC 8259 forbids a BOM). Raises
    StepFailed(action_failed) when no extract filled the collection."""
    name = args["collection"]
    if name not in ctx.collections:
        raise StepFailed(ErrorKind.action_failed, f'collection "{name}" has no records: no '
                         "extract step with that `into` ran before this export")
    records = ctx.collections[name]
    fmt = args["format"]
    if fmt == "json":
        data = json.dumps(records, ensure_ascii=False, indent=2)
        if args.get("bom") or args.get("formulas") == "keep":
            ctx.warnings.append("bom and formulas apply to CSV only; this JSON export "
                                "ignores them")
    else:
        data = csv_text(records, escape_formulas=args.get("formulas", "escape") == "escape")
        if args.get("bom"):
            data = "\ufeff" + data
    filename = args.get("filename") or f"{name}.{fmt}"
    await asyncio.to_thread(ctx.artifacts.save, ArtifactKind.export, filename,
                            data.encode("utf-8"), fmt, st.step_run_id)
