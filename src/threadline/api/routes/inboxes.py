"""Inboxes (admin) and their API tokens."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from threadline.api.schemas import InboxCreate, InboxOut, InboxTokenOut
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.service import inboxes

router = APIRouter(tags=["inboxes"])


@router.get("/inboxes", response_model=list[InboxOut])
async def list_inboxes(ctx: Ctx, principal: CurrentPrincipal) -> list[InboxOut]:
    return [InboxOut.of(i) for i in await ctx.tx.read(lambda uow: inboxes.list_all(uow, principal))]


@router.post("/inboxes", response_model=InboxTokenOut, status_code=201)
async def create_inbox(body: InboxCreate, ctx: Ctx, principal: CurrentPrincipal) -> InboxTokenOut:
    created = await ctx.tx.write(
        lambda uow: inboxes.create(uow, principal, body.name, body.channel, body.queue, ctx.now())
    )
    return InboxTokenOut(inbox=InboxOut.of(created.inbox), token=created.token)


@router.post("/inboxes/{inbox_id}/rotate-token", response_model=InboxTokenOut)
async def rotate_token(inbox_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> InboxTokenOut:
    """A new token; the old one stops working at once."""
    rotated = await ctx.tx.write(lambda uow: inboxes.rotate_token(uow, principal, inbox_id))
    return InboxTokenOut(inbox=InboxOut.of(rotated.inbox), token=rotated.token)
