"""The conversation aggregate and its lifecycle (DESIGN.md §2).

Every state change goes through `_move`, which rejects transitions the lifecycle does
not allow, and records an `Event` naming its cause. The service layer persists the
aggregate and its events in one transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from threadline.core import pacing
from threadline.core.classify import MessageKind, OutboundContext
from threadline.core.errors import Forbidden, InvalidInput, InvalidTransition
from threadline.core.events import ACTOR_CUSTOMER, ACTOR_SYSTEM, Event, EventType, actor_bot
from threadline.core.handoff import Handoff
from threadline.core.lifecycle import (
    ALLOWED_TRANSITIONS,
    CloseReason,
    ConversationState,
    TimerKind,
    WaitingOn,
)
from threadline.core.pacing import ChannelTiming
from threadline.core.verification import Verification, by_channel, stronger

__all__ = [
    "ALLOWED_TRANSITIONS",
    "CloseReason",
    "Conversation",
    "ConversationState",
    "TimerKind",
    "WaitingOn",
]


@dataclass
class Conversation:
    id: uuid.UUID
    customer_id: uuid.UUID
    inbox_id: uuid.UUID
    channel: str
    skill: str
    state: ConversationState
    session_id: uuid.UUID
    session_seq: int
    pace: float
    opened_at: datetime
    updated_at: datetime
    waiting_on: WaitingOn = WaitingOn.NOBODY
    respond_by: datetime | None = None
    assigned_agent_id: uuid.UUID | None = None
    owner_agent_id: uuid.UUID | None = None
    enqueued_at: datetime | None = None
    last_customer_message_at: datetime | None = None
    last_outbound_at: datetime | None = None
    # Messages are numbered within the conversation: timestamps can collide, the
    # thread's order must not.
    message_count: int = 0
    # What the last agent or bot message asked of the customer: how their reply is read.
    last_outbound: OutboundContext = OutboundContext.NONE
    # When it last went inactive (None while active): the start of the close timeout.
    inactive_since: datetime | None = None
    # Reactivated and waiting in the queue: served ahead of new work (DESIGN.md §3).
    reactivated: bool = False
    # How sure we are of who the customer is, this session (core.verification).
    verification: Verification = Verification.IDENTIFIED
    # The assigned agent has read the thread up to this message: later customer
    # messages are their unread ones.
    agent_read_seq: int = 0
    # What a bot handed over with it, for the rest of this session (core.handoff).
    handoff: Handoff | None = None
    events: list[Event] = field(default_factory=list, repr=False, compare=False)
    # Durable timers set (a due time) or cancelled (None) since the last save, for the
    # service to write with the events. Only changes: most messages touch none.
    timer_changes: dict[TimerKind, datetime | None] = field(
        default_factory=dict, repr=False, compare=False
    )

    # -- construction -------------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        id: uuid.UUID,
        customer_id: uuid.UUID,
        inbox_id: uuid.UUID,
        channel: str,
        skill: str,
        session_id: uuid.UUID,
        now: datetime,
        timing: ChannelTiming,
        verification: Verification | None = None,
        bot: str | None = None,
    ) -> Conversation:
        """`bot`: the bot serving the inbox, which then has the conversation first."""
        conv = cls(
            id=id,
            customer_id=customer_id,
            inbox_id=inbox_id,
            channel=channel,
            skill=skill,
            state=ConversationState.BOT if bot else ConversationState.QUEUED,
            session_id=session_id,
            session_seq=1,
            pace=timing.default_pace,
            opened_at=now,
            updated_at=now,
            enqueued_at=None if bot else now,
            verification=verification or by_channel(channel),
        )
        conv._record(
            EventType.CONVERSATION_OPENED,
            now,
            ACTOR_CUSTOMER,
            queue=skill,
            customer_id=str(customer_id),
            inbox_id=str(inbox_id),
            channel=channel,
            session_id=str(session_id),
            session_seq=1,
        )
        if bot is not None:
            conv._engage_bot(bot, now, ACTOR_CUSTOMER, cause="new_conversation")
        else:
            conv._record(
                EventType.QUEUED, now, ACTOR_CUSTOMER, queue=skill, cause="new_conversation"
            )
        return conv

    @classmethod
    def for_notification(
        cls,
        *,
        id: uuid.UUID,
        customer_id: uuid.UUID,
        inbox_id: uuid.UUID,
        channel: str,
        skill: str,
        session_id: uuid.UUID,
        now: datetime,
        timing: ChannelTiming,
    ) -> Conversation:
        """The thread of a customer the business writes to first (a notification):
        closed, since nobody waits on anybody, until the customer answers and it opens
        a session like any closed conversation. Its first session is numbered 1."""
        return cls(
            id=id,
            customer_id=customer_id,
            inbox_id=inbox_id,
            channel=channel,
            skill=skill,
            state=ConversationState.CLOSED,
            session_id=session_id,
            session_seq=0,
            pace=timing.default_pace,
            opened_at=now,
            updated_at=now,
            verification=by_channel(channel),
        )

    # -- customer and agent messages ------------------------------------------------

    def receive_customer_message(
        self,
        *,
        message_id: uuid.UUID,
        now: datetime,
        new_session_id: uuid.UUID,
        timing: ChannelTiming,
        kind: MessageKind = MessageKind.SUBSTANTIVE,
        proven: Verification | None = None,
        bot: str | None = None,
    ) -> int:
        """A customer wrote: returns the message's number in the thread.

        `bot`: the bot serving the inbox, which takes a reopened session first. While a
        bot has the conversation, each message is its to answer: no respond-by runs.

        `proven` is the verification the message carries (a signed identity), the
        channel's own level when None. It raises the session's level; a new session
        starts from it again, since a proof does not outlive the session it was made in.

        `kind` is what the message means for the workflow (DESIGN.md §5), as the
        classifier read it after `last_outbound`. Substantive: the agent is waited on
        again, and a closed conversation reopens as a new session. Ineffectual (thanks,
        ok): stored and shown, nothing else changes. Closing (a "no" to "anything
        else?"): the session closes.

        An inactive conversation reactivates into the queue, marked `reactivated` (ahead
        of new work); the service hands it straight to its owner when they have room
        under their maximum load. A closed one reopens into the queue, where the
        service prefers the owner too."""
        level = proven or by_channel(self.channel)
        if kind is MessageKind.SUBSTANTIVE and self.state is ConversationState.CLOSED:
            self.verification = level
        else:
            self.verification = stronger(self.verification, level)
        if kind is not MessageKind.SUBSTANTIVE:
            return self._receive_without_reply(message_id, now, kind)
        if self.state is ConversationState.INACTIVE:
            self._reactivate(now)
        elif self.state is ConversationState.CLOSED:
            self._move(ConversationState.BOT if bot else ConversationState.QUEUED, now)
            self.session_id = new_session_id
            self.session_seq += 1
            self.enqueued_at = None if bot else now
            self._record(
                EventType.SESSION_OPENED,
                now,
                ACTOR_CUSTOMER,
                queue=self.skill,
                session_id=str(new_session_id),
                session_seq=self.session_seq,
            )
            if bot:
                self._engage_bot(bot, now, ACTOR_CUSTOMER, cause="reopened")
            else:
                self._record(
                    EventType.QUEUED, now, ACTOR_CUSTOMER, queue=self.skill, cause="reopened"
                )
        if self.state is ConversationState.BOT:
            # The bot's turn: nothing to breach, nothing to go inactive. The close timer
            # is set again when the bot's turn is applied (`bot_waits`). Their pace is
            # learnt from answering the bot as from answering an agent (DESIGN.md §4).
            self.schedule(TimerKind.AUTO_CLOSE, None)
            if self.waiting_on is WaitingOn.CUSTOMER and self.last_outbound_at is not None:
                latency = (now - self.last_outbound_at).total_seconds()
                self.pace = pacing.update_pace(self.pace, latency, timing)
            self.waiting_on = WaitingOn.AGENT
            self.last_outbound = OutboundContext.NONE
            return self._count_customer_message(message_id, now, MessageKind.SUBSTANTIVE)
        if self.waiting_on is WaitingOn.CUSTOMER:
            self.schedule(TimerKind.INACTIVITY, None)
            if self.last_outbound_at is not None:
                latency = (now - self.last_outbound_at).total_seconds()
                self.pace = pacing.update_pace(self.pace, latency, timing)
        if self.waiting_on is not WaitingOn.AGENT:
            # The clock starts at the first unanswered message; more messages in a row
            # do not push the promise further out.
            self.waiting_on = WaitingOn.AGENT
            self.respond_by = pacing.respond_by(now, self.pace, timing)
            self.schedule(TimerKind.RESPOND_BY, self.respond_by)
        # The customer has spoken since the agent's last message: what that message
        # asked is answered or overtaken, and it must not decide how their next is read.
        self.last_outbound = OutboundContext.NONE
        return self._count_customer_message(message_id, now, MessageKind.SUBSTANTIVE)

    def _receive_without_reply(
        self, message_id: uuid.UUID, now: datetime, kind: MessageKind
    ) -> int:
        # Waiting, respond-by and pace stay as they were: nothing here asks for an answer.
        number = self._count_customer_message(message_id, now, kind)
        if kind is MessageKind.CLOSING and self.state is not ConversationState.CLOSED:
            self.close(now, actor=ACTOR_CUSTOMER, reason=CloseReason.CUSTOMER_DECLINED_MORE_HELP)
        return number

    def _count_customer_message(
        self, message_id: uuid.UUID, now: datetime, kind: MessageKind
    ) -> int:
        self.last_customer_message_at = now
        self.updated_at = now
        self.message_count += 1
        self._record(
            EventType.MESSAGE_RECEIVED,
            now,
            ACTOR_CUSTOMER,
            **self._audience(),
            message_id=str(message_id),
            kind=str(kind),
            respond_by=self.respond_by.isoformat() if self.respond_by else None,
        )
        return self.message_count

    def record_agent_message(
        self,
        *,
        agent_id: uuid.UUID,
        message_id: uuid.UUID,
        now: datetime,
        context: OutboundContext,
        timing: ChannelTiming,
    ) -> int:
        """The assigned agent replied: returns the message's number in the thread.
        `context` is what the message asks of the customer (`Classifier.context_of`).
        The customer is waited on now: the inactivity timer starts from this message."""
        if self.state is not ConversationState.ASSIGNED:
            raise InvalidTransition(
                f"cannot send in a {self.state} conversation; it must be assigned to you",
                state=str(self.state),
            )
        if self.assigned_agent_id != agent_id:
            raise Forbidden("only the assigned agent can send in this conversation")
        if self.respond_by is not None:
            self.schedule(TimerKind.RESPOND_BY, None)
        self.waiting_on = WaitingOn.CUSTOMER
        self.respond_by = None
        self.schedule(TimerKind.INACTIVITY, pacing.inactive_at(now, self.pace, timing))
        self.last_outbound = context
        self.last_outbound_at = now
        self.updated_at = now
        self.message_count += 1
        self._record(
            EventType.MESSAGE_SENT,
            now,
            f"agent:{agent_id}",
            agent_id=agent_id,
            message_id=str(message_id),
        )
        return self.message_count

    def record_system_message(self, message_id: uuid.UUID, now: datetime) -> int:
        """Threadline itself answered (a compliance keyword's confirmation): the thread
        shows it, and nothing about who is waited on changes."""
        self.updated_at = now
        self.message_count += 1
        self._record(
            EventType.MESSAGE_SENT,
            now,
            ACTOR_SYSTEM,
            **self._audience(),
            message_id=str(message_id),
        )
        return self.message_count

    def reopen_in(self, skill: str) -> None:
        """The next session opens in `skill`'s queue, not the inbox's: an answer to a
        notification goes to the team the notification named."""
        if self.state is not ConversationState.CLOSED:
            raise InvalidTransition("only a closed conversation reopens in another queue")
        self.skill = skill

    def record_notification(self, message_id: uuid.UUID, now: datetime) -> int:
        """The business notified the customer here: the thread shows it, and a reply
        is read as an answer to a statement ("thanks" wakes nobody)."""
        seq = self.record_system_message(message_id, now)
        self.last_outbound_at = now
        if self.waiting_on is not WaitingOn.AGENT:
            self.last_outbound = OutboundContext.STATEMENT
        return seq

    def mark_read(self, agent_id: uuid.UUID, up_to_seq: int, now: datetime) -> bool:
        """The agent holding the conversation has read it up to message `up_to_seq`.

        Only the holder's reading counts: a supervisor looking in does not clear the
        agent's unread messages. Returns whether the marker moved (it never goes back)."""
        if not 1 <= up_to_seq <= self.message_count:
            raise InvalidInput(
                f"up_to_seq must be a message of this thread (1-{self.message_count})",
                field="up_to_seq",
            )
        if agent_id != self.holder or up_to_seq <= self.agent_read_seq:
            return False
        self.agent_read_seq = up_to_seq
        self._record(
            EventType.READ, now, f"agent:{agent_id}", agent_id=agent_id, up_to_seq=up_to_seq
        )
        return True

    def hand_off(
        self,
        handoff: Handoff,
        now: datetime,
        *,
        actor: str,
        timing: ChannelTiming | None = None,
        skill: str | None = None,
        reason: str | None = None,
        detail: str | None = None,
        not_before: datetime | None = None,
        routine: bool = False,
    ) -> None:
        """A bot passes the conversation on with what it learned; a later handoff in the
        same session replaces it (the newest is what the human needs).

        From the bot state the conversation joins the queue (`skill`, else its own),
        the customer waiting: `timing` sets the respond-by, counted from `not_before`
        when the queue's humans are away until then, so no breach is recorded overnight.
        A business's own bot (the API channel) hands over in a queued conversation,
        which only gains the context."""
        self.handoff = handoff
        from_bot = self.state is ConversationState.BOT
        if from_bot:
            assert timing is not None, "a handoff from the bot state sets a respond-by"
            self._move(ConversationState.QUEUED, now)
            self.skill = skill or self.skill
            self.enqueued_at = now
            self.schedule(TimerKind.AUTO_CLOSE, None)
            self.waiting_on = WaitingOn.AGENT
            start = max(now, not_before) if not_before else now
            self.respond_by = pacing.respond_by(start, self.pace, timing)
            self.schedule(TimerKind.RESPOND_BY, self.respond_by)
        self._record(
            EventType.HANDED_OFF,
            now,
            actor,
            **self._audience(),
            **handoff.as_json(),
            reason=reason,
            detail=detail,
            out_of_hours=not_before is not None and not_before > now,
            # The end of a routine an agent lent the bot: it goes back to that agent.
            routine=routine,
        )
        if from_bot:
            self._record(EventType.QUEUED, now, actor, queue=self.skill, cause="handoff")

    def record_bot_message(
        self, message_id: uuid.UUID, now: datetime, *, bot: str, context: OutboundContext
    ) -> int:
        """The bot said something in the conversation it has: the customer's turn. A
        customer who never answers is closed after the channel's close timeout."""
        if self.state is not ConversationState.BOT:
            raise InvalidTransition(
                f"a bot writes only while it has the conversation, not when {self.state}",
                state=str(self.state),
            )
        self.waiting_on = WaitingOn.CUSTOMER
        self.last_outbound = context
        self.last_outbound_at = now
        self.updated_at = now
        self.message_count += 1
        self._record(
            EventType.MESSAGE_SENT,
            now,
            actor_bot(bot),
            **self._audience(),
            message_id=str(message_id),
        )
        return self.message_count

    def bot_waits(self, now: datetime, timing: ChannelTiming) -> None:
        """The bot's turn is over and its part goes on: whether it said something or
        not, the conversation closes after the close timeout unless the customer writes,
        so a bot with nothing to say never holds a customer for ever."""
        if self.state is ConversationState.BOT:
            self.updated_at = now
            self.schedule(TimerKind.AUTO_CLOSE, pacing.close_at(now, timing))

    def lend_to_bot(self, routine: str, bot: str, now: datetime, *, actor: str) -> uuid.UUID:
        """The assigned agent hands the conversation to the bot for a routine (agent to
        bot): the slot is free meanwhile, and the agent stays the owner, to whom it comes
        back with the results. Returns the agent whose slot is freed."""
        if self.state is not ConversationState.ASSIGNED or self.assigned_agent_id is None:
            raise InvalidTransition(
                f"only an assigned conversation can be handed to the bot, not a {self.state} one",
                state=str(self.state),
            )
        agent = self.assigned_agent_id
        if self.respond_by is not None:
            self.schedule(TimerKind.RESPOND_BY, None)
        if self.waiting_on is WaitingOn.CUSTOMER:
            self.schedule(TimerKind.INACTIVITY, None)
        self._record(EventType.UNASSIGNED, now, actor, agent_id=agent, cause="lent_to_bot")
        self._move(ConversationState.BOT, now)
        self.assigned_agent_id = None
        self.owner_agent_id = agent
        self.respond_by = None
        self.waiting_on = WaitingOn.NOBODY
        self._engage_bot(bot, now, actor, cause="agent", routine=routine, agent_id=agent)
        return agent

    def return_from_bot(
        self,
        handoff: Handoff,
        now: datetime,
        *,
        actor: str,
        timing: ChannelTiming,
        reason: str,
        detail: str | None = None,
    ) -> None:
        """The routine is over (done, or the bot could not finish it: `reason`): back to
        the agent who lent it, ahead of new work if they have no room (the service offers
        it to them up to their maximum load)."""
        self.hand_off(
            handoff, now, actor=actor, timing=timing, reason=reason, detail=detail, routine=True
        )
        self.reactivated = self.owner_agent_id is not None

    def step_up(self, now: datetime, *, actor: str) -> None:
        """The customer proved who they are (a one-time code to the address on file):
        verified for the rest of the session (DESIGN.md §7)."""
        if self.verification is Verification.VERIFIED:
            return
        self.verification = Verification.VERIFIED
        self.updated_at = now
        self._record(EventType.VERIFIED, now, actor, **self._audience(), method="code")

    def _engage_bot(self, bot: str, now: datetime, actor: str, **payload: Any) -> None:
        self.handoff = None
        self._record(EventType.BOT_ENGAGED, now, actor, bot=bot, **payload)

    # -- routing --------------------------------------------------------------------

    def assign(
        self,
        agent_id: uuid.UUID,
        now: datetime,
        *,
        actor: str,
        cause: str,
        load: int | None = None,
    ) -> None:
        """`load`: the agent's active conversations with this one, for the record (an
        audit of the P and M limits reads it from the event)."""
        self._move(ConversationState.ASSIGNED, now)
        self.assigned_agent_id = agent_id
        self.owner_agent_id = agent_id
        self.enqueued_at = None
        self.reactivated = False
        self._record(
            EventType.ASSIGNED,
            now,
            actor,
            agent_id=agent_id,
            queue=self.skill,
            cause=cause,
            load=load,
            respond_by=self.respond_by.isoformat() if self.respond_by else None,
        )

    def requeue(self, now: datetime, *, actor: str, cause: str) -> None:
        """Give the conversation back to its queue, keeping its respond-by time."""
        if self.state not in (ConversationState.ASSIGNED, ConversationState.INACTIVE):
            # closed -> queued exists only as a reopening, which starts a new session.
            raise InvalidTransition(
                f"cannot requeue a {self.state} conversation", state=str(self.state)
            )
        previous = self.assigned_agent_id
        self._move(ConversationState.QUEUED, now)
        self.assigned_agent_id = None
        self.enqueued_at = now
        if previous is not None:
            self._record(EventType.UNASSIGNED, now, actor, agent_id=previous, cause=cause)
        self._record(EventType.QUEUED, now, actor, queue=self.skill, cause=cause)

    def transfer_to_agent(
        self, to_agent: uuid.UUID, now: datetime, *, actor: str, load: int | None = None
    ) -> None:
        previous = self.assigned_agent_id
        if previous == to_agent:
            raise InvalidInput("the conversation is already assigned to that agent")
        if self.state not in (ConversationState.ASSIGNED, ConversationState.QUEUED):
            raise InvalidTransition(
                f"cannot transfer a {self.state} conversation", state=str(self.state)
            )
        if previous is not None:
            self._record(
                EventType.TRANSFERRED, now, actor, agent_id=previous, to_agent_id=str(to_agent)
            )
            # The same "you lost this conversation" signal as every other hand-over.
            self._record(EventType.UNASSIGNED, now, actor, agent_id=previous, cause="transfer")
        self.assign(to_agent, now, actor=actor, cause="transfer", load=load)

    def transfer_to_skill(self, skill: str, now: datetime, *, actor: str) -> None:
        if self.state not in (ConversationState.ASSIGNED, ConversationState.QUEUED):
            raise InvalidTransition(
                f"cannot transfer a {self.state} conversation", state=str(self.state)
            )
        if skill == self.skill and self.state is ConversationState.QUEUED:
            raise InvalidInput("the conversation is already queued for that skill")
        self._record(
            EventType.TRANSFERRED,
            now,
            actor,
            agent_id=self.assigned_agent_id,
            queue=self.skill,
            to_queue=skill,
        )
        previous = self.assigned_agent_id
        self.skill = skill
        if self.state is ConversationState.ASSIGNED:
            self._move(ConversationState.QUEUED, now)
        self.assigned_agent_id = None
        self.enqueued_at = now
        if previous is not None:
            self._record(EventType.UNASSIGNED, now, actor, agent_id=previous, cause="transfer")
        self._record(EventType.QUEUED, now, actor, queue=skill, cause="transfer")

    # -- inactivity and timers --------------------------------------------------------

    def go_inactive(self, now: datetime, timing: ChannelTiming, *, actor: str, cause: str) -> None:
        """Stop holding an agent's slot while the customer is away (DESIGN.md §2).

        The agent stays the owner, so the customer's next real message comes back to
        them; a queued conversation has no owner to keep. The caller gives the slot
        back. Only a conversation waiting on the customer can go inactive: one waiting
        on the agent would strand a customer."""
        if self.state not in (ConversationState.ASSIGNED, ConversationState.QUEUED):
            raise InvalidTransition(
                f"a {self.state} conversation cannot become inactive", state=str(self.state)
            )
        if self.waiting_on is WaitingOn.AGENT:
            raise InvalidTransition(
                "the customer is waiting for an answer; reply before marking it inactive",
                state=str(self.state),
            )
        holder = self.assigned_agent_id
        audience = self._audience(include_queue=True)
        self._move(ConversationState.INACTIVE, now)
        # From the queue there is nobody to come back to: the previous owner gave it up
        # (went offline, or transferred it), so the customer's next message is new work.
        self.owner_agent_id = holder
        self.assigned_agent_id = None
        self.enqueued_at = None
        self.reactivated = False
        self.inactive_since = now
        if self.waiting_on is WaitingOn.CUSTOMER:
            self.schedule(TimerKind.INACTIVITY, None)
        self.schedule(TimerKind.AUTO_CLOSE, pacing.close_at(now, timing))
        self._record(
            EventType.INACTIVE,
            now,
            actor,
            # The owner's desk moves it to their inactive list; a queue loses it.
            agent_id=holder,
            queue=audience["queue"] or self.skill,
            cause=cause,
            owner_agent_id=str(self.owner_agent_id) if self.owner_agent_id else None,
        )

    def release_owner(self, now: datetime, *, actor: str, cause: str) -> None:
        """An inactive conversation's owner went offline: it returns to whoever is free."""
        if self.state is not ConversationState.INACTIVE or self.owner_agent_id is None:
            raise InvalidTransition("only an owned inactive conversation has an owner to drop")
        previous = self.owner_agent_id
        self.owner_agent_id = None
        self.updated_at = now
        self._record(EventType.UNASSIGNED, now, actor, agent_id=previous, cause=cause)

    def record_breach(self, now: datetime) -> None:
        """The respond-by time passed and the customer is still waiting (an SLA miss)."""
        assert self.respond_by is not None
        self._record(
            EventType.RESPOND_BY_BREACHED,
            now,
            ACTOR_SYSTEM,
            **self._audience(include_queue=True),
            respond_by=self.respond_by.isoformat(),
        )

    def schedule(self, kind: TimerKind, due: datetime | None) -> None:
        """Set (or with None cancel) one of the conversation's durable timers."""
        self.timer_changes[kind] = due

    def _reactivate(self, now: datetime) -> None:
        self._move(ConversationState.QUEUED, now)
        self.schedule(TimerKind.AUTO_CLOSE, None)
        self.inactive_since = None
        self.reactivated = True
        self.enqueued_at = now
        self._record(
            EventType.REACTIVATED,
            now,
            ACTOR_CUSTOMER,
            agent_id=self.owner_agent_id,
            queue=self.skill,
            owner_agent_id=str(self.owner_agent_id) if self.owner_agent_id else None,
        )
        self._record(EventType.QUEUED, now, ACTOR_CUSTOMER, queue=self.skill, cause="reactivated")

    # -- closing --------------------------------------------------------------------

    def close(self, now: datetime, *, actor: str, reason: CloseReason) -> None:
        audience = self._audience(include_queue=True)
        self._move(ConversationState.CLOSED, now)
        if self.last_outbound is OutboundContext.CLOSING_QUESTION:
            # Once closed, "anything else?" has had its answer: a later "no" is not one.
            # Thanks still read as thanks (a statement was the last thing said).
            self.last_outbound = OutboundContext.STATEMENT
        self.assigned_agent_id = None
        if self.respond_by is not None:
            self.schedule(TimerKind.RESPOND_BY, None)
        if self.waiting_on is WaitingOn.CUSTOMER:
            self.schedule(TimerKind.INACTIVITY, None)
        if self.inactive_since is not None:
            self.schedule(TimerKind.AUTO_CLOSE, None)
        self.waiting_on = WaitingOn.NOBODY
        self.respond_by = None
        self.enqueued_at = None
        self.inactive_since = None
        self.reactivated = False
        self.handoff = None
        self._record(
            EventType.CLOSED,
            now,
            actor,
            **audience,
            reason=str(reason),
            session_id=str(self.session_id),
            session_seq=self.session_seq,
        )

    # -- internals ------------------------------------------------------------------

    def _move(self, to: ConversationState, now: datetime) -> None:
        if to not in ALLOWED_TRANSITIONS[self.state]:
            raise InvalidTransition(
                f"a {self.state} conversation cannot become {to}",
                state=str(self.state),
                target=str(to),
            )
        self.state = to
        self.updated_at = now

    @property
    def holder(self) -> uuid.UUID | None:
        """The agent whose list it is on: the assigned agent, or the owner of an
        inactive conversation (their inactive list)."""
        if self.assigned_agent_id is None and self.state is ConversationState.INACTIVE:
            return self.owner_agent_id
        return self.assigned_agent_id

    def _audience(self, *, include_queue: bool = False) -> dict[str, Any]:
        if self.state is ConversationState.BOT:
            # Nobody's work while the bot has it: supervisors watch, agents are not
            # woken by every exchange with the bot.
            return {"agent_id": None, "queue": None}
        holder = self.holder
        if holder is not None:
            return {"agent_id": holder, "queue": self.skill if include_queue else None}
        return {"agent_id": None, "queue": self.skill}

    def _record(
        self,
        type: EventType,
        now: datetime,
        actor: str,
        *,
        agent_id: uuid.UUID | None = None,
        queue: str | None = None,
        **payload: Any,
    ) -> None:
        self.events.append(
            Event(
                type=type,
                occurred_at=now,
                actor=actor,
                conversation_id=self.id,
                agent_id=agent_id,
                queue=queue,
                payload=payload,
            )
        )
