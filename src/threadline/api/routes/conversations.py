"""Conversations: list, read the timeline, reply, close, transfer."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import Field

from threadline.adapters.repositories.conversations import ConversationFilter
from threadline.adapters.stream import Signal
from threadline.api.schemas import (
    ConversationDetailOut,
    ConversationOut,
    ConversationSummaryOut,
    CustomerOut,
    EventOut,
    MessageOut,
    Request,
    SendIn,
    SessionOut,
    Skill,
    TransferIn,
)
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.core.conversations import ConversationState
from threadline.service import conversations
from threadline.service.customers import CustomerView
from threadline.service.outbox import Extras, TemplateChoice

router = APIRouter(tags=["conversations"])


@router.get("/conversations", response_model=list[ConversationSummaryOut])
async def list_conversations(
    ctx: Ctx,
    principal: CurrentPrincipal,
    state: ConversationState | None = None,
    agent_id: uuid.UUID | None = None,
    queue: Annotated[Skill | None, Query()] = None,
    customer_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ConversationSummaryOut]:
    """In routing order: reactivated work in a queue first, then waiting on an agent by
    earliest respond-by, then the rest; each with the customer's name and the start of
    the last message."""
    filt = ConversationFilter(state=state, agent_id=agent_id, queue=queue, customer_id=customer_id)
    found = await ctx.tx.read(
        lambda uow: conversations.list_for(uow, principal, filt, limit=limit, offset=offset)
    )
    return [ConversationSummaryOut.of_summary(s) for s in found]


@router.get("/conversations/{conversation_id}", response_model=ConversationDetailOut)
async def get_conversation(
    conversation_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal
) -> ConversationDetailOut:
    """The conversation with its timeline across sessions: every session, and the newest
    1000 messages and events (`messages[0].seq > 1` means there are earlier ones: page
    back with GET …/messages?before_seq=)."""
    d = await ctx.tx.read(lambda uow: conversations.detail(uow, principal, conversation_id))
    return ConversationDetailOut(
        conversation=ConversationOut.of(d.conversation),
        customer=CustomerOut.of(CustomerView(d.customer, d.identities)),
        sessions=[
            SessionOut(
                id=s.id,
                seq=s.seq,
                opened_at=s.opened_at,
                closed_at=s.closed_at,
                close_reason=s.close_reason,
            )
            for s in d.sessions
        ],
        messages=[MessageOut.of(m) for m in d.messages],
        events=[EventOut.of(e) for e in d.events],
    )


@router.get("/conversations/{conversation_id}/messages", response_model=list[MessageOut])
async def earlier_messages(
    conversation_id: uuid.UUID,
    ctx: Ctx,
    principal: CurrentPrincipal,
    before_seq: Annotated[
        int, Query(ge=1, le=2**31 - 1, description="Messages numbered below this")
    ],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[MessageOut]:
    """Page back through a thread longer than the detail view's newest messages."""
    found = await ctx.tx.read(
        lambda uow: conversations.messages_before(
            uow, principal, conversation_id, before_seq, limit
        )
    )
    return [MessageOut.of(m) for m in found]


@router.post(
    "/conversations/{conversation_id}/messages", response_model=MessageOut, status_code=201
)
async def send_message(
    conversation_id: uuid.UUID, body: SendIn, ctx: Ctx, principal: CurrentPrincipal
) -> MessageOut:
    """409 `customer_opted_out` after the customer's STOP; 409 `template_required`
    (WhatsApp) or `message_tag_required` (Messenger) more than 24 h after the customer
    last wrote."""
    extras = Extras(
        template=TemplateChoice(
            body.template.name, body.template.language, tuple(body.template.parameters)
        )
        if body.template
        else None,
        tag=body.tag,
        suggestions=tuple(body.suggestions),
    )
    message = await ctx.tx.write(
        lambda uow: conversations.send_message(
            uow, principal, conversation_id, body.text or "", ctx.now(), ctx.classifier, extras
        )
    )
    ctx.outbox.nudge()
    return MessageOut.of(message)


@router.post("/conversations/{conversation_id}/close", response_model=ConversationOut)
async def close_conversation(
    conversation_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal
) -> ConversationOut:
    conv = await ctx.tx.write(
        lambda uow: conversations.close(uow, principal, conversation_id, ctx.now())
    )
    return ConversationOut.of(conv)


@router.post("/conversations/{conversation_id}/inactive", response_model=ConversationOut)
async def mark_inactive(
    conversation_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal
) -> ConversationOut:
    """Set aside a conversation waiting on the customer: the slot is freed now, and the
    customer's next message comes back to this agent (up to their maximum load)."""
    conv = await ctx.tx.write(
        lambda uow: conversations.mark_inactive(uow, principal, conversation_id, ctx.now())
    )
    return ConversationOut.of(conv)


@router.post("/conversations/{conversation_id}/transfer", response_model=ConversationOut)
async def transfer_conversation(
    conversation_id: uuid.UUID, body: TransferIn, ctx: Ctx, principal: CurrentPrincipal
) -> ConversationOut:
    """To one agent (up to their maximum load) or to a queue; history and respond-by are kept."""
    conv = await ctx.tx.write(
        lambda uow: conversations.transfer(
            uow,
            principal,
            conversation_id,
            ctx.now(),
            to_agent_id=body.to_agent_id,
            to_queue=body.to_queue,
        )
    )
    return ConversationOut.of(conv)


class ReadIn(Request):
    up_to_seq: int = Field(ge=1, le=2**31 - 1, description="The last message seq read.")


class TypingIn(Request):
    typing: bool


@router.post("/conversations/{conversation_id}/read", status_code=204, response_class=Response)
async def mark_read(
    conversation_id: uuid.UUID, body: ReadIn, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    """The holding agent has read up to `up_to_seq`: clears their unread count and shows
    a web chat visitor their messages were read. Others reading change nothing."""
    await ctx.tx.write(
        lambda uow: conversations.mark_read(
            uow, principal, conversation_id, body.up_to_seq, ctx.now()
        )
    )
    return Response(status_code=204)


@router.post("/conversations/{conversation_id}/typing", status_code=204, response_class=Response)
async def agent_typing(
    conversation_id: uuid.UUID, body: TypingIn, ctx: Ctx, principal: CurrentPrincipal
) -> Response:
    """The assigned agent is (not) typing: shown live to a web chat visitor. Nothing is
    stored; send `true` again every few seconds while typing."""
    conv, name = await ctx.tx.read(
        lambda uow: conversations.typing_in(uow, principal, conversation_id)
    )
    frame = {"type": "typing", "typing": body.typing, "name": name}
    ctx.stream.signal(Signal(conv.id, None, frame))
    return Response(status_code=204)
