"""Customers' consent per channel (core.consent.Consent)."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import consents as t
from threadline.core.consent import Consent, ConsentState


def _from_row(r: Any) -> Consent:
    return Consent(r.customer_id, r.channel, ConsentState(r.state), r.updated_at, r.source)


class ConsentRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, customer_id: uuid.UUID, channel: str) -> Consent | None:
        row = (
            await self._conn.execute(
                t.select().where(t.c.customer_id == customer_id, t.c.channel == channel)
            )
        ).first()
        return _from_row(row) if row else None

    async def for_customers(
        self, customer_ids: Collection[uuid.UUID]
    ) -> dict[tuple[uuid.UUID, str], Consent]:
        """Each of these customers' consents by (customer, channel), in one query."""
        if not customer_ids:
            return {}
        rows = await self._conn.execute(t.select().where(t.c.customer_id.in_(sorted(customer_ids))))
        return {(r.customer_id, r.channel): _from_row(r) for r in rows}

    async def for_customer(self, customer_id: uuid.UUID) -> list[Consent]:
        rows = await self._conn.execute(
            t.select().where(t.c.customer_id == customer_id).order_by(t.c.channel)
        )
        return [_from_row(r) for r in rows]

    async def put(self, c: Consent) -> None:
        await self._conn.execute(
            t.delete().where(t.c.customer_id == c.customer_id, t.c.channel == c.channel)
        )
        await self._conn.execute(
            t.insert().values(
                customer_id=c.customer_id,
                channel=c.channel,
                state=str(c.state),
                source=c.source,
                updated_at=c.updated_at,
            )
        )
