"""The iterations of the actions that run steps of their own: `repeat` (while or until a
condition holds, up to `max`) and `for_each` (once per item of a collection or a list
param, the item bound to the step's `as` name)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from engine.errors import StepFailed
from engine.runbook.model import Step
from models import ErrorKind

if TYPE_CHECKING:  # the execution imports this module
    from engine.runner.execution import JobExecution

FOR_EACH_MAX = 1000  # for_each's `max` when the step gives none (runbook-format.md)


async def run_iterations(job: JobExecution, step: Step, row_id: int) -> None:
    """Run the step's own steps as its iterations (nested under its row `row_id`); raises
    StepFailed when an iteration failed or the job was cancelled, and for a for_each
    whose items are missing or more than its `max`. A retried job's loop on its resume
    path starts at the path's iteration (the same item; `while` not checked again for it)."""
    items = _items(job, step) if step.action == "for_each" else None
    assert items is not None or step.max is not None  # the loader requires max on repeat
    count = len(items) if items is not None else step.max or 0
    resumed = job.resuming.first_iteration(row_id) if job.resuming else None
    if resumed is not None and resumed > count:
        raise StepFailed(ErrorKind.restore_failed, f"the resume point is iteration "
                         f"{resumed}, and this {step.action} now has {count}; retry from an "
                         "earlier step")
    for n in range(resumed or 1, count + 1):
        if step.while_ is not None and n != resumed and not await job.condition_holds(
                step.while_):
            return
        if items is not None:
            bind(job.values, step.args["as"], items[n - 1])
        failed_before = job.failure
        await job.run_steps(step.steps, row_id, n)
        if job.cancelled_by:
            raise StepFailed(ErrorKind.cancelled, f"cancelled during iteration {n}")
        if job.stopped or job.failure is not failed_before:
            assert job.failure is not None  # only a cancel stops without a failure
            raise StepFailed(job.failure.kind, f"iteration {n} failed: "
                             f"{job.failure.message}")
        if step.until is not None and await job.condition_holds(step.until):
            return


def _items(job: JobExecution, step: Step) -> list:
    """A for_each's items: the records of a collection, or a param's value split into
    lines (or, on one line, at commas), blank items left out."""
    name = step.args["items"]
    if name in job.ctx.collections:
        items: list = job.ctx.collections[name]
    elif name in job.runbook.params:
        text = job.values.get(name, "")
        parts = text.splitlines() if "\n" in text else text.split(",")
        items = [part.strip() for part in parts if part.strip()]
    else:
        raise StepFailed(ErrorKind.action_failed, f'collection "{name}" has no records: no '
                         "extract step with that `into` ran before this for_each")
    limit = step.max or FOR_EACH_MAX
    if len(items) > limit:
        raise StepFailed(ErrorKind.action_failed, f'"{name}" has {len(items)} items, more '
                         f"than this for_each's max of {limit}; raise max (up to 1000) or "
                         "split the work", {"items": len(items)})
    if not items:
        job.ctx.warnings.append(f'"{name}" has no items: the for_each ran no steps')
    return items


def bind(values: dict[str, str], name: str, item) -> None:
    """Make an item available as {{name}}: a record also as {{name.field}} for each of its
    fields ({{name}} is then the record as JSON)."""
    for key in [k for k in values if k.startswith(f"{name}.")]:
        del values[key]  # the previous record's fields
    if isinstance(item, dict):
        values[name] = json.dumps(item, ensure_ascii=False)
        for field, value in item.items():
            values[f"{name}.{field}"] = "" if value is None else str(value)
    else:
        values[name] = str(item)
