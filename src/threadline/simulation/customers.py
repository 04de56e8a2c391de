"""What simulated customers do: arrive, write their turns in bursts, answer the agent,
say goodbye, give up, come back. A part of `engine.Day` (a mixin): the calendar, the
agents and the routing are the engine's.

Customers' words go through the shipped classifier, as a real customer's would: the
workflow (closing, ineffectual, substantive) is the core's reading, not the simulator's.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from threadline.core.classify import Classifier, MessageKind, OutboundContext
from threadline.core.conversations import Conversation
from threadline.core.events import ACTOR_CUSTOMER
from threadline.core.lifecycle import CloseReason, ConversationState, WaitingOn
from threadline.core.pacing import ChannelTiming
from threadline.simulation.agents import CLOSE, PATIENCE, REPLY, WRITE, SimConversation
from threadline.simulation.floor import Floor
from threadline.simulation.record import Recorder
from threadline.simulation.scenario import Scenario
from threadline.simulation.traffic import ENDING_DECLINES, ENDING_THANKS, Traffic

_S = ConversationState
# What simulated customers write. The classifier reads them as a customer's words would
# be read: a question with a number in it is substantive whatever came before; the
# others depend on what the agent last asked.
QUESTION = "I need help with order 4417"
MORE = "and one more thing about invoice 2231"
DECLINE = "no, that's all, thanks"
THANKS = "thanks!"

# A WRITE whose detail is this is the customer's next turn, not one message.
_TURN = "turn"


class Customers:
    if TYPE_CHECKING:  # provided by engine.Day
        s: Scenario
        t: Traffic
        start: datetime
        horizon: float
        timings: dict[str, ChannelTiming]
        classifier: Classifier
        _kinds: dict[tuple[str, OutboundContext], MessageKind]
        gap: list[float]
        explicit: list[bool]
        record: Recorder
        open: dict[uuid.UUID, SimConversation]
        floor: Floor

        def schedule(
            self, at: float, what: int, subject: object, detail: object = None
        ) -> None: ...
        def _id(self) -> uuid.UUID: ...
        def _sync(self, sc: SimConversation) -> None: ...
        def _owe(self, now: float, sc: SimConversation, what: int) -> None: ...
        def _closed(self, now: float, sc: SimConversation) -> None: ...
        def _disown(self, sc: SimConversation) -> None: ...
        def _offer_to_owner(
            self, now: float, sc: SimConversation, *, reactivated: bool
        ) -> None: ...

    def _arrive(self, now: float, subject: object, _: object) -> None:
        i = int(subject)  # type: ignore[call-overload]
        t = self.t
        queue = self.s.queues[int(t.queue[i])]
        timing = self.timings[queue.channel]
        first = int(t.first_turn[i])
        conv = Conversation.open(
            id=self._id(),
            customer_id=self._id(),
            inbox_id=uuid.UUID(int=0),
            channel=queue.channel,
            skill=queue.skill,
            session_id=self._id(),
            now=self.start + timedelta(seconds=now),
            timing=timing,
        )
        last = int(t.first_turn[i + 1]) - 1 if t.returns[i] else int(t.first_turn[i + 1])
        sc = SimConversation(
            conv=conv,
            customer=i,
            timing=timing,
            kind=int(t.kind[i]),
            next_turn=first,
            last_turn=last,
            return_turn=int(t.first_turn[i + 1]) - 1 if t.returns[i] else -1,
            opened=now,
        )
        self.record.arrived_at.append(now)
        self.open[conv.id] = sc
        self._take_turn(now, sc)
        patience = float(t.patience[i])
        if math.isfinite(patience):
            self.schedule(now + patience, PATIENCE, sc, conv.session_id)

    def _take_turn(self, now: float, sc: SimConversation) -> None:
        """The customer writes their next turn: a burst of messages a few seconds apart."""
        j = sc.next_turn
        if j >= int(self.t.first_turn[sc.customer + 1]):
            raise AssertionError(f"customer {sc.customer} has no turn {j}")
        sc.next_turn += 1
        burst = int(self.t.burst[j])
        gap = self.gap[int(self.t.kind[sc.customer])]
        self._write(now, sc, QUESTION)
        for n in range(1, burst):
            self.schedule(now + n * gap, WRITE, sc, MORE)

    def _kind(self, text: str, context: OutboundContext) -> MessageKind:
        key = (text, context)
        kind = self._kinds.get(key)
        if kind is None:
            kind = self._kinds[key] = self.classifier.classify_in(text, context).kind
        return kind

    def _write(self, now: float, subject: object, detail: object) -> None:
        sc: SimConversation = subject  # type: ignore[assignment]
        if sc.gone:
            return
        if detail is _TURN:
            self._take_turn(now, sc)
            return
        conv = sc.conv
        before = conv.state
        waiting_before = conv.waiting_on
        kind = self._kind(str(detail), conv.last_outbound)
        at = self.start + timedelta(seconds=now)
        conv.receive_customer_message(
            message_id=self._id(),
            now=at,
            new_session_id=self._id(),
            timing=sc.timing,
            kind=kind,
        )
        self.record.messages += 1
        if before is _S.CLOSED and conv.state is not _S.CLOSED:
            self._start_session(now, sc)
        if conv.state is _S.CLOSED:
            if before is not _S.CLOSED:
                self._closed(now, sc)
        elif kind is MessageKind.SUBSTANTIVE and waiting_before is not WaitingOn.AGENT:
            sc.asked = now
        if (
            kind is MessageKind.INEFFECTUAL
            and before is _S.ASSIGNED
            and sc.agent is not None
            and conv.last_outbound is OutboundContext.CLOSING_QUESTION
        ):
            # "thanks" after the last answer: nothing to reply, the agent closes it.
            self._owe(now, sc, CLOSE)
        self._sync(sc)
        if before is _S.INACTIVE and conv.state is not _S.INACTIVE:
            self._disown(sc)
        if before is _S.INACTIVE and conv.state is _S.QUEUED:
            if now < self.horizon:  # the figures count what happens in the day
                sc.reactivations += 1
                sc.returning_to = conv.owner_agent_id
            self._offer_to_owner(now, sc, reactivated=True)
        elif before is _S.CLOSED and conv.state is _S.QUEUED:
            self._offer_to_owner(now, sc, reactivated=False)
        elif conv.state is _S.ASSIGNED and conv.waiting_on is WaitingOn.AGENT:
            self._owe(now, sc, REPLY)
        elif conv.state is _S.QUEUED and waiting_before is not WaitingOn.AGENT:
            self.floor.enqueue(sc)  # waiting on the agent now: its place in line changed

    def _start_session(self, now: float, sc: SimConversation) -> None:
        sc.opened = now
        sc.assigned = None
        sc.first = True
        sc.inactive_episodes = sc.reactivations = sc.to_owner = 0
        self.open[sc.conv.id] = sc
        self.record.reopened += 1

    def _answered(self, now: float, sc: SimConversation) -> None:
        """The agent's reply reached the customer: what do they do next?

        Once per turn: a burst's later messages can draw further replies to the same
        turn, and the customer still answers (or says goodbye) once."""
        t = self.t
        turn = sc.next_turn - 1
        if sc.gone or sc.answered_turn == turn:
            return
        sc.answered_turn = turn
        final = sc.conv.last_outbound is OutboundContext.CLOSING_QUESTION or (
            sc.conv.state is _S.CLOSED
        )
        if not final:
            j = sc.next_turn
            if t.walks[j]:
                sc.gone = True
                return
            self.schedule(now + float(t.latency[j]), WRITE, sc, _TURN)
            return
        ending = int(t.ending[sc.customer])
        if sc.conv.state is not _S.CLOSED:
            text = DECLINE if ending == ENDING_DECLINES else THANKS
            if ending in (ENDING_DECLINES, ENDING_THANKS):
                self.schedule(now + float(t.end_latency[sc.customer]), WRITE, sc, text)
        if sc.return_turn >= 0 and sc.next_turn == sc.return_turn:
            self.schedule(now + float(t.latency[sc.return_turn]), WRITE, sc, _TURN)

    def _patience(self, now: float, subject: object, session: object) -> None:
        sc: SimConversation = subject  # type: ignore[assignment]
        conv = sc.conv
        if conv.session_id != session or sc.assigned is not None or sc.gone:
            return
        sc.gone = sc.gave_up = True
        self.record.gave_up_at.append(sc.opened)
        if self.explicit[int(self.t.kind[sc.customer])] and conv.state is _S.QUEUED:
            conv.close(
                self.start + timedelta(seconds=now),
                actor=ACTOR_CUSTOMER,
                reason=CloseReason.CUSTOMER_LEFT,
            )
            self._closed(now, sc)
            self._sync(sc)
