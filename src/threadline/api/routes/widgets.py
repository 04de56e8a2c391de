"""Admins configure an inbox's web chat widget: its look, where it may be embedded, and
the secret a business signs its visitors' identities with."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter
from pydantic import BaseModel, Field, StringConstraints

from threadline.api.schemas import Request
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.core.widgets import Widget, WidgetLook
from threadline.service import widgets

router = APIRouter(tags=["web chat"])

_DEFAULT = WidgetLook()


class WidgetIn(Request):
    title: Annotated[str, StringConstraints(max_length=60)] = _DEFAULT.title
    greeting: Annotated[str, StringConstraints(max_length=500)] = _DEFAULT.greeting
    accent_color: Annotated[str, StringConstraints(max_length=7)] = _DEFAULT.accent_color
    allowed_origins: list[Annotated[str, StringConstraints(max_length=300)]] = Field(
        default_factory=list,
        max_length=50,
        description="Sites that may embed the chat, like https://shop.example; empty: any.",
    )


class WidgetOut(BaseModel):
    inbox_id: uuid.UUID
    key: str = Field(description="Public: goes in the page's script tag as data-key.")
    title: str
    greeting: str
    accent_color: str
    allowed_origins: list[str]
    identity_enabled: bool = Field(description="Whether signed visitor identities are accepted.")

    @classmethod
    def of(cls, w: Widget) -> WidgetOut:
        return cls(
            inbox_id=w.inbox_id,
            key=w.key,
            title=w.look.title,
            greeting=w.look.greeting,
            accent_color=w.look.accent_color,
            allowed_origins=list(w.allowed_origins),
            identity_enabled=w.identity_secret is not None,
        )


class IdentitySecretOut(BaseModel):
    secret: str = Field(
        description="Sign visitors' identities with it (HS256). Shown once; rotating "
        "it makes the old one stop working."
    )


@router.get("/inboxes/{inbox_id}/widget", response_model=WidgetOut)
async def get_widget(inbox_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal) -> WidgetOut:
    return WidgetOut.of(await ctx.tx.read(lambda uow: widgets.get(uow, principal, inbox_id)))


@router.put("/inboxes/{inbox_id}/widget", response_model=WidgetOut)
async def put_widget(
    inbox_id: uuid.UUID, body: WidgetIn, ctx: Ctx, principal: CurrentPrincipal
) -> WidgetOut:
    """Create or change a web inbox's widget. Its key never changes once made."""
    look = WidgetLook(body.title, body.greeting, body.accent_color)
    widget = await ctx.tx.write(
        lambda uow: widgets.configure(
            uow, principal, inbox_id, look, body.allowed_origins, ctx.now()
        )
    )
    return WidgetOut.of(widget)


@router.post(
    "/inboxes/{inbox_id}/widget/identity-secret",
    response_model=IdentitySecretOut,
    status_code=201,
)
async def rotate_identity_secret(
    inbox_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal
) -> IdentitySecretOut:
    secret = await ctx.tx.write(
        lambda uow: widgets.rotate_identity_secret(uow, principal, inbox_id, ctx.now())
    )
    return IdentitySecretOut(secret=secret)
