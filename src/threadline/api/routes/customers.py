"""Customers and their channel identities."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from threadline.api.schemas import CustomerCreate, CustomerOut, IdentityIO
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.service import customers

router = APIRouter(tags=["customers"])


@router.get("/customers", response_model=list[CustomerOut])
async def search_customers(
    ctx: Ctx,
    principal: CurrentPrincipal,
    q: Annotated[
        str | None,
        Query(max_length=128, pattern=r"^[^\x00]*$", description="Part of a name or an address"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[CustomerOut]:
    found = await ctx.tx.read(
        lambda uow: customers.search(uow, principal, q, limit=limit, offset=offset)
    )
    return [CustomerOut.of(v) for v in found]


@router.post("/customers", response_model=CustomerOut, status_code=201)
async def create_customer(
    body: CustomerCreate, ctx: Ctx, principal: CurrentPrincipal
) -> CustomerOut:
    new = customers.NewCustomer(
        display_name=body.display_name,
        timezone=body.timezone,
        preferred_channel=body.preferred_channel,
        identities=[(i.channel, i.address) for i in body.identities],
    )
    view = await ctx.tx.write(lambda uow: customers.create(uow, principal, new, ctx.now()))
    return CustomerOut.of(view)


@router.get("/customers/{customer_id}", response_model=CustomerOut)
async def get_customer(
    customer_id: uuid.UUID, ctx: Ctx, principal: CurrentPrincipal
) -> CustomerOut:
    return CustomerOut.of(await ctx.tx.read(lambda uow: customers.get(uow, principal, customer_id)))


@router.post("/customers/{customer_id}/identities", response_model=CustomerOut, status_code=201)
async def add_identity(
    customer_id: uuid.UUID, body: IdentityIO, ctx: Ctx, principal: CurrentPrincipal
) -> CustomerOut:
    view = await ctx.tx.write(
        lambda uow: customers.add_identity(
            uow, principal, customer_id, body.channel, body.address, ctx.now()
        )
    )
    return CustomerOut.of(view)
