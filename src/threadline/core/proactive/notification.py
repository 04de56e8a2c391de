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

A reply passed to the business's webhook has a life of its own beside that (`webhook`):
pending until the endpoint accepts it (a 2xx) or Threadline gives up on it.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

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
    # The reply was passed to the business's webhook (its outcome, like resolved)…
    WEBHOOK = "webhook"
    # …and the call itself: the endpoint took it, or Threadline gave up calling.
    WEBHOOK_ACCEPTED = "webhook_accepted"
    WEBHOOK_FAILED = "webhook_failed"


class WebhookState(enum.StrEnum):
    PENDING = "pending"  # called again at `next_attempt_at`
    ACCEPTED = "accepted"  # the endpoint answered 2xx
    FAILED = "failed"  # given up: out of attempts, or nowhere left to call


@dataclass(frozen=True)
class WebhookStatus:
    state: WebhookState
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    accepted_at: datetime | None
    failed_at: datetime | None


# What `Notification.webhook` keeps about the calls, beside the body they send.
_CALL_KEYS: Final = frozenset({"attempts", "last_error", "accepted_at", "failed_at"})


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

    # -- the reply's webhook ----------------------------------------------------------

    def pass_to_webhook(self, body: dict[str, Any], now: datetime) -> None:
        """The reply goes to the business's endpoint, called from now on."""
        self.webhook = {**body, "attempts": 0}
        self.webhook_due_at = now
        self.updated_at = now

    @property
    def webhook_body(self) -> dict[str, Any]:
        """What each call sends: the same every time (the business drops repeats)."""
        return {k: v for k, v in (self.webhook or {}).items() if k not in _CALL_KEYS}

    @property
    def webhook_attempts(self) -> int:
        return int((self.webhook or {}).get("attempts", 0))

    def webhook_called(
        self, error: str | None, now: datetime, *, retry_at: datetime | None
    ) -> None:
        """One call's outcome: accepted (`error` None), else failed and called again at
        `retry_at`, or given up on when there is none. Only the end is a decision: the
        attempts in between are the status's."""
        if self.webhook is None:
            raise InvalidTransition("this notification has no webhook to call")
        attempts = self.webhook_attempts + 1
        self.webhook = {**self.webhook, "attempts": attempts, "last_error": error}
        self.updated_at = now
        if error is None:
            self.webhook["accepted_at"] = now.isoformat()
            self.webhook_due_at = None
            self._record(now, Decided.WEBHOOK_ACCEPTED, detail={"attempts": attempts})
        elif retry_at is None:
            self._webhook_failed("attempts_exhausted", error, now)
        else:
            self.webhook_due_at = retry_at

    def webhook_abandoned(self, rule: str, error: str, now: datetime) -> None:
        """Nothing left to call (the template lost its webhook_url): failed, no call made."""
        if self.webhook is None:
            raise InvalidTransition("this notification has no webhook to call")
        self.webhook = {**self.webhook, "last_error": error}
        self.updated_at = now
        self._webhook_failed(rule, error, now)

    def _webhook_failed(self, rule: str, error: str, now: datetime) -> None:
        assert self.webhook is not None
        self.webhook["failed_at"] = now.isoformat()
        self.webhook_due_at = None
        self._record(
            now,
            Decided.WEBHOOK_FAILED,
            rule=rule,
            detail={"attempts": self.webhook_attempts, "error": error},
        )

    @property
    def webhook_status(self) -> WebhookStatus | None:
        """Where the reply's webhook stands; None when the reply was not passed to one."""
        if self.webhook is None:
            return None
        w = self.webhook
        accepted_at = _instant(w.get("accepted_at"))
        failed_at = _instant(w.get("failed_at"))
        if accepted_at is not None:
            state = WebhookState.ACCEPTED
        elif failed_at is not None:
            state = WebhookState.FAILED
        else:
            state = WebhookState.PENDING
        return WebhookStatus(
            state=state,
            attempts=self.webhook_attempts,
            last_error=w.get("last_error"),
            next_attempt_at=self.webhook_due_at if state is WebhookState.PENDING else None,
            accepted_at=accepted_at,
            failed_at=failed_at,
        )


def _instant(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if isinstance(text, str) else None
