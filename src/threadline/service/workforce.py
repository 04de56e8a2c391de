"""Live workforce figures: the planner's definitions (core.wfm.figures) computed from the
event log, so that a day's plan and the day as it happened compare number for number.

What was open and who held what when the period starts is read from the events of the
LOOKBACK before it; the few conversations those do not explain (core.wfm.from_events:
`unresolved`) are replayed again with their whole history. Waits still open at the end
of a past period are followed to their answer, so a wait that began just before `until`
is judged as the simulator judges it. Agents' status at `since` comes from their first
status change after it (its `from`), or from their current status if none since.
A conversation held with no event at all from LOOKBACK before the period to its end is
not seen: its agent would have been online all that time without touching it.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from threadline.adapters.repositories.events import StoredEvent
from threadline.core.access import Principal, require_role
from threadline.core.agents import Agent, AgentStatus, Role, validate_skill
from threadline.core.errors import InvalidInput
from threadline.core.events import EventType
from threadline.core.wfm import from_events
from threadline.core.wfm.figures import Figures, Report, check_period
from threadline.core.wfm.from_events import LogEvent
from threadline.service.unit_of_work import UnitOfWork

# A week, the simulator's longest scenario: the report reads every conversation and
# agent event of the period into memory (about 1.5 kB each), so a busy center's month
# would be gigabytes. A longer comparison is a series of these.
MAX_PERIOD = timedelta(days=7)
# Long enough that nearly every conversation open at `since` shows its state in it (an
# agent's message, inactivity and reactivation, a close); short enough that a report of
# an hour does not read a day.
LOOKBACK = timedelta(hours=6)
_STATUS = str(AgentStatus.ONLINE)


@dataclass(frozen=True)
class LiveFigures:
    since: datetime
    until: datetime
    queue: str | None
    report: Report

    def row(self, f: Figures) -> dict[str, Any]:
        """`Figures.as_dict`, with its bounds as times too (`start` and `end` are
        seconds from `since`, as the simulator's are from the start of its day)."""
        return {
            "start_at": self.since + timedelta(seconds=f.start),
            "end_at": self.since + timedelta(seconds=f.end),
            **f.as_dict(),
        }

    def table(self) -> list[dict[str, Any]]:
        """The rows of the simulator's intervals.csv (simulation.outputs): each
        interval's number and start, its figures, then a `total` row; so that a day's
        plan and the day itself line up column for column."""
        rows: list[dict[str, Any]] = [
            {
                "interval": i,
                "start_time": (self.since + timedelta(seconds=f.start)).isoformat(),
                **f.as_dict(),
            }
            for i, f in enumerate(self.report.intervals)
        ]
        return [*rows, {"interval": "total", "start_time": "", **self.report.total.as_dict()}]


async def live_figures(
    uow: UnitOfWork,
    actor: Principal,
    since: datetime,
    until: datetime,
    *,
    interval: float,
    window: float,
    queue: str | None,
    now: datetime,
) -> LiveFigures:
    """The figures of [since, until) in intervals of `interval` seconds, a wait counting
    as served in time when answered within `window` seconds. `queue`: only that queue's
    waits and sessions, and the time of the agents with its skill."""
    require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    _check_period(since, until)
    end = (until - since).total_seconds()
    check_period(0.0, end, interval, window)
    if queue is not None:
        try:
            queue = validate_skill(queue)
        except InvalidInput:
            raise InvalidInput("queue is a skill's name", field="queue") from None
    read_from = since - LOOKBACK
    stored = await uow.events.of_types_between(from_events.TYPES, read_from, until)
    team = {
        str(a.id): a
        for a in await uow.agents.all()
        if a.skills and (queue is None or queue in a.skills)
    }
    online = await _online_at(uow, team, since, until, stored)
    at_now = (now - since).total_seconds()

    def reduce(events: Iterable[StoredEvent]) -> from_events.Reduced:
        return from_events.reduce(
            [_logged(e, since) for e in events],
            end=end,
            now=at_now,
            online_at_start=online,
            agents=team.keys(),
            queue=queue,
        )

    # Reducing a busy day is seconds of CPU: off the event loop, so that desks, webhooks
    # and streams keep being served meanwhile.
    reduced = await asyncio.to_thread(reduce, stored)
    history = {uuid.UUID(c) for c in reduced.unresolved}
    # A past period's open waits, and whatever the history replay may open.
    follow = history | {uuid.UUID(c) for c in reduced.open_at_end} if now > until else set()
    if history or follow:
        types = from_events.CONVERSATION_TYPES
        earlier = await uow.events.of_conversations_before(history, types, read_from)
        later = await uow.events.of_conversations(follow, types, until) if follow else []
        replay = [*earlier, *stored, *sorted(later, key=lambda e: e.seq)]
        reduced = await asyncio.to_thread(reduce, replay)
    report = await asyncio.to_thread(
        from_events.figures_of, reduced, end=end, now=at_now, interval=interval, window=window
    )
    return LiveFigures(since, until, queue, report)


def _check_period(since: datetime, until: datetime) -> None:
    if since.year < 2 or until.year > 9998:
        raise InvalidInput("since and until are dates between years 2 and 9998", field="since")
    if until <= since:
        raise InvalidInput("until must be after since", field="until")
    if until - since > MAX_PERIOD:
        raise InvalidInput(
            f"a workforce report covers at most {MAX_PERIOD.days} days", field="since"
        )


async def _online_at(
    uow: UnitOfWork,
    team: dict[str, Agent],
    since: datetime,
    until: datetime,
    stored: Collection[StoredEvent],
) -> set[str]:
    """The team's agents online at `since`: what their first status change after it
    changed from, or (none since) their status now."""
    status_type = str(EventType.AGENT_STATUS)
    then: dict[str, str] = {}
    for e in stored:
        if e.type == status_type and e.agent_id is not None and e.occurred_at >= since:
            then.setdefault(str(e.agent_id), str(e.payload.get("from")))
    # Changed after the period: the first change after it says what held through it.
    later = [a.id for key, a in team.items() if key not in then and a.status_since >= until]
    if later:
        found = await uow.events.first_of_agents(status_type, later, until)
        for agent_id, e in found.items():
            then[str(agent_id)] = str(e.payload.get("from"))
    return {
        key
        for key, a in team.items()
        if then.get(key, str(a.status) if a.status_since < until else None) == _STATUS
    }


def _logged(e: StoredEvent, since: datetime) -> LogEvent:
    return LogEvent(
        e.seq,
        e.type,
        (e.occurred_at - since).total_seconds(),
        e.actor,
        str(e.conversation_id) if e.conversation_id else None,
        str(e.agent_id) if e.agent_id else None,
        e.queue,
        e.payload,
    )
