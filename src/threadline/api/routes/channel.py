"""The generic API channel: a business pushes customer messages in and collects replies.

Authenticated with the inbox's token. Later channel adapters (SMS, WhatsApp…) feed the
same `inbound.ingest` use case from their providers' webhooks.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from threadline.api.schemas import (
    ChannelMessageIn,
    ChannelMessageOut,
    DeliveryReportIn,
    OutboundOut,
)
from threadline.api.security import Ctx, CurrentInbox, InboxToken
from threadline.core.handoff import make_handoff
from threadline.core.messages import DeliveryStatus
from threadline.service import inbound, outbound

router = APIRouter(tags=["api channel"], prefix="/channel")


@router.post("/messages", response_model=ChannelMessageOut, status_code=201)
async def post_message(body: ChannelMessageIn, ctx: Ctx, token: InboxToken) -> Response:
    """Store a customer's message and route its conversation.

    409 `duplicate_external_id` (with the stored message's ids in `details`) when this
    inbox already has a message with the same `external_id`: nothing changes, so a
    client that retries after a timeout can treat it as success.
    """
    msg = inbound.InboundMessage(
        address=body.customer.address,
        text=body.text,
        external_id=body.external_id,
        display_name=body.customer.name,
        handoff=make_handoff(
            bot=body.handoff.bot,
            intent=body.handoff.intent,
            confidence=body.handoff.confidence,
            fields=body.handoff.fields,
            summary=body.handoff.summary,
        )
        if body.handoff
        else None,
    )
    result = await ctx.ingest.ingest(token, msg, ctx.now())
    out = ChannelMessageOut(
        message_id=result.message_id,
        conversation_id=result.conversation_id,
        customer_id=result.customer_id,
        state=result.state,
        assigned_agent_id=result.assigned_agent_id,
    )
    # Serialised here, by the model that built it: returned as a model, FastAPI would
    # validate it a second time against `response_model` on the busiest endpoint.
    return Response(out.model_dump_json(), status_code=201, media_type="application/json")


@router.get("/outbound", response_model=list[OutboundOut])
async def pending_outbound(
    ctx: Ctx, inbox: CurrentInbox, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[OutboundOut]:
    """Replies waiting to be delivered, oldest first. Each stays here until its status
    is reported, so a crash between fetching and delivering loses nothing."""
    found = await ctx.tx.read(lambda uow: outbound.pending(uow, inbox, limit=limit))
    return [
        OutboundOut(
            message_id=m.id,
            conversation_id=m.conversation_id,
            to=to,
            text=m.body,
            created_at=m.created_at,
        )
        for m, to in found
    ]


@router.post("/outbound/{message_id}/status", status_code=204, response_class=Response)
async def report_delivery(
    message_id: uuid.UUID, body: DeliveryReportIn, ctx: Ctx, inbox: CurrentInbox
) -> Response:
    await ctx.tx.write(
        lambda uow: outbound.report_status(
            uow,
            inbox,
            message_id,
            DeliveryStatus(body.status),
            ctx.now(),
            actor=f"inbox:{inbox.id}",
        )
    )
    return Response(status_code=204)
