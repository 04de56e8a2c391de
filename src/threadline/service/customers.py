"""Customers and their identities, as seen by the desk and the admin API."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from threadline.adapters.repositories.conversations import ConversationFilter
from threadline.core.access import Principal, require_role
from threadline.core.agents import Role
from threadline.core.customers import (
    Customer,
    Identity,
    make_identity,
    validate_channel,
    validate_timezone,
)
from threadline.core.errors import Conflict, NotFound
from threadline.service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class CustomerView:
    customer: Customer
    identities: list[Identity]


@dataclass(frozen=True)
class NewCustomer:
    display_name: str | None
    timezone: str | None
    preferred_channel: str | None
    identities: list[tuple[str, str]]


async def create(
    uow: UnitOfWork, actor: Principal, new: NewCustomer, now: datetime
) -> CustomerView:
    require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    identities = [make_identity(ch, addr) for ch, addr in new.identities]
    customer = Customer(
        id=uuid.uuid4(),
        display_name=new.display_name.strip() if new.display_name else None,
        timezone=validate_timezone(new.timezone),
        preferred_channel=validate_channel(new.preferred_channel)
        if new.preferred_channel
        else None,
        created_at=now,
    )
    await uow.customers.add(customer)
    for identity in dict.fromkeys(identities):
        await _claim_identity(uow, customer.id, identity, now)
    return CustomerView(customer, list(dict.fromkeys(identities)))


async def add_identity(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: uuid.UUID,
    channel: str,
    address: str,
    now: datetime,
) -> CustomerView:
    require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    customer = await uow.customers.get(customer_id)
    if customer is None:
        raise NotFound("no such customer", customer_id=str(customer_id))
    await _claim_identity(uow, customer_id, make_identity(channel, address), now)
    return CustomerView(customer, (await uow.customers.identities([customer_id]))[customer_id])


async def get(uow: UnitOfWork, actor: Principal, customer_id: uuid.UUID) -> CustomerView:
    customer = await uow.customers.get(customer_id)
    if customer is not None and not actor.sees_everything:
        # An agent sees a customer only through a conversation they can see.
        visible = await uow.conversations.search(
            ConversationFilter(
                customer_id=customer_id,
                visible_to_agent=actor.agent_id,
                visible_skills=actor.skills,
            ),
            limit=1,
            offset=0,
        )
        customer = customer if visible else None
    if customer is None:
        raise NotFound("no such customer", customer_id=str(customer_id))
    return CustomerView(customer, (await uow.customers.identities([customer_id]))[customer_id])


async def search(
    uow: UnitOfWork, actor: Principal, query: str | None, *, limit: int, offset: int
) -> list[CustomerView]:
    require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    found = await uow.customers.search(limit=limit, offset=offset, query=query)
    identities = await uow.customers.identities([c.id for c in found])
    return [CustomerView(c, identities[c.id]) for c in found]


async def _claim_identity(
    uow: UnitOfWork, customer_id: uuid.UUID, identity: Identity, now: datetime
) -> None:
    owner = await uow.customers.owner_of(identity)
    if owner == customer_id:
        return
    if owner is not None:
        raise Conflict(
            f"{identity} belongs to another customer", code="identity_taken", customer_id=str(owner)
        )
    await uow.customers.add_identity(customer_id, identity, now)
