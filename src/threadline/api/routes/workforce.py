"""The live workforce report (supervisors): the planner's figures from the event log, as
JSON or as a CSV to put beside the plan's."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from threadline.api.periods import report_period
from threadline.api.schemas import Skill
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.service import workforce

router = APIRouter(tags=["reports"])

_SECONDS = "Seconds from `since`."


class FiguresOut(BaseModel):
    """One interval's figures (or the whole period's). Waits and sessions belong to the
    interval they started in; agents' time is split at the interval's edges."""

    start_at: datetime
    end_at: datetime
    start: float = Field(description=_SECONDS)
    end: float = Field(description=_SECONDS)
    sessions: int = Field(description="Sessions that reached the humans' queue.")
    waits_judged: int = Field(
        description="Waits answered, or unanswered past their window (a miss)."
    )
    answered_in_window: int
    unanswered: int = Field(description="Waits judged and never answered (misses).")
    service_level: float | None = Field(description="answered_in_window / waits_judged")
    first_response_count: int
    first_response_mean: float | None = Field(description="Seconds, as every *_mean/p50/p90.")
    first_response_p50: float | None
    first_response_p90: float | None
    next_response_count: int
    next_response_mean: float | None
    next_response_p50: float | None
    next_response_p90: float | None
    queue_wait_count: int
    queue_wait_mean: float | None = Field(description="From the queue to the first assignment.")
    queue_wait_p50: float | None
    queue_wait_p90: float | None
    abandoned: int = Field(description="Sessions closed before any assignment.")
    abandonment: float | None
    occupancy: float | None = Field(
        description="Share of agents' online time holding at least one conversation."
    )
    concurrency: float | None = Field(
        description="Mean conversations held while holding any (achieved concurrency)."
    )
    inactive_rate: float | None = Field(description="Sessions that went inactive / sessions.")
    reactivation_rate: float | None = Field(description="Reactivations / times inactive.")
    to_owner_rate: float | None = Field(description="Reactivations assigned to their owner.")
    online_agents: float = Field(description="Mean number of agents online.")


class WorkforceReportOut(BaseModel):
    since: datetime
    until: datetime
    queue: str | None
    window_seconds: float
    interval_seconds: float
    total: FiguresOut
    intervals: list[FiguresOut]


_CSV: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"text/csv": {"schema": {"type": "string"}}},
        "description": "With `format=csv`: the columns of the simulator's intervals.csv "
        "(`interval`, `start_time`, then these figures' keys), a row per interval, then "
        "the `total` row.",
    }
}


@router.get("/reports/workforce", response_model=WorkforceReportOut, responses=_CSV)
async def workforce_report(
    ctx: Ctx,
    principal: CurrentPrincipal,
    since: Annotated[datetime | None, Query(description="Default: today 00:00 UTC.")] = None,
    until: Annotated[datetime | None, Query(description="Default: tomorrow 00:00 UTC.")] = None,
    interval: Annotated[
        float, Query(gt=0, allow_inf_nan=False, description="Seconds per interval.")
    ] = 1800,
    window: Annotated[
        float,
        Query(
            gt=0,
            allow_inf_nan=False,
            description="The response window, seconds (the simulator's default target).",
        ),
    ] = 120,
    queue: Annotated[Skill | None, Query(description="Only this queue.")] = None,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> WorkforceReportOut | Response:
    """First and next response times, the response-window service level, abandonment,
    occupancy, achieved concurrency, inactive and reactivation rates of [since, until),
    computed from the event log with the simulator's definitions (docs/workforce.md)."""
    now = ctx.now()
    start, end = report_period(now, since, until)
    found = await ctx.tx.read(
        lambda uow: workforce.live_figures(
            uow,
            principal,
            start,
            end,
            interval=interval,
            window=window,
            queue=queue,
            now=now,
        )
    )
    if format == "csv":
        return _csv(found)
    report = found.report
    return WorkforceReportOut(
        since=found.since,
        until=found.until,
        queue=found.queue,
        window_seconds=report.window,
        interval_seconds=report.interval,
        total=FiguresOut.model_validate(found.row(report.total)),
        intervals=[FiguresOut.model_validate(found.row(f)) for f in report.intervals],
    )


def _csv(found: workforce.LiveFigures) -> Response:
    rows = found.table()
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    stamp = "%Y%m%dT%H%M%SZ"
    parts = ("workforce", found.queue, found.since.strftime(stamp), found.until.strftime(stamp))
    name = "-".join(p for p in parts if p)
    return Response(
        text.getvalue(),
        media_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )
