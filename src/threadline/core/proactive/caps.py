"""Frequency caps: how many notifications a customer may get in a rolling period, and
Regulation F's limits for a debt in collection.

A cap counts what was *sent* (not what was attempted and suppressed) to one customer
for one purpose on one channel in the rolling period before now; at the limit, the next
message may go when the oldest one counted leaves the period. Collections follow
12 CFR 1006.14(b)(2), applied per debt reference: at most 7 attempts in 7 consecutive
days, and none within 7 days after a conversation about that debt. (The rule speaks of
telephone calls; the business here applies it to every channel, as the issue asks.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from threadline.core.errors import InvalidInput
from threadline.core.time import require_utc

# Regulation F's numbers (1006.14(b)(2)(i)(A) and (B)).
REG_F_ATTEMPTS = 7
REG_F_PERIOD = timedelta(days=7)
REG_F_AFTER_CONVERSATION = timedelta(days=7)


@dataclass(frozen=True)
class Cap:
    """At most `limit` messages in any rolling `period`."""

    limit: int
    period: timedelta

    def __post_init__(self) -> None:
        if self.limit < 1:
            raise InvalidInput("a cap allows at least one message", field="limit")
        if self.period <= timedelta(0) or self.period > timedelta(days=366):
            raise InvalidInput("a cap's period is between a second and a year", field="period")


@dataclass(frozen=True)
class Verdict:
    """Allowed now, or not before `not_before` (None: never, under this rule), and the
    rule that said so, for the compliance record."""

    allowed: bool
    rule: str | None = None
    not_before: datetime | None = None


ALLOWED = Verdict(True)


def check_cap(cap: Cap, sent: Iterable[datetime], now: datetime, *, rule: str) -> Verdict:
    """Whether one more message may go now under `cap`, given when earlier ones were sent."""
    now = require_utc(now)
    recent = sorted(t for t in (require_utc(s) for s in sent) if now - cap.period < t <= now)
    if len(recent) < cap.limit:
        return ALLOWED
    # The oldest message that keeps the count at the limit must leave the period first.
    return Verdict(False, rule, recent[len(recent) - cap.limit] + cap.period)


def check_collections(
    attempts: Iterable[datetime], conversations: Iterable[datetime], now: datetime
) -> Verdict:
    """Regulation F for one debt: `attempts` are earlier contact attempts about it,
    `conversations` the times the customer and the business talked about it."""
    now = require_utc(now)
    talked = [require_utc(t) for t in conversations if require_utc(t) <= now]
    if talked:
        last = max(talked)
        if now < last + REG_F_AFTER_CONVERSATION:
            return Verdict(False, "reg_f_after_conversation", last + REG_F_AFTER_CONVERSATION)
    return check_cap(Cap(REG_F_ATTEMPTS, REG_F_PERIOD), attempts, now, rule="reg_f_7_in_7")
