"""What becomes of a notification once sent: the provider's delivery reports. A failed
channel sends it back to the dispatcher, which tries the next channel in the business's
order at once (or gives up when none is left)."""

from __future__ import annotations

from datetime import datetime

from threadline.core.messages import DeliveryStatus, Message
from threadline.core.outbox import UNCONFIRMED
from threadline.core.proactive.notification import NotificationState
from threadline.service.unit_of_work import UnitOfWork


async def on_status(
    uow: UnitOfWork, msg: Message, status: DeliveryStatus, now: datetime, error: str | None
) -> None:
    n = await uow.notifications.for_message(msg.id)
    if n is None:
        return
    if status in (DeliveryStatus.DELIVERED, DeliveryStatus.READ):
        changed = n.delivered(now)
    elif (
        status is DeliveryStatus.FAILED
        and n.state is NotificationState.SENT
        and not (error or "").startswith(UNCONFIRMED)
    ):
        # "Not confirmed" is not a failure: the provider may well have it, and sending
        # on the next channel could reach the customer twice. It stays sent; the
        # provider's own report, if one comes, settles it.
        # Only while it is out and unconfirmed: once delivered (or answered, which proves
        # it), a late failure report cannot undo that. A report for an earlier channel's
        # message finds no notification: the fallback's message replaced it.
        n.channel_failed(error or "the provider reported it failed", now)
        changed = True
    else:
        changed = False
    if changed:
        await uow.notifications.save_all([n])
        await uow.notifications.record(n.records)
        n.records.clear()
