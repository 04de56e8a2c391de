"""Inboxes' bots and queues' business hours (admins), handing a conversation to the
bot (agents), and the bot report (supervisors)."""

from __future__ import annotations

import uuid
from datetime import datetime

from fastapi import APIRouter, Query, Response

from threadline.api.bot_schemas import (
    BotIn,
    BotOut,
    BotReportOut,
    ConversationBotOut,
    HandToBotIn,
    HoursIn,
    HoursOut,
)
from threadline.api.periods import report_period
from threadline.api.schemas import ConversationOut
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.core.bots.config import BotKind
from threadline.core.bots.hours import is_open, next_open
from threadline.service import bot_settings, reports

router = APIRouter(tags=["bots"])


@router.put("/inboxes/{inbox_id}/bot", response_model=BotOut)
async def put_bot(
    inbox_id: uuid.UUID, body: BotIn, ctx: Ctx, principal: CurrentPrincipal
) -> BotOut:
    """Give the inbox a bot: new conversations (and reopened ones) meet it first. A
    flow with mistakes is refused (422) with every mistake and its line."""
    bot, flow = await ctx.tx.write(
        lambda uow: bot_settings.set_bot(
            uow,
            principal,
            inbox_id,
            kind=BotKind(body.kind),
            now=ctx.now(),
            secrets=ctx.secrets,
            flow=body.flow,
            url=body.url,
            timeout_seconds=body.timeout_seconds,
            secret_name=body.secret_name,
        )
    )
    ctx.bots.warm_soon()
    return BotOut.of(bot, flow)


@router.get("/inboxes/{inbox_id}/bot", response_model=BotOut)
async def get_bot(inbox_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> BotOut:
    bot = await ctx.tx.read(lambda uow: bot_settings.get_bot(uow, principal, inbox_id))
    return BotOut.of(bot, bot_settings.flow_of(bot))


@router.delete("/inboxes/{inbox_id}/bot", status_code=204, response_class=Response)
async def delete_bot(inbox_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    """No more bot: the conversations it has go to the queue now."""
    await ctx.tx.write(lambda uow: bot_settings.remove_bot(uow, principal, inbox_id, ctx.now()))
    return Response(status_code=204)


@router.put("/queues/{queue}/hours", response_model=HoursOut)
async def put_hours(queue: str, body: HoursIn, ctx: Ctx, principal: CurrentPrincipal) -> HoursOut:
    """When the queue's humans are in. Outside them a bot takes the customer's request
    down and says when the team is back; a queue without hours is always staffed."""
    now = ctx.now()
    hours = await ctx.tx.write(
        lambda uow: bot_settings.set_hours(uow, principal, queue, body.model_dump(), now)
    )
    return HoursOut.of(
        queue, hours, is_open(hours, now), None if is_open(hours, now) else next_open(hours, now)
    )


@router.get("/queues/{queue}/hours", response_model=HoursOut)
async def get_hours(queue: str, ctx: Ctx, principal: CurrentPrincipal) -> HoursOut:
    now = ctx.now()
    hours = await ctx.tx.read(lambda uow: bot_settings.get_hours(uow, principal, queue))
    open_now = is_open(hours, now)
    return HoursOut.of(queue, hours, open_now, None if open_now else next_open(hours, now))


@router.delete("/queues/{queue}/hours", status_code=204, response_class=Response)
async def delete_hours(queue: str, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    await ctx.tx.write(lambda uow: bot_settings.remove_hours(uow, principal, queue))
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/bot", response_model=ConversationBotOut)
async def conversation_bot(
    conversation_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal
) -> ConversationBotOut:
    """The bot of the conversation's inbox, if it has one, and the routines an agent can
    hand the conversation to (the desk's "Hand to bot")."""
    bot = await ctx.tx.read(lambda uow: bot_settings.bot_of(uow, principal, conversation_id))
    if bot is None:
        return ConversationBotOut(bot=None, kind=None, routines=[])
    flow = bot_settings.flow_of(bot)
    return ConversationBotOut(
        bot=bot.name, kind=str(bot.kind), routines=sorted(flow.routines) if flow else []
    )


@router.post("/conversations/{conversation_id}/bot", response_model=ConversationOut)
async def hand_to_bot(
    conversation_id: uuid.UUID, body: HandToBotIn, ctx: Ctx, principal: CurrentPrincipal
) -> ConversationOut:
    """Hand your conversation to the bot for a routine (collecting payment details, say):
    your slot is free meanwhile, and it comes back to you with what the bot collected."""
    conv = await ctx.tx.write(
        lambda uow: bot_settings.hand_to_bot(
            uow, principal, conversation_id, body.routine, ctx.now()
        )
    )
    ctx.bots.nudge()
    return ConversationOut.of(conv)


@router.get("/reports/bots", response_model=BotReportOut)
async def bot_report(
    ctx: Ctx,
    principal: CurrentPrincipal,
    since: datetime | None = Query(default=None, description="Default: today 00:00 UTC."),
    until: datetime | None = Query(default=None, description="Default: tomorrow 00:00 UTC."),
) -> BotReportOut:
    """Containment, escalation by reason, and the wait from handoff to the first human
    reply, computed from the event log for bot sessions begun in [since, until)."""
    start, end = report_period(ctx.now(), since, until)
    found = await ctx.tx.read(lambda uow: reports.bots(uow, principal, start, end))
    return BotReportOut.of(found)
