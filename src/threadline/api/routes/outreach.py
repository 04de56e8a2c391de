"""What governs notifications: the outreach policy, the templates, customers' consent
by purpose, and conversations about debts (Regulation F)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from threadline.api.security import Ctx, CurrentPrincipal
from threadline.core.consent import ConsentState
from threadline.core.errors import InvalidInput, NotFound
from threadline.core.proactive.purposes import ConsentRecord, Purpose
from threadline.core.proactive.templates import template_to_doc
from threadline.service.proactive import consent, setup
from threadline.service.unit_of_work import UnitOfWork

router = APIRouter(tags=["notifications"])


class TemplateOut(BaseModel):
    id: uuid.UUID
    name: str
    purpose: str
    version: int
    updated_at: datetime
    template: dict[str, Any] = Field(description="As validated and stored")

    @classmethod
    def of(cls, t: setup.Template) -> TemplateOut:
        s = t.stored
        return cls(
            id=s.id,
            name=s.name,
            purpose=str(s.purpose),
            version=s.version,
            updated_at=s.updated_at,
            template=template_to_doc(t.template),
        )


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channel: str = Field(max_length=32)
    purpose: Purpose | None = Field(
        default=None, description="None: every purpose on the channel (as an SMS STOP)"
    )
    state: Literal["opted_in", "opted_out"]
    source: str = Field(min_length=1, max_length=28, description="Where you collected it")


class ConsentOut(BaseModel):
    channel: str
    purpose: str | None
    state: str
    source: str
    at: datetime

    @classmethod
    def of(cls, r: ConsentRecord) -> ConsentOut:
        return cls(
            channel=r.channel,
            purpose=str(r.purpose) if r.purpose else None,
            state=str(r.state),
            source=r.source,
            at=r.at,
        )


class DebtConversationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    debt_reference: str = Field(min_length=1, max_length=64)
    at: datetime | None = Field(default=None, description="Default now")


@router.get("/proactive/policy")
async def get_policy(ctx: Ctx, principal: CurrentPrincipal) -> dict[str, Any]:
    """Quiet hours, caps, basis, fallback order and senders (docs/proactive.md)."""
    return await ctx.tx.read(lambda uow: setup.get_policy(uow, principal))


@router.put("/proactive/policy")
async def put_policy(body: dict[str, Any], ctx: Ctx, principal: CurrentPrincipal) -> dict[str, Any]:
    """Replaces the policy (admins); every mistake is reported at once."""
    return await ctx.tx.write(lambda uow: setup.put_policy(uow, principal, body, ctx.now()))


@router.get("/notification-templates", response_model=list[TemplateOut])
async def list_templates(ctx: Ctx, principal: CurrentPrincipal) -> list[TemplateOut]:
    found = await ctx.tx.read(lambda uow: setup.list_templates(uow, principal))
    return [TemplateOut.of(t) for t in found]


@router.get("/notification-templates/{name}", response_model=TemplateOut)
async def get_template(name: str, ctx: Ctx, principal: CurrentPrincipal) -> TemplateOut:
    return TemplateOut.of(await ctx.tx.read(lambda uow: setup.get_template(uow, principal, name)))


@router.put("/notification-templates/{name}", response_model=TemplateOut)
async def put_template(
    name: str, body: dict[str, Any], ctx: Ctx, principal: CurrentPrincipal
) -> TemplateOut:
    """Creates or replaces a template (admins), validated whole on save: variables,
    variants per language and channel, SMS segments, content rules, expected replies."""
    saved = await ctx.tx.write(
        lambda uow: setup.put_template(uow, principal, name, body, ctx.now())
    )
    return TemplateOut.of(saved)


@router.post("/customers/{customer_id}/consents", response_model=ConsentOut, status_code=201)
async def record_consent(
    customer_id: uuid.UUID, body: ConsentIn, ctx: Ctx, principal: CurrentPrincipal
) -> ConsentOut:
    """A consent you collected yourself; an opt-out holds from now."""
    record = await ctx.tx.write(
        lambda uow: consent.record_consent(
            uow,
            principal,
            customer_id,
            body.channel,
            body.purpose,
            ConsentState(body.state),
            body.source,
            ctx.now(),
        )
    )
    return ConsentOut.of(record)


@router.get("/customers/{customer_id}/consents", response_model=list[ConsentOut])
async def consent_history(
    customer_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal
) -> list[ConsentOut]:
    """Every consent change, oldest first: keywords, the platform's reports, yours."""
    found = await ctx.tx.read(lambda uow: consent.consent_history(uow, principal, customer_id))
    return [ConsentOut.of(r) for r in found]


@router.post("/customers/{customer_id}/debt-conversations", status_code=204)
async def record_debt_conversation(
    customer_id: uuid.UUID, body: DebtConversationIn, ctx: Ctx, principal: CurrentPrincipal
) -> None:
    """A conversation with the customer about a debt (a call, say): no collections
    notification about it goes for seven days (12 CFR 1006.14(b)(2)(i)(B))."""
    now = ctx.now()
    at = body.at or now
    if at.tzinfo is None:
        raise InvalidInput("at needs a time zone", field="at")
    if at > now:
        raise InvalidInput("a conversation that has not happened yet", field="at")
    debt = body.debt_reference.strip()
    # As in uploads: the reference is matched exactly against notifications' own.
    if not debt or not debt.isprintable():
        raise InvalidInput("1-64 printable characters (no line breaks)", field="debt_reference")

    async def write(uow: UnitOfWork) -> None:
        setup.require_sender(principal)
        if await uow.customers.get(customer_id) is None:
            raise NotFound("no such customer", customer_id=str(customer_id))
        await uow.outreach.add_debt_conversation(
            customer_id, debt, at, f"agent:{principal.agent_id}"
        )

    await ctx.tx.write(write)
