"""The outbox: each outbound message to a provider, from commit to the provider's answer.

A row is written in the transaction that stores the message, so a reply the agent saw
accepted is never lost; a worker then claims due rows, sends them and records the
outcome. What to do with an outcome is decided here, from the outcome alone.

"Sent twice" is the failure to avoid as much as "never sent": a send whose outcome is
unknown (the provider went quiet after taking the request, or the sending process died)
is repeated only to providers that recognise a repeat by its idempotency key.
"""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from threadline.core.errors import InvalidTransition

# How a failure of ours, not the provider's, begins: the provider may well have the
# message, and its own delivery report, should one come, is believed over this.
UNCONFIRMED = "not confirmed"


class OutboxState(enum.StrEnum):
    PENDING = "pending"  # waiting for its next attempt
    SENDING = "sending"  # claimed by a worker until its lease ends
    SENT = "sent"  # the provider accepted it
    FAILED = "failed"  # refused, out of attempts, or its outcome unknowable


_NEXT: dict[OutboxState, frozenset[OutboxState]] = {
    OutboxState.PENDING: frozenset({OutboxState.SENDING}),
    # sending -> sending: a lease that ran out (its worker died) is claimed again.
    OutboxState.SENDING: frozenset(
        {OutboxState.SENDING, OutboxState.PENDING, OutboxState.SENT, OutboxState.FAILED}
    ),
    OutboxState.SENT: frozenset(),
    OutboxState.FAILED: frozenset(),
}


def check_move(current: OutboxState, to: OutboxState) -> None:
    if to not in _NEXT[current]:
        raise InvalidTransition(f"an outbox row cannot go from {current} to {to}")


@dataclass(frozen=True)
class Accepted:
    provider_id: str


@dataclass(frozen=True)
class Retry:
    """Not taken, for a reason that passes: the provider was down, overloaded or
    rate-limiting. `after` is the provider's own Retry-After, when it gave one."""

    error: str
    after: timedelta | None = None


@dataclass(frozen=True)
class Rejected:
    """Refused for good: the same request will be refused again."""

    error: str


@dataclass(frozen=True)
class Unknown:
    """The request may have been taken: the answer never came."""

    error: str


SendOutcome = Accepted | Retry | Rejected | Unknown


@dataclass(frozen=True)
class RetryPolicy:
    # Twelve attempts, two seconds doubling to five minutes apart: about twenty minutes
    # (half that with the worst jitter) of riding out a provider outage before an agent
    # is told the message failed. Longer outages are the provider's incident and want a
    # person's decision, not a message arriving an hour after its conversation moved on.
    max_attempts: int = 12
    base: timedelta = timedelta(seconds=2)
    cap: timedelta = timedelta(minutes=5)

    def delay(self, attempts: int, jitter: float) -> timedelta:
        """Before attempt `attempts + 1`. `jitter` in [0, 1) spreads the retries of
        many rows that failed together over the second half of the step ("equal
        jitter"), so they do not all come back at once and knock the provider over
        again, yet each waits at least half the step."""
        # The exponent is capped first: 2**n of a large n would overflow a timedelta.
        doublings = min(max(0, attempts - 1), 40)
        step: timedelta = min(self.cap, self.base * (2**doublings))
        return step * (0.5 + 0.5 * jitter)


@dataclass
class OutboxItem:
    id: uuid.UUID
    message_id: uuid.UUID
    inbox_id: uuid.UUID
    state: OutboxState
    attempts: int
    next_attempt_at: datetime
    created_at: datetime
    # Channel-specific: the template, the message tag, suggested replies.
    payload: dict[str, Any] = field(default_factory=dict)
    lease_until: datetime | None = None
    last_error: str | None = None
    provider_id: str | None = None

    @classmethod
    def pending(
        cls,
        id: uuid.UUID,
        message_id: uuid.UUID,
        inbox_id: uuid.UUID,
        now: datetime,
        payload: dict[str, Any] | None = None,
    ) -> OutboxItem:
        """A new row, due at once, in the transaction that stores its message."""
        return cls(
            id=id,
            message_id=message_id,
            inbox_id=inbox_id,
            state=OutboxState.PENDING,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            payload=payload or {},
        )

    @property
    def idempotency_key(self) -> str:
        """The same on every attempt of this row, and only of this row."""
        return str(self.id)

    def claim(self, now: datetime, lease: timedelta, *, idempotent: bool) -> bool:
        """Take the row for one attempt. A row whose previous lease ran out was being
        sent when its worker died: it is tried again only where the provider drops
        repeats (False: it has failed instead, as unknown)."""
        if self.state is OutboxState.SENDING and not idempotent:
            self._move(OutboxState.FAILED)
            self.last_error = (
                f"{UNCONFIRMED}: the sending process stopped while sending; the provider "
                "may have sent it, so it is not sent again"
            )
            self.lease_until = None
            return False
        self._move(OutboxState.SENDING)
        self.attempts += 1
        self.lease_until = now + lease
        return True

    def record(
        self,
        outcome: SendOutcome,
        now: datetime,
        policy: RetryPolicy,
        *,
        idempotent: bool,
        jitter: float,
    ) -> None:
        self.lease_until = None
        match outcome:
            case Accepted(provider_id):
                self._move(OutboxState.SENT)
                self.provider_id = provider_id
                self.last_error = None
            case Rejected(error):
                self._fail(error)
            case Unknown(error) if not idempotent:
                self._fail(
                    f"{UNCONFIRMED}: {error}; the provider may have sent it, so it is not "
                    "sent again"
                )
            case Retry(error) | Unknown(error):
                if self.attempts >= policy.max_attempts:
                    self._fail(f"{error} (gave up after {self.attempts} attempts)")
                    return
                wait = policy.delay(self.attempts, jitter)
                if isinstance(outcome, Retry) and outcome.after is not None:
                    wait = max(wait, min(outcome.after, policy.cap))
                self._move(OutboxState.PENDING)
                self.last_error = error
                self.next_attempt_at = now + wait

    def _fail(self, error: str) -> None:
        self._move(OutboxState.FAILED)
        self.last_error = error

    def _move(self, to: OutboxState) -> None:
        check_move(self.state, to)
        self.state = to
