"""Consent records the business reports itself (an opt-in from its website, an
opt-out by phone), and a customer's consent history."""

from __future__ import annotations

import uuid
from datetime import datetime

from threadline.core.access import Principal, require_role
from threadline.core.consent import ConsentState
from threadline.core.customers import validate_channel
from threadline.core.errors import InvalidInput, NotFound
from threadline.core.proactive.purposes import ConsentRecord, Purpose
from threadline.service.compliance import change_channel_consent
from threadline.service.proactive.setup import SENDERS
from threadline.service.unit_of_work import UnitOfWork


async def record_consent(
    uow: UnitOfWork,
    actor: Principal,
    customer_id: uuid.UUID,
    channel: str,
    purpose: Purpose | None,
    state: ConsentState,
    source: str,
    now: datetime,
) -> ConsentRecord:
    """The business reports a consent change it collected itself. A channel-wide one
    (no purpose) is the same change an SMS STOP or START makes, with the same effects."""
    require_role(actor, *SENDERS)
    validate_channel(channel)
    if await uow.customers.get(customer_id) is None:
        raise NotFound("no such customer", customer_id=str(customer_id))
    cleaned = source.strip()
    # 28: with its "api:" prefix it fits the consent table's source (32).
    if not 1 <= len(cleaned) <= 28 or not cleaned.isprintable():
        raise InvalidInput("say where the consent came from in 1-28 characters", field="source")
    record = ConsentRecord(customer_id, channel, purpose, state, f"api:{cleaned}", now)
    if purpose is None:
        await change_channel_consent(uow, customer_id, channel, state, record.source, now)
    else:
        await uow.outreach.add_consent(record)
    return record


async def consent_history(
    uow: UnitOfWork, actor: Principal, customer_id: uuid.UUID
) -> list[ConsentRecord]:
    require_role(actor, *SENDERS)
    if await uow.customers.get(customer_id) is None:
        raise NotFound("no such customer", customer_id=str(customer_id))
    return await uow.outreach.consent_history([customer_id])
