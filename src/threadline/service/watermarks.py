"""Receipts that speak of a customer's messages by an instant as well as by id:
"everything sent to this customer up to here was delivered (or read)". Messenger
sends them; a report about one message goes through service.outbox.apply_report.

A receipt can overtake the answer to our own send: Messenger may report a message
delivered before the worker that sent it has recorded its id. A receipt naming an id
we do not know therefore also covers, up to its watermark, the customer's messages
whose send is under way, instead of being lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from threadline.adapters.providers.base import Connection, StatusReport
from threadline.adapters.providers.registry import provider
from threadline.core.conversations import Conversation
from threadline.core.customers import Identity
from threadline.core.messages import DeliveryStatus, advance_status
from threadline.service.outbound import change_status
from threadline.service.outbox import apply_report
from threadline.service.unit_of_work import UnitOfWork

# What a watermark moves: messages the provider has taken (sent), so a message still
# waiting in the outbox is never called delivered; a read receipt also covers those
# already delivered.
_BEFORE = {
    DeliveryStatus.DELIVERED: (DeliveryStatus.SENT,),
    DeliveryStatus.READ: (DeliveryStatus.SENT, DeliveryStatus.DELIVERED),
}
# A bound on one receipt's work; older messages stuck at "sent" beyond it are left.
MAX_MESSAGES = 500


async def apply_receipt(
    uow: UnitOfWork,
    conn: Connection,
    customer_address: str,
    status: DeliveryStatus,
    external_ids: Sequence[str],
    up_to: datetime | None,
    now: datetime,
) -> None:
    """The messages named move to `status`; the watermark `up_to` moves the customer's
    earlier ones too when no message is named, or when one named is not known here."""
    before = _BEFORE.get(status)
    if before is None:
        raise ValueError(f"a receipt reports delivered or read, not {status}")
    actor = f"provider:{conn.provider}"
    unknown = False
    for external_id in external_ids:
        report = StatusReport(conn.address, external_id, status)
        unknown |= await apply_report(uow, conn, report, now, actor) is None
    if up_to is None or (external_ids and not unknown):
        return
    channel = provider(conn.provider).channel
    customer_id = await uow.customers.owner_of(Identity(channel, customer_address))
    if customer_id is None:
        return  # the page wrote to someone who never wrote to this inbox
    found = await uow.messages.outbound_to_customer(
        conn.inbox_id,
        customer_id,
        up_to=up_to,
        statuses=before,
        in_flight=unknown,
        limit=MAX_MESSAGES,
    )
    conversations: dict[uuid.UUID, Conversation] = {}
    for msg in found:
        moved = advance_status(msg.delivery_status, status)
        conv = conversations.get(msg.conversation_id)
        if conv is None:
            conv = await uow.conversations.get(msg.conversation_id)
            assert conv is not None  # a foreign key guarantees it
            conversations[conv.id] = conv
        await change_status(uow, msg, moved, now, actor, conv=conv)
