"""Canned responses: listed for every agent's desk, managed by admins."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Response
from pydantic import BaseModel, StringConstraints

from threadline.api.schemas import Request, Text
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.core.canned import CannedResponse
from threadline.service import canned

router = APIRouter(tags=["canned responses"])


class CannedIn(Request):
    shortcut: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    text: Text


class CannedOut(BaseModel):
    id: uuid.UUID
    shortcut: str
    text: str
    created_at: datetime

    @classmethod
    def of(cls, c: CannedResponse) -> CannedOut:
        return cls(id=c.id, shortcut=c.shortcut, text=c.text, created_at=c.created_at)


@router.get("/canned-responses", response_model=list[CannedOut])
async def list_canned(ctx: Ctx, principal: CurrentPrincipal) -> list[CannedOut]:
    return [CannedOut.of(c) for c in await ctx.tx.read(lambda uow: canned.list_all(uow, principal))]


@router.post("/canned-responses", response_model=CannedOut, status_code=201)
async def create_canned(body: CannedIn, ctx: Ctx, principal: CurrentPrincipal) -> CannedOut:
    """Admins: a text agents insert by typing "/" and its shortcut (409 if it is taken)."""
    created = await ctx.tx.write(
        lambda uow: canned.create(uow, principal, body.shortcut, body.text, ctx.now())
    )
    return CannedOut.of(created)


@router.delete("/canned-responses/{canned_id}", status_code=204, response_class=Response)
async def delete_canned(canned_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> Response:
    await ctx.tx.write(lambda uow: canned.delete(uow, principal, canned_id, ctx.now()))
    return Response(status_code=204)
