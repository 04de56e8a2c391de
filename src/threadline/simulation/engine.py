"""A discrete-event simulation of a contact center's day that runs the real core.

The clock is virtual: a calendar (a heap) of what happens next, popped in time order.
Conversations are `core.conversations.Conversation` objects driven through the same
methods the service calls; customers' messages are read by the shipped classifier
(`core.classify`); routing is `core.routing.RoutingIndex`; timers are the core's
(`core.timers.fire`), set and cancelled exactly as the service's timer table is; the
respond-by and inactivity times come from `core.pacing`. What is simulated is only what
the service cannot know: when customers write and what, and how long agents take.

Why a calendar and not SimPy processes: the core already expresses every wait as a due
time (a timer row in the service), so a heap of due times is the service's own model;
SimPy's processes would wrap each of them in a generator and an event object, and a
cancelled timer (the customer wrote) would become an interrupted process.

Ties at one instant are broken by the order events were scheduled, so a seeded run
replays bit for bit.
"""

from __future__ import annotations

import heapq
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, timedelta

from threadline.adapters.lexicons import shipped_classifier
from threadline.core.classify import MessageKind, OutboundContext
from threadline.core.events import ACTOR_ROUTER, EventType, actor_agent
from threadline.core.lifecycle import CloseReason, ConversationState, TimerKind, WaitingOn
from threadline.core.timers import fire
from threadline.simulation import rota
from threadline.simulation.agents import (
    AGENT_DONE,
    ARRIVE,
    CLOSE,
    OFFLINE,
    PATIENCE,
    REPLY,
    SHIFT_END,
    SHIFT_START,
    SILENT,
    TIMER,
    WRITE,
    SimAgent,
    SimConversation,
)
from threadline.simulation.customers import Customers
from threadline.simulation.floor import Floor
from threadline.simulation.record import Recorder
from threadline.simulation.scenario import Agents, Scenario
from threadline.simulation.traffic import Traffic, draw

_S = ConversationState
# How long past the end of a shift an agent may keep finishing what they hold before
# what is left goes back to the queue (as going offline does in the service).
WRAP_UP_LIMIT = 30 * 60.0
# Progress is reported every this many calendar events: a few times a second of wall
# time, so the bar moves smoothly, and rarely enough to cost nothing.
PROGRESS_EVERY = 2_000

Progress = Callable[[float, float], None]


class Day(Customers):
    """One run of a scenario. `run()` returns the recorder holding what happened."""

    def __init__(
        self,
        scenario: Scenario,
        traffic: Traffic | None = None,
        *,
        agents: Sequence[int] | None = None,
        staffing: Sequence[int] | None = None,
    ) -> None:
        """`agents`: a head count per agent group instead of the scenario's. `staffing`:
        agents online per interval instead of the groups' shifts, each like the first
        group (skills, P, M); what a staffing search varies."""
        self.s = scenario
        self.t = traffic if traffic is not None else draw(scenario)
        # The core takes UTC; the scenario keeps its own zone for the outputs.
        self.start = scenario.start.astimezone(UTC)
        self.horizon = scenario.horizon
        self.end = scenario.horizon + scenario.drain_minutes * 60.0
        self.classifier = shipped_classifier()
        self._kinds: dict[tuple[str, OutboundContext], MessageKind] = {}
        self.timings = {q.channel: scenario.timing(q.channel) for q in scenario.queues}
        self.calendar: list[tuple[float, int, int, object, object]] = []
        self.seq = 0
        self.floor = Floor(q.skill for q in scenario.queues)
        # Every conversation not closed, by id: what the books close on at the end.
        self.open: dict[uuid.UUID, SimConversation] = {}
        self.agents: dict[uuid.UUID, SimAgent] = {}
        self.by_key: dict[str, SimAgent] = {}
        self.record = Recorder(scenario)
        handling = scenario.handling
        self.slowdown = handling.slowdown
        self.close_seconds = handling.close_seconds
        self.close_on_last = handling.close_on_last_answer
        # Only when nothing else frees a quiet customer's slot (Handling's docstring).
        self.close_silent = (
            None if scenario.routing.inactive else handling.close_silent_after_seconds
        )
        self.gap = [c.burst.gap_seconds for c in scenario.customers]
        self.explicit = [c.abandon == "explicit" for c in scenario.customers]
        self._ids = 0
        if staffing is not None:
            working = rota.by_interval(scenario, self.end, staffing)
        else:
            working = rota.by_shift(scenario, self.end, agents)
        for group, shifts in working:
            self._hire(group, shifts)
        for i in range(self.t.customers):
            self.schedule(float(self.t.arrive[i]), ARRIVE, i)

    def _hire(self, group: Agents, shifts: Sequence[tuple[float, float]]) -> None:
        agent = SimAgent(
            id=self._id(),
            key="",
            skills=frozenset(group.skills),
            preferred=group.preferred,
            max_load=group.max_load,
        )
        agent.key = str(agent.id)
        self.agents[agent.id] = agent
        self.by_key[agent.key] = agent
        for start, end in shifts:
            self.schedule(start, SHIFT_START, agent)
            self.schedule(end, SHIFT_END, agent)

    # -- the calendar ----------------------------------------------------------------

    def _id(self) -> uuid.UUID:
        # Deterministic identifiers: the core takes ids from its caller, and a replay
        # must produce the same ones (routing breaks ties by id).
        self._ids += 1
        return uuid.UUID(int=self._ids)

    def schedule(self, at: float, what: int, subject: object, detail: object = None) -> None:
        self.seq += 1
        heapq.heappush(self.calendar, (at, self.seq, what, subject, detail))

    def run(self, progress: Progress | None = None) -> Recorder:
        handlers: dict[int, Callable[[float, object, object], None]] = {
            ARRIVE: self._arrive,
            WRITE: self._write,
            AGENT_DONE: self._agent_done,
            TIMER: self._timer,
            PATIENCE: self._patience,
            SHIFT_START: self._shift_start,
            SHIFT_END: self._shift_end,
            OFFLINE: self._offline,
            SILENT: self._silent,
        }
        calendar, end, record = self.calendar, self.end, self.record
        popped = 0
        if progress is not None:
            progress(0.0, end)  # a bar with a total from the start, not a pulsing one
        while calendar:
            at, _, what, subject, detail = heapq.heappop(calendar)
            if at > end:
                break
            popped += 1
            handlers[what](at, subject, detail)
            if self.floor.dirty:
                self._route(at)
            if progress is not None and popped % PROGRESS_EVERY == 0:
                progress(at, end)
        record.finish(end, self.agents.values(), self._open_conversations())
        record.calendar_events = popped
        if progress is not None:
            progress(end, end)
        return record

    def _open_conversations(self) -> list[SimConversation]:
        return sorted(self.open.values(), key=lambda sc: sc.conv.id)

    # -- agents ------------------------------------------------------------------------

    def _owe(self, now: float, sc: SimConversation, what: int) -> None:
        sc.owed = what
        agent = sc.agent
        if agent is not None and agent.task is None:
            self._next_task(now, agent)

    def _next_task(self, now: float, agent: SimAgent) -> None:
        owed = agent.owed()
        if not owed:
            return
        sc = min(owed, key=_work_order)
        t = self.t
        factor = self.slowdown[min(len(agent.held), len(self.slowdown)) - 1]
        if sc.owed == REPLY:
            turn = max(sc.next_turn - 1, int(t.first_turn[sc.customer]))
            took = float(t.work[turn]) * factor
        else:
            took = self.close_seconds
        agent.task = sc
        agent.task_token += 1
        agent.task_started = now
        self.schedule(now + took, AGENT_DONE, agent, agent.task_token)

    def _agent_done(self, now: float, subject: object, token: object) -> None:
        agent: SimAgent = subject  # type: ignore[assignment]
        if token != agent.task_token or agent.task is None:
            return
        sc, agent.task = agent.task, None
        agent.typing += now - agent.task_started
        conv = sc.conv
        if sc.agent is agent and conv.state is _S.ASSIGNED:
            what, sc.owed = sc.owed, -1
            at = self.start + timedelta(seconds=now)
            if what == REPLY and conv.waiting_on is WaitingOn.AGENT:
                self._reply(now, sc, agent)
            elif what == CLOSE:
                conv.close(at, actor=actor_agent(agent.id), reason=CloseReason.AGENT)
                self._closed(now, sc)
                self._sync(sc)
        self._next_task(now, agent)

    def _reply(self, now: float, sc: SimConversation, agent: SimAgent) -> None:
        conv = sc.conv
        at = self.start + timedelta(seconds=now)
        more = sc.next_turn < sc.last_turn
        last = not more and not self.close_on_last
        context = (
            OutboundContext.AWAITS_ANSWER
            if more
            else OutboundContext.CLOSING_QUESTION
            if last
            else OutboundContext.STATEMENT
        )
        conv.record_agent_message(
            agent_id=agent.id, message_id=self._id(), now=at, context=context, timing=sc.timing
        )
        self.record.messages += 1
        self.record.answered(sc, now)
        sc.asked = None
        sc.first = False
        if not more and self.close_on_last:
            conv.close(at, actor=actor_agent(agent.id), reason=CloseReason.AGENT)
            self._closed(now, sc)
        elif self.close_silent is not None:
            self.schedule(now + self.close_silent, SILENT, sc, conv.message_count)
        self._sync(sc)
        self._answered(now, sc)

    def _silent(self, now: float, subject: object, count: object) -> None:
        """No answer since the agent's message: they close the chat by hand."""
        sc: SimConversation = subject  # type: ignore[assignment]
        conv = sc.conv
        if conv.message_count == count and conv.state is _S.ASSIGNED and sc.agent is not None:
            self._owe(now, sc, CLOSE)

    def _shift_start(self, now: float, subject: object, _: object) -> None:
        agent: SimAgent = subject  # type: ignore[assignment]
        agent.online, agent.leaving = True, False
        agent.present_since = now
        self.floor.online(agent, self.start + timedelta(seconds=now))

    def _shift_end(self, now: float, subject: object, _: object) -> None:
        """Away: no new work; what they hold they finish, up to the wrap-up limit."""
        agent: SimAgent = subject  # type: ignore[assignment]
        agent.online, agent.leaving = False, True
        self.floor.away(agent)
        # Online time is the shift: the wrap-up is "away", as the live figures count it.
        if agent.present_since is not None:
            self.record.presence(agent, agent.present_since, now)
            agent.present_since = None
        agent.leave_token += 1
        if agent.held:
            self.schedule(now + WRAP_UP_LIMIT, OFFLINE, agent, agent.leave_token)
        else:
            self._offline(now, agent, None)

    def _offline(self, now: float, subject: object, token: object) -> None:
        agent: SimAgent = subject  # type: ignore[assignment]
        if not agent.leaving or (token is not None and token != agent.leave_token):
            return  # back online since, or an earlier shift's deadline
        agent.leaving = False  # from here on, releasing a slot starts no work
        at = self.start + timedelta(seconds=now)
        actor = actor_agent(agent.id)
        if agent.task is not None:
            agent.typing += now - agent.task_started
        agent.task = None
        agent.task_token += 1
        for sc in sorted(agent.held, key=lambda c: c.conv.id):
            sc.conv.requeue(at, actor=actor, cause="agent_offline")
            self._release(now, agent, sc)
            self._sync(sc)
            self.floor.enqueue(sc)
        for sc in sorted(agent.owned_inactive, key=lambda c: c.conv.id):
            sc.conv.release_owner(at, actor=actor, cause="owner_offline")
            self._sync(sc)
        agent.owned_inactive.clear()

    # -- routing -----------------------------------------------------------------------

    def _offer_to_owner(self, now: float, sc: SimConversation, *, reactivated: bool) -> None:
        owner = self.agents.get(sc.conv.owner_agent_id) if sc.conv.owner_agent_id else None
        if owner is not None and Floor.owner_with_room(owner, reactivated=reactivated):
            self._assign(now, sc, owner, cause="reactivated" if reactivated else "reopened")
        else:
            self.floor.enqueue(sc)

    def _route(self, now: float) -> None:
        """Routing passes over the skills whose queue or agents changed, best first."""
        while (found := self.floor.next_assignment()) is not None:
            sc, key = found
            self._assign(now, sc, self.by_key[key], cause="routed")

    def _assign(self, now: float, sc: SimConversation, agent: SimAgent, *, cause: str) -> None:
        at = self.start + timedelta(seconds=now)
        sc.conv.assign(agent.id, at, actor=ACTOR_ROUTER, cause=cause, load=len(agent.held) + 1)
        sc.queue_token += 1
        sc.agent = agent
        agent.held.add(sc)
        self.floor.online(agent, at)
        self.record.holding(agent, now)
        if sc.assigned is None:
            sc.assigned = now
        if sc.returning_to is not None:
            # A reactivation's next assignment: straight back, or from the queue.
            sc.to_owner += sc.returning_to == agent.id
            sc.returning_to = None
        self._sync(sc)
        if sc.conv.waiting_on is WaitingOn.AGENT:
            self._owe(now, sc, REPLY)

    def _release(self, now: float, agent: SimAgent, sc: SimConversation) -> None:
        agent.held.discard(sc)
        sc.agent = None
        sc.owed = -1
        if agent.task is sc:
            agent.task = None
            agent.task_token += 1
            agent.typing += now - agent.task_started
            if agent.online or agent.leaving:
                self._next_task(now, agent)
        self.floor.freed(agent)
        self.record.holding(agent, now)
        if agent.leaving and not agent.held:
            self._offline(now, agent, None)

    def _disown(self, sc: SimConversation) -> None:
        """It is no longer on its owner's inactive list (it came back, or closed)."""
        owner = self.agents.get(sc.conv.owner_agent_id) if sc.conv.owner_agent_id else None
        if owner is not None:
            owner.owned_inactive.discard(sc)

    # -- timers and closing -------------------------------------------------------------

    def _sync(self, sc: SimConversation) -> None:
        """Set and cancel the simulator's timers as the service writes timer rows."""
        conv = sc.conv
        for kind, due in conv.timer_changes.items():
            if due is None:
                sc.timers.pop(kind, None)
            else:
                at = (due - self.start).total_seconds()
                sc.timers[kind] = at
                self.schedule(at, TIMER, sc, kind)
        conv.timer_changes.clear()
        self.record.core_events += len(conv.events)
        conv.events.clear()

    def _timer(self, now: float, subject: object, detail: object) -> None:
        sc: SimConversation = subject  # type: ignore[assignment]
        kind: TimerKind = detail  # type: ignore[assignment]
        if sc.timers.get(kind) != now:
            return  # cancelled or moved since: the service would find no such row
        del sc.timers[kind]
        conv = sc.conv
        before = conv.state
        holder = fire(conv, kind, self.start + timedelta(seconds=now), sc.timing)
        if kind is TimerKind.RESPOND_BY and any(
            e.type is EventType.RESPOND_BY_BREACHED for e in conv.events
        ):
            self.record.breaches += 1
        if conv.state is _S.INACTIVE and before is not _S.INACTIVE:
            sc.inactive_episodes += now < self.horizon
            sc.queue_token += 1
            agent = self.agents.get(holder) if holder is not None else None
            if agent is not None:
                if conv.owner_agent_id == agent.id:
                    agent.owned_inactive.add(sc)
                self._release(now, agent, sc)
        elif conv.state is _S.CLOSED and before is not _S.CLOSED:
            self._closed(now, sc)
        self._sync(sc)

    def _closed(self, now: float, sc: SimConversation) -> None:
        agent = sc.agent
        if agent is not None:
            self._release(now, agent, sc)
        self._disown(sc)
        sc.queue_token += 1
        self.open.pop(sc.conv.id, None)
        self.record.session(sc, now)


def _work_order(sc: SimConversation) -> tuple[int, float, int]:
    """Replies by respond-by (the desk's order), closings after them."""
    conv = sc.conv
    if sc.owed == REPLY and conv.respond_by is not None:
        return (0, conv.respond_by.timestamp(), conv.id.int)
    return (1, 0.0, conv.id.int)
