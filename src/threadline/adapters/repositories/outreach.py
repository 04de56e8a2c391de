"""What governs outreach: templates, the policy, consent history and conversations
about debts (the tables of core.proactive other than the notifications')."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema_proactive import consent_records as consents
from threadline.adapters.schema_proactive import debt_conversations as debts
from threadline.adapters.schema_proactive import notification_templates as templates
from threadline.adapters.schema_proactive import proactive_policy as policy
from threadline.core.consent import ConsentState
from threadline.core.proactive.purposes import ConsentRecord, Purpose


@dataclass(frozen=True)
class StoredTemplate:
    id: uuid.UUID
    name: str
    purpose: Purpose
    document: dict[str, Any]
    version: int
    created_at: datetime
    updated_at: datetime


def _template(r: Any) -> StoredTemplate:
    return StoredTemplate(
        r.id, r.name, Purpose(r.purpose), dict(r.document), r.version, r.created_at, r.updated_at
    )


class OutreachRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    # -- templates ----------------------------------------------------------------

    async def template(self, template_id: uuid.UUID) -> StoredTemplate | None:
        row = (
            await self._conn.execute(templates.select().where(templates.c.id == template_id))
        ).first()
        return _template(row) if row else None

    async def template_named(self, name: str) -> StoredTemplate | None:
        row = (await self._conn.execute(templates.select().where(templates.c.name == name))).first()
        return _template(row) if row else None

    async def templates(self) -> list[StoredTemplate]:
        rows = await self._conn.execute(templates.select().order_by(templates.c.name))
        return [_template(r) for r in rows]

    async def put_template(self, t: StoredTemplate) -> None:
        values = {
            "name": t.name,
            "purpose": str(t.purpose),
            "document": t.document,
            "version": t.version,
            "updated_at": t.updated_at,
        }
        if t.version == 1:
            await self._conn.execute(
                templates.insert().values(id=t.id, created_at=t.created_at, **values)
            )
        else:
            await self._conn.execute(
                templates.update().where(templates.c.id == t.id).values(**values)
            )

    # -- policy -------------------------------------------------------------------

    async def policy(self) -> dict[str, Any] | None:
        row = (
            await self._conn.execute(sa.select(policy.c.document).where(policy.c.id == 1))
        ).first()
        return dict(row.document) if row else None

    async def put_policy(self, document: dict[str, Any], now: datetime, by: str) -> None:
        await self._conn.execute(policy.delete().where(policy.c.id == 1))
        await self._conn.execute(
            policy.insert().values(id=1, document=document, updated_at=now, updated_by=by)
        )

    # -- consent history ----------------------------------------------------------

    async def add_consent(self, record: ConsentRecord) -> None:
        await self._conn.execute(
            consents.insert().values(
                customer_id=record.customer_id,
                channel=record.channel,
                purpose=str(record.purpose) if record.purpose else None,
                state=str(record.state),
                source=record.source,
                at=record.at,
            )
        )

    async def consent_history(self, customer_ids: Iterable[uuid.UUID]) -> list[ConsentRecord]:
        ids = list(set(customer_ids))
        found: list[ConsentRecord] = []
        for i in range(0, len(ids), 5000):
            rows = await self._conn.execute(
                consents.select()
                .where(consents.c.customer_id.in_(ids[i : i + 5000]))
                .order_by(consents.c.seq)
            )
            found.extend(
                ConsentRecord(
                    r.customer_id,
                    r.channel,
                    Purpose(r.purpose) if r.purpose else None,
                    ConsentState(r.state),
                    r.source,
                    r.at,
                )
                for r in rows
            )
        return found

    # -- conversations about debts ------------------------------------------------

    async def add_debt_conversation(
        self, customer_id: uuid.UUID, debt_reference: str, at: datetime, source: str
    ) -> None:
        await self._conn.execute(
            debts.insert().values(
                customer_id=customer_id, debt_reference=debt_reference, at=at, source=source
            )
        )

    async def debt_conversations(
        self, customer_ids: Iterable[uuid.UUID], since: datetime
    ) -> dict[tuple[uuid.UUID, str], list[datetime]]:
        ids = list(set(customer_ids))
        found: dict[tuple[uuid.UUID, str], list[datetime]] = {}
        for i in range(0, len(ids), 5000):
            rows = await self._conn.execute(
                debts.select().where(debts.c.customer_id.in_(ids[i : i + 5000]), debts.c.at > since)
            )
            for r in rows:
                found.setdefault((r.customer_id, r.debt_reference), []).append(r.at)
        return found
