"""What every provider's webhook does once it has been authenticated: find the inbox its
business address belongs to, and apply delivery reports."""

from __future__ import annotations

from datetime import datetime

from threadline.adapters.providers.base import Connection, StatusReport
from threadline.core.errors import NotFound
from threadline.core.inboxes import Inbox
from threadline.service.outbox import apply_report
from threadline.service.unit_of_work import UnitOfWork


async def connection(uow: UnitOfWork, provider: str, business: str) -> tuple[Connection, Inbox]:
    conn = await uow.connections.by_address(provider, business)
    inbox = await uow.access.get_inbox(conn.inbox_id) if conn else None
    if conn is None or inbox is None:
        raise NotFound(
            f"no inbox is connected to {provider} address {business!r}",
            code="unknown_address",
            address=business,
        )
    return conn, inbox


async def apply_reports(
    uow: UnitOfWork, conn: Connection, reports: list[StatusReport], now: datetime
) -> None:
    for report in reports:
        await apply_report(uow, conn, report, now, actor=f"provider:{conn.provider}")
