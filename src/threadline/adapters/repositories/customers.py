"""Customers and their channel identities."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.repositories.sets import DIALECTS, one_of
from threadline.adapters.schema import customer_identities, customers
from threadline.core.customers import Customer, Identity

# Who owns each of many addresses of one channel: one read by the primary key.
_OWNERS = {
    dialect: sa.select(customer_identities.c.address, customer_identities.c.customer_id).where(
        customer_identities.c.channel == sa.bindparam("channel"),
        one_of(customer_identities.c.address, "addresses", dialect),
    )
    for dialect in DIALECTS
}


class CustomerRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, customer: Customer) -> None:
        await self._conn.execute(
            customers.insert().values(
                id=customer.id,
                display_name=customer.display_name,
                timezone=customer.timezone,
                preferred_channel=customer.preferred_channel,
                created_at=customer.created_at,
            )
        )

    async def update(self, customer: Customer) -> None:
        await self._conn.execute(
            customers.update()
            .where(customers.c.id == customer.id)
            .values(
                display_name=customer.display_name,
                timezone=customer.timezone,
                preferred_channel=customer.preferred_channel,
            )
        )

    async def get(self, customer_id: uuid.UUID) -> Customer | None:
        row = (
            await self._conn.execute(sa.select(customers).where(customers.c.id == customer_id))
        ).first()
        return _from_row(row) if row else None

    async def many(self, customer_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Customer]:
        ids = sorted(set(customer_ids))
        found: dict[uuid.UUID, Customer] = {}
        for start in range(0, len(ids), 500):
            rows = await self._conn.execute(
                sa.select(customers).where(customers.c.id.in_(ids[start : start + 500]))
            )
            found.update((r.id, _from_row(r)) for r in rows)
        return found

    async def existing(self, customer_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        return set(await self.many(customer_ids))

    async def search(self, *, limit: int, offset: int, query: str | None = None) -> list[Customer]:
        stmt = sa.select(customers)
        if query:
            pattern = f"%{query.lower()}%"
            stmt = stmt.where(
                sa.or_(
                    sa.func.lower(customers.c.display_name).like(pattern),
                    customers.c.id.in_(
                        sa.select(customer_identities.c.customer_id).where(
                            sa.func.lower(customer_identities.c.address).like(pattern)
                        )
                    ),
                )
            )
        rows = await self._conn.execute(
            stmt.order_by(customers.c.created_at, customers.c.id).limit(limit).offset(offset)
        )
        return [_from_row(r) for r in rows.all()]

    async def owners_of(self, channel: str, addresses: Collection[str]) -> dict[str, uuid.UUID]:
        """The customer who owns each address of `channel` that has an owner."""
        if not addresses:
            return {}
        params = {"channel": channel, "addresses": sorted(addresses)}
        rows = await self._conn.execute(_OWNERS[self._conn.dialect.name], params)
        return {r.address: r.customer_id for r in rows}

    async def owner_of(self, identity: Identity) -> uuid.UUID | None:
        row = (
            await self._conn.execute(
                sa.select(customer_identities.c.customer_id).where(
                    customer_identities.c.channel == identity.channel,
                    customer_identities.c.address == identity.address,
                )
            )
        ).first()
        return row.customer_id if row else None

    async def add_identity(self, customer_id: uuid.UUID, identity: Identity, now: datetime) -> None:
        await self._conn.execute(
            customer_identities.insert().values(
                channel=identity.channel,
                address=identity.address,
                customer_id=customer_id,
                created_at=now,
            )
        )

    async def display_names(
        self, customer_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, str | None]:
        """Names for a list of conversations (at most a page of them: one query)."""
        if not customer_ids:
            return {}
        rows = await self._conn.execute(
            sa.select(customers.c.id, customers.c.display_name).where(
                customers.c.id.in_(sorted(customer_ids))
            )
        )
        return {r.id: r.display_name for r in rows}

    async def identities(self, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Identity]]:
        out: dict[uuid.UUID, list[Identity]] = {cid: [] for cid in customer_ids}
        for start in range(0, len(customer_ids), 500):
            rows = await self._conn.execute(
                sa.select(customer_identities)
                .where(customer_identities.c.customer_id.in_(customer_ids[start : start + 500]))
                .order_by(customer_identities.c.created_at, customer_identities.c.channel)
            )
            for r in rows:
                out[r.customer_id].append(Identity(r.channel, r.address))
        return out


def _from_row(r: Any) -> Customer:
    return Customer(
        id=r.id,
        display_name=r.display_name,
        timezone=r.timezone,
        preferred_channel=r.preferred_channel,
        created_at=r.created_at,
    )
