"""Reports computed from the event log, the source of truth for metrics (DESIGN.md §1)."""

from __future__ import annotations

from datetime import datetime, timedelta

from threadline.core.access import Principal, require_role
from threadline.core.agents import Role
from threadline.core.bots import report
from threadline.core.bots.report import BotReport, LoggedEvent
from threadline.core.errors import InvalidInput
from threadline.service.unit_of_work import UnitOfWork

# A quarter is as far as one request reads: beyond, the event log of a busy center is
# millions of rows; a longer view is a sum of these.
MAX_PERIOD = timedelta(days=92)


async def bots(uow: UnitOfWork, actor: Principal, since: datetime, until: datetime) -> BotReport:
    require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    if since.year < 2 or until.year > 9998:
        raise InvalidInput("since and until are dates between years 2 and 9998", field="since")
    if until <= since:
        raise InvalidInput("until must be after since", field="until")
    if until - since > MAX_PERIOD:
        raise InvalidInput(f"a report covers at most {MAX_PERIOD.days} days", field="since")
    engaged = await uow.events.conversations_with(report.BOT_ENGAGED, since, until)
    stored = await uow.events.of_conversations(engaged, report.TYPES, since)
    return report.bot_report(
        (
            LoggedEvent(e.type, e.occurred_at, e.actor, e.conversation_id, e.payload)
            for e in stored
            if e.conversation_id is not None
        ),
        since,
        until,
    )
