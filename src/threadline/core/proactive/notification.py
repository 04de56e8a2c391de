"""A notification's life, from the business's request to the customer's answer.

    pending ──send──> sent ──report──> delivered
       │  ^             │
       │  └─fallback────┘ channel failed: decided on again, that channel ruled out
       ├──defer──> pending (until the rule allows it)
       ├──suppress──> suppressed (a rule forbids it, or it expired)
       └──give up──> failed (it was sent, and no channel is left to try)

A reply is recorded beside the state (`outcome`): the message was delivered whatever
the customer said. Every move is checked here, so a late delivery report cannot revive
a suppressed notification and a second dispatcher cannot send one twice.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from threadline.core.errors import InvalidTransition
from threadline.core.proactive.purposes import Purpose


class NotificationState(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


_NEXT: dict[NotificationState, frozenset[NotificationState]] = {
    NotificationState.PENDING: frozenset(
        {
            NotificationState.PENDING,
            NotificationState.SENT,
            NotificationState.SUPPRESSED,
            NotificationState.FAILED,
        }
    ),
    NotificationState.SENT: frozenset({NotificationState.DELIVERED, NotificationState.PENDING}),
    # A provider may report "undelivered" after "delivered" never; but a reply's proof of
    # delivery can come before the provider's failure report, which is then ignored.
    NotificationState.DELIVERED: frozenset(),
    NotificationState.FAILED: frozenset(),
    NotificationState.SUPPRESSED: frozenset(),
}


class ReplyOutcome(enum.StrEnum):
    REPLIED = "replied"  # any other answer: it joined the customer's conversation
    RESOLVED = "resolved"  # an expected reply closed the matter, no agent needed
    HANDED_OFF = "handed_off"  # an expected reply opened a conversation to a queue
    WEBHOOK = "webhook"  # an expected reply was passed to the business's endpoint


# Outcomes that ended the matter without an agent: the notification deflected a contact.
DEFLECTED = frozenset({ReplyOutcome.RESOLVED, ReplyOutcome.WEBHOOK})


class Decided(enum.StrEnum):
    """What the compliance record says happened, one entry per event."""

    SENT = "sent"
    DEFERRED = "deferred"
    SUPPRESSED = "suppressed"
    DELIVERED = "delivered"
    FELL_BACK = "fell_back"
    FAILED = "failed"
    REPLIED = "replied"
    RESOLVED = "resolved"
    HANDED_OFF = "handed_off"
    WEBHOOK = "webhook"


@dataclass(frozen=True)
class DecisionRecord:
    notification_id: uuid.UUID
    customer_id: uuid.UUID
    template_id: uuid.UUID
    at: datetime
    decision: Decided
    channel: str | None = None
    rule: str | None = None
    until: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class Notification:
    id: uuid.UUID
    template_id: uuid.UUID
    purpose: Purpose
    customer_id: uuid.UUID
    variables: dict[str, str]
    due_at: datetime
    created_at: datetime
    updated_at: datetime
    state: NotificationState = NotificationState.PENDING
    batch_id: uuid.UUID | None = None
    reference: str | None = None
    language: str | None = None
    channel: str | None = None
    timezone: str | None = None
    region: str | None = None
    debt_reference: str | None = None
    expires_at: datetime | None = None
    rule: str | None = None
    sent_channel: str | None = None
    inbox_id: uuid.UUID | None = None
    conversation_id: uuid.UUID | None = None
    message_id: uuid.UUID | None = None
    failed_channels: tuple[str, ...] = ()
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    replied_at: datetime | None = None
    reply_until: datetime | None = None
    outcome: ReplyOutcome | None = None
    webhook: dict[str, Any] | None = None
    webhook_due_at: datetime | None = None
    records: list[DecisionRecord] = field(default_factory=list, repr=False, compare=False)

    def _move(self, to: NotificationState, now: datetime) -> None:
        if to not in _NEXT[self.state]:
            raise InvalidTransition(f"a notification cannot go from {self.state} to {to}")
        self.state = to
        self.updated_at = now

    def _record(self, now: datetime, decision: Decided, **kw: Any) -> None:
        self.records.append(
            DecisionRecord(self.id, self.customer_id, self.template_id, now, decision, **kw)
        )

    def defer(self, until: datetime, rule: str, now: datetime, **detail: Any) -> None:
        self._move(NotificationState.PENDING, now)
        self.due_at, self.rule = until, rule
        self._record(now, Decided.DEFERRED, rule=rule, until=until, detail=detail)

    def suppress(
        self, rule: str, now: datetime, *, until: datetime | None = None, **detail: Any
    ) -> None:
        """`until`: when it could have gone, had it not expired first (the record says
        both what held it back and how long for)."""
        self._move(NotificationState.SUPPRESSED, now)
        self.rule = rule
        self._record(now, Decided.SUPPRESSED, rule=rule, until=until, detail=detail)

    def send(
        self,
        channel: str,
        *,
        inbox_id: uuid.UUID,
        conversation_id: uuid.UUID,
        message_id: uuid.UUID,
        reply_until: datetime | None,
        now: datetime,
        **detail: Any,
    ) -> None:
        self._move(NotificationState.SENT, now)
        self.sent_channel, self.inbox_id = channel, inbox_id
        self.conversation_id, self.message_id = conversation_id, message_id
        self.sent_at, self.rule, self.reply_until = now, None, reply_until
        self.delivered_at = None
        self._record(now, Decided.SENT, channel=channel, detail=detail)

    def delivered(self, now: datetime) -> bool:
        if self.state is not NotificationState.SENT:
            return False  # a second report, or one for a channel given up on
        self._move(NotificationState.DELIVERED, now)
        self.delivered_at = now
        self._record(now, Decided.DELIVERED, channel=self.sent_channel)
        return True

    def channel_failed(self, error: str, now: datetime) -> None:
        """Its channel could not deliver it: it is decided on again at once, the failed
        channel ruled out, so the next channel in the business's order is tried."""
        channel = self.sent_channel
        failed = (*self.failed_channels, channel) if channel else self.failed_channels
        self.failed_channels = tuple(dict.fromkeys(failed))
        # An answer on a channel that failed cannot come: stop waiting for one.
        self.reply_until = None
        self._move(NotificationState.PENDING, now)
        self.due_at, self.rule = now, "channel_failed"
        self._record(
            now, Decided.FELL_BACK, channel=channel, rule="channel_failed", detail={"error": error}
        )

    def give_up(self, rule: str, now: datetime, **detail: Any) -> None:
        """Every channel it could go on has failed, or is now ruled out."""
        self._move(NotificationState.FAILED, now)
        self.rule = rule
        self._record(now, Decided.FAILED, rule=rule, detail=detail)

    def answered(self, outcome: ReplyOutcome, now: datetime, **detail: Any) -> None:
        """The customer replied: the first reply decides the outcome and ends the wait
        for an expected one; later replies are the conversation's."""
        if self.state not in (NotificationState.SENT, NotificationState.DELIVERED):
            raise InvalidTransition(f"a {self.state} notification cannot be answered")
        if self.state is NotificationState.SENT:
            # A reply proves delivery, whatever the provider's report says (or never does).
            self.delivered(now)
        self.outcome, self.replied_at, self.reply_until = outcome, now, None
        self.updated_at = now
        self._record(
            now,
            Decided(str(outcome)) if outcome is not ReplyOutcome.REPLIED else Decided.REPLIED,
            channel=self.sent_channel,
            detail=detail,
        )
