"""The bodies of the job actions' routes (`POST /api/jobs/{id}/<action>`): a comment for
every action; a re-run's changed params; where a retry starts and which version it runs."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from models import JobAction
from pages.api.limits import MAX_INT
from pages.api.start_body import param_texts


class Comment(BaseModel):
    comment: str | None = None

    def options(self) -> dict[str, Any]:
        """What the action takes besides the comment (job_actions.act's keywords)."""
        return {}


class RerunBody(Comment):
    """A re-run's body: the text params to change (the others keep the job's values; file
    params keep the job's files)."""

    params: dict[str, str | int | float | bool] | None = Field(
        None, examples=[{"month": "2026-11"}])

    def options(self) -> dict[str, Any]:
        # as a start's JSON params are read
        return {"params": param_texts(self.params)} if self.params else {}


class RetryBody(Comment):
    """Where a retry starts and which runbook version it runs (GET /api/jobs/{id}/retry
    lists the steps and the diff)."""

    from_step: Annotated[int, Field(ge=1, le=MAX_INT)] | Annotated[
        str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="a step's name or its row's ordinal; default: the failed step")
    version: Literal["old", "new"] = Field(
        "old", description="old: the runbook version the job ran; new: the current one")

    def options(self) -> dict[str, Any]:
        return {"from_step": self.from_step, "version": self.version}


BODIES: dict[JobAction, type[Comment]] = {JobAction.rerun: RerunBody,
                                          JobAction.retry: RetryBody}
