"""Web chat widgets and their visitors' sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from threadline.adapters.schema import visitor_sessions, widgets
from threadline.core.customers import Identity
from threadline.core.verification import Verification
from threadline.core.widgets import Visitor, Widget, WidgetLook


class WidgetRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def for_inbox(self, inbox_id: uuid.UUID) -> Widget | None:
        row = (
            await self._conn.execute(sa.select(widgets).where(widgets.c.inbox_id == inbox_id))
        ).first()
        return _widget(row) if row else None

    async def by_key(self, key: str) -> Widget | None:
        row = (await self._conn.execute(sa.select(widgets).where(widgets.c.key == key))).first()
        return _widget(row) if row else None

    async def save(self, widget: Widget) -> None:
        values = {
            "key": widget.key,
            "title": widget.look.title,
            "greeting": widget.look.greeting,
            "accent_color": widget.look.accent_color,
            "allowed_origins": list(widget.allowed_origins),
            "identity_secret": widget.identity_secret,
            "updated_at": widget.updated_at,
        }
        updated = await self._conn.execute(
            widgets.update().where(widgets.c.inbox_id == widget.inbox_id).values(values)
        )
        if updated.rowcount == 0:
            await self._conn.execute(widgets.insert().values(inbox_id=widget.inbox_id, **values))

    async def add_visitor(
        self, token_hash: str, visitor: Visitor, now: datetime, expires_at: datetime
    ) -> None:
        await self._conn.execute(
            visitor_sessions.insert().values(
                token_hash=token_hash,
                inbox_id=visitor.inbox_id,
                customer_id=visitor.customer_id,
                identity=str(visitor.identity),
                verification=str(visitor.verification),
                verified_until=visitor.verified_until,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def visitor(self, token_hash: str, now: datetime) -> Visitor | None:
        row = (
            await self._conn.execute(
                sa.select(visitor_sessions).where(
                    visitor_sessions.c.token_hash == token_hash,
                    visitor_sessions.c.expires_at > now,
                )
            )
        ).first()
        if row is None:
            return None
        channel, address = row.identity.split(":", 1)
        return Visitor(
            row.inbox_id,
            row.customer_id,
            Identity(channel, address),
            Verification(row.verification),
            row.verified_until,
        )

    async def extend_visitor(
        self, token_hash: str, expires_at: datetime, verified_until: datetime | None = None
    ) -> None:
        values: dict[str, datetime] = {"expires_at": expires_at}
        if verified_until is not None:
            values["verified_until"] = verified_until
        await self._conn.execute(
            visitor_sessions.update()
            .where(visitor_sessions.c.token_hash == token_hash)
            .values(values)
        )


def _widget(r: Any) -> Widget:
    return Widget(
        inbox_id=r.inbox_id,
        key=r.key,
        look=WidgetLook(r.title, r.greeting, r.accent_color),
        allowed_origins=tuple(r.allowed_origins),
        identity_secret=r.identity_secret,
        updated_at=r.updated_at,
    )
