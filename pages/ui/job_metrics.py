"""The job page's metric cards: the job's figures as its row holds them, the same numbers
the jobs list, the API, the report and the CLI show (docs/console.md, "What the figures
mean"); the page never counts steps itself."""

from nicegui import ui

from engine.service.report import job_duration_ms, progress_text
from models import Job
from pages.ui.display import duration

# (label, Material icon, data-metric)
METRICS = [("Total duration", "timer", "metric-duration"),
           ("Steps", "format_list_numbered", "metric-progress"),
           ("Steps succeeded", "check_circle", "metric-succeeded"),
           ("Steps failed", "error", "metric-failed"),
           ("Steps skipped", "redo", "metric-skipped"),
           ("Steps cancelled", "block", "metric-cancelled"),
           ("Retries", "replay", "metric-retries")]


class MetricCards:
    """One card per figure; `show` puts a job's figures in them (every second while it
    runs, as the duration keeps counting)."""

    def __init__(self) -> None:
        self.values: dict[str, ui.label] = {}
        self.cards: dict[str, ui.card] = {}
        for label, icon, test_id in METRICS:
            with ui.card().classes("grow basis-0 min-w-[9rem] p-3 gap-0").props(
                    f'data-metric="{test_id}"') as card:
                with ui.row().classes("items-center gap-1 text-grey-7 text-xs"):
                    ui.icon(icon, size="16px")
                    ui.label(label)
                self.values[test_id] = ui.label().classes("text-2xl font-semibold")
            self.cards[test_id] = card

    def show(self, job: Job) -> None:
        for test_id, value in metric_values(job).items():
            self.values[test_id].text = value
        # a cancel is rare: its card shows only when it stopped a step
        self.cards["metric-cancelled"].set_visibility(job.steps_cancelled > 0)


def metric_values(job: Job) -> dict[str, str]:
    """What each card says, by its data-metric."""
    return {"metric-duration": duration(job_duration_ms(job)),
            # "3 of 5" (the card says Steps): the list's words without the repeated noun
            "metric-progress": progress_text(job).removeprefix("step ").removesuffix(" steps"),
            "metric-succeeded": str(job.steps_succeeded),
            "metric-failed": str(job.steps_failed),
            "metric-skipped": str(job.steps_skipped),
            "metric-cancelled": str(job.steps_cancelled),
            "metric-retries": str(job.retry_count)}
