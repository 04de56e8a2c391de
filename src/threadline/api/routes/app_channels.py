"""Admins set up an app inbox: how the business signs its customers' identities, and
the app key its app names the inbox by."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from threadline.api.schemas import Request
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.core.widgets import AppChannel
from threadline.service import app_chat

router = APIRouter(tags=["in-app chat"])


class AppChannelIn(Request):
    algorithm: Literal["HS256", "RS256"]
    secret_name: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None,
        description="HS256: the server's environment holds the shared secret as "
        "THREADLINE_SECRET_<NAME>_IDENTITY_SECRET (at least 32 bytes).",
    )
    # A PEM RSA public key of 8192 bits is about 1,500 characters. The cap keeps any
    # body that fits the schema under the API's 64 KiB limit, even written as JSON
    # escapes (12 bytes a character), so the schema, not the size, refuses it.
    public_key: Annotated[str, StringConstraints(max_length=4096)] | None = Field(
        default=None,
        description="RS256: the business's RSA public key (PEM, at least 2048 bits).",
    )


class AppChannelOut(BaseModel):
    inbox_id: uuid.UUID
    key: str = Field(description="Public: built into the app, sent as X-Threadline-App-Key.")
    algorithm: Literal["HS256", "RS256"]
    secret_name: str | None
    public_key: str | None

    @classmethod
    def of(cls, channel: AppChannel) -> AppChannelOut:
        return cls.model_validate(
            {
                "inbox_id": channel.inbox_id,
                "key": channel.key,
                "algorithm": channel.algorithm,
                "secret_name": channel.secret_name,
                "public_key": channel.public_key,
            }
        )


@router.get("/inboxes/{inbox_id}/app", response_model=AppChannelOut)
async def get_app(inbox_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> AppChannelOut:
    return AppChannelOut.of(await ctx.tx.read(lambda uow: app_chat.get(uow, principal, inbox_id)))


@router.put("/inboxes/{inbox_id}/app", response_model=AppChannelOut)
async def put_app(
    inbox_id: uuid.UUID, body: AppChannelIn, ctx: Ctx, principal: CurrentPrincipal
) -> AppChannelOut:
    """Set how an app inbox's customer identities are signed. 422 `secret_not_set` names
    the environment variable the server still needs. The key is made on the first PUT
    and never changes."""
    wanted = app_chat.Signing(body.algorithm, body.secret_name, body.public_key)
    channel = await ctx.tx.write(
        lambda uow: app_chat.configure(uow, principal, inbox_id, wanted, ctx.secrets, ctx.now())
    )
    return AppChannelOut.of(channel)
