"""What a conversation's channel will take from the agent right now."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from threadline.core.access import Principal
from threadline.core.consent import ConsentState
from threadline.core.windows import window_open
from threadline.service.conversations import visible
from threadline.service.outbox import channel_of, templates_of
from threadline.service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ChannelState:
    channel: str
    provider: str | None
    opted_out: bool
    opted_out_keyword: str | None
    window_open: bool
    window_hours: float | None
    window_closes_at: datetime | None
    templates: list[dict[str, str]]
    tags: list[str]
    rich_replies: bool


async def of(
    uow: UnitOfWork, principal: Principal, conversation_id: uuid.UUID, now: datetime
) -> ChannelState:
    conv = await visible(uow, principal, conversation_id, lock=False)
    consent = await uow.consents.get(conv.customer_id, conv.channel)
    found = await channel_of(uow, conv.inbox_id)
    conn, prov = found if found else (None, None)
    rule = prov.window if prov else None
    opted_out = consent is not None and consent.state is ConsentState.OPTED_OUT
    last = conv.last_customer_message_at
    tags = []
    if rule is not None:
        for tag, limit in sorted(rule.tags.items()):
            if limit is None or (last is not None and now - last <= limit):
                tags.append(tag)
    return ChannelState(
        channel=conv.channel,
        provider=prov.name if prov else None,
        opted_out=opted_out,
        opted_out_keyword=consent.source if consent is not None and opted_out else None,
        window_open=window_open(rule, last, now),
        window_hours=rule.window / timedelta(hours=1) if rule is not None else None,
        window_closes_at=last + rule.window if rule is not None and last is not None else None,
        templates=templates_of(conn) if rule is not None and rule.templates_outside else [],
        tags=tags,
        rich_replies=prov.rich_replies if prov else False,
    )
