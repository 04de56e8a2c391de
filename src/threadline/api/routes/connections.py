"""Admins connect inboxes to their providers; agents see what a conversation's channel
will take (its window, its templates, the customer's consent)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from threadline.adapters.providers.base import Connection
from threadline.api.channel_schemas import (
    ChannelStateOut,
    ConnectionIn,
    ConnectionOut,
    TemplateOut,
)
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.core.rich import placeholders
from threadline.service import channel_state, connections

router = APIRouter(tags=["channels"])


@router.get("/inboxes/{inbox_id}/connection", response_model=ConnectionOut)
async def get_connection(
    inbox_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal
) -> ConnectionOut:
    found = await ctx.tx.read(lambda uow: connections.get(uow, principal, inbox_id))
    return ConnectionOut.of(found)


@router.put("/inboxes/{inbox_id}/connection", response_model=ConnectionOut)
async def put_connection(
    inbox_id: uuid.UUID, body: ConnectionIn, ctx: Ctx, principal: CurrentPrincipal
) -> ConnectionOut:
    """Connect an inbox to its provider. 422 `secret_not_set` names the environment
    variables the server still needs; 409 `address_taken` when another inbox has the
    address."""
    wanted = Connection(
        inbox_id, body.provider, body.account, body.address, body.secret_name, body.options
    )
    conn = await ctx.tx.write(
        lambda uow: connections.connect(uow, principal, inbox_id, wanted, ctx.secrets, ctx.now())
    )
    return ConnectionOut.of(conn)


@router.delete("/inboxes/{inbox_id}/connection", status_code=204, response_class=Response)
async def delete_connection(inbox_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    await ctx.tx.write(lambda uow: connections.disconnect(uow, principal, inbox_id, ctx.now()))
    return Response(status_code=204)


@router.get("/conversations/{conversation_id}/channel", response_model=ChannelStateOut)
async def conversation_channel(
    conversation_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal
) -> ChannelStateOut:
    state = await ctx.tx.read(
        lambda uow: channel_state.of(uow, principal, conversation_id, ctx.now())
    )
    return ChannelStateOut(
        channel=state.channel,
        provider=state.provider,
        opted_out=state.opted_out,
        opted_out_keyword=state.opted_out_keyword,
        window_open=state.window_open,
        window_hours=state.window_hours,
        window_closes_at=state.window_closes_at,
        templates=[
            TemplateOut(
                name=t["name"],
                language=t["language"],
                text=t["text"],
                parameters=len(placeholders(t["text"])),
            )
            for t in state.templates
        ],
        tags=state.tags,
        rich_replies=state.rich_replies,
    )
