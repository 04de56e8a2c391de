"""Proactive notifications: send one or a batch, follow each one's decisions (the
compliance record), and the figures per template."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from threadline.api.notification_schemas import (
    BatchOut,
    DecisionOut,
    NotificationDetailOut,
    NotificationIn,
    NotificationOut,
    RowErrorOut,
    TemplateFiguresOut,
)
from threadline.api.periods import report_period
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.core.errors import InvalidInput, NotFound
from threadline.core.proactive.notification import NotificationState
from threadline.core.proactive.upload import Parsed, parse_csv, parse_json, refusal
from threadline.service.proactive import figures, requests, setup
from threadline.service.unit_of_work import UnitOfWork

router = APIRouter(tags=["notifications"])

_UPLOAD = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/json": {
                "schema": {"type": "array", "items": {"type": "object"}},
            },
        },
        "description": "Recipients, one per row (docs/proactive.md shows both formats).",
    }
}


@router.post("/notifications", response_model=NotificationOut, status_code=201)
async def send_notification(
    body: NotificationIn, ctx: Ctx, principal: CurrentPrincipal, response: Response
) -> NotificationOut:
    """One notification, decided on at once (or at `send_at`). Repeating a request with
    the same `reference` creates nothing new and answers 200 with the first one."""
    recipient = body.model_dump(exclude_unset=True, exclude={"template"}, mode="json")
    parsed = parse_json([recipient])
    if parsed.errors:
        raise refusal(parsed.errors)
    [one] = parsed.recipients
    n, existing = await ctx.tx.write(
        lambda uow: requests.create_one(uow, principal, body.template, one, ctx.now())
    )
    if existing:
        response.status_code = 200
    else:
        ctx.notifications.nudge()
    return NotificationOut.of(n)


@router.post(
    "/notifications/batches",
    response_model=BatchOut,
    status_code=201,
    openapi_extra=_UPLOAD,
)
async def upload_batch(
    request: Request,
    ctx: Ctx,
    principal: CurrentPrincipal,
    template: Annotated[str, Query(min_length=1, max_length=64)],
) -> BatchOut:
    """Thousands of recipients at once, as CSV or JSON. Each bad row is reported with
    its row number and field, and the good rows proceed; an upload with no good row
    stores nothing (422). A CSV header is checked against the template once: a missing
    variable column refuses the upload (422), an unused column is reported at row 0."""
    # Refused before reading: someone who may not send learns nothing about the file.
    setup.require_sender(principal)
    parsed = _parse_upload(request.headers.get("content-type", ""), await request.body())

    async def create(uow: UnitOfWork) -> requests.BatchResult:
        result = await requests.create_batch(uow, principal, template, parsed, ctx.now())
        if not result.accepted:
            raise InvalidInput(
                "no recipient in the upload could be accepted"
                if result.rows
                else "the upload has no recipients: a row (CSV) or an object (JSON) for each",
                field="file",
                errors=[_error(e).model_dump() for e in result.errors[:1000]],
            )
        return result

    result = await ctx.tx.write(create)
    ctx.notifications.nudge()
    return BatchOut(
        batch_id=result.batch_id,
        rows=result.rows,
        accepted=len(result.accepted),
        created=sum(not a.existing for a in result.accepted),
        existing=sum(a.existing for a in result.accepted),
        errors=[_error(e) for e in result.errors],
    )


def _error(e: Any) -> RowErrorOut:
    return RowErrorOut(row=e.row, field=e.field, message=e.message, suggestion=e.suggestion)


def _parse_upload(content_type: str, raw: bytes) -> Parsed:
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the upload is not UTF-8 text", field="file") from None
    if kind in ("text/csv", "application/csv"):
        return parse_csv(text)
    if kind == "application/json":
        try:
            doc = json.loads(text)
        except (json.JSONDecodeError, RecursionError):
            raise InvalidInput("the upload is not valid JSON", field="file") from None
        return parse_json(doc)
    raise InvalidInput("send the recipients as text/csv or application/json", field="file")


@router.get("/notifications/batches/{batch_id}", response_model=BatchOut)
async def get_batch(batch_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> BatchOut:
    """A batch: its rows, what was accepted, where its notifications are now."""

    async def read(uow: UnitOfWork) -> BatchOut:
        setup.require_sender(principal)
        batch = await uow.notifications.batch(batch_id)
        if batch is None:
            raise NotFound("no such batch", batch_id=str(batch_id))
        states = await uow.notifications.counts(batch_id)
        # Its notifications are the rows it created; the others it accepted were stored
        # already under their references (and belong to the batch that created them).
        created = sum(states.values())
        return BatchOut(
            batch_id=batch.id,
            rows=batch.rows,
            accepted=batch.accepted,
            created=created,
            existing=batch.accepted - created,
            errors=[RowErrorOut(**e) for e in batch.errors],
            states=states,
        )

    return await ctx.tx.read(read)


@router.get("/notifications", response_model=list[NotificationOut])
async def list_notifications(
    ctx: Ctx,
    principal: CurrentPrincipal,
    customer_id: uuid.UUID | None = None,
    batch_id: uuid.UUID | None = None,
    state: NotificationState | None = None,
    before: Annotated[
        datetime | None, Query(description="the last row's `created_at` (paging)")
    ] = None,
    before_id: Annotated[
        uuid.UUID | None, Query(description="the last row's `id`, with `before` (paging)")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[NotificationOut]:
    """Newest first. The next page: `before` and `before_id` from the last row (a batch's
    rows share their `created_at`; the id tells them apart)."""
    if before is not None and before.tzinfo is None:
        raise InvalidInput("before needs a time zone", field="before")
    if before_id is not None and before is None:
        raise InvalidInput("before_id needs before (the same row's created_at)", field="before")

    async def read(uow: UnitOfWork) -> list[NotificationOut]:
        setup.require_sender(principal)
        found = await uow.notifications.listing(
            customer_id=customer_id,
            batch_id=batch_id,
            state=state,
            limit=limit,
            before=before,
            before_id=before_id,
        )
        return [NotificationOut.of(n) for n in found]

    return await ctx.tx.read(read)


@router.get("/notifications/decisions", response_model=list[DecisionOut])
async def list_decisions(
    ctx: Ctx,
    principal: CurrentPrincipal,
    customer_id: uuid.UUID | None = None,
    after: Annotated[int, Query(ge=0, description="the last `seq` you have")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[DecisionOut]:
    """Every decision, in order, resumable from the last `seq` seen: why each customer
    got, or did not get, each notification."""

    async def read(uow: UnitOfWork) -> list[DecisionOut]:
        setup.require_sender(principal)
        found = await uow.notifications.decisions(customer_id=customer_id, after=after, limit=limit)
        return [DecisionOut.of(d) for d in found]

    return await ctx.tx.read(read)


@router.get("/notifications/{notification_id}", response_model=NotificationDetailOut)
async def get_notification(
    notification_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal
) -> NotificationDetailOut:
    """A notification with every decision taken on it."""

    async def read(uow: UnitOfWork) -> NotificationDetailOut:
        setup.require_sender(principal)
        n = await uow.notifications.get(notification_id)
        if n is None:
            raise NotFound("no such notification", notification_id=str(notification_id))
        found = await uow.notifications.decisions(notification_id=n.id)
        return NotificationDetailOut(
            **NotificationOut.of(n).model_dump(), decisions=[DecisionOut.of(d) for d in found]
        )

    return await ctx.tx.read(read)


@router.get("/reports/notifications", response_model=list[TemplateFiguresOut], tags=["reports"])
async def notification_report(
    ctx: Ctx,
    principal: CurrentPrincipal,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[TemplateFiguresOut]:
    """Per template, for notifications created in [since, until) (default: today, UTC):
    delivery, reply and deflection rates, and suppressions and deferrals by rule."""
    start, end = report_period(ctx.now(), since, until)
    found = await ctx.tx.read(lambda uow: figures.report(uow, principal, start, end))
    return [TemplateFiguresOut.of(f) for f in found]
