"""The governance decision for one notification, now: send (on which channel), defer
(until when, under which rule), or suppress (which rule).

It is taken again each time the notification comes due, from the facts as they are
then, so a STOP that arrived during a deferral still stops it. The order matters and is
the compliance record's: first whether the notification may still go at all (expiry),
then on which channel (reachable, consented, under its caps, in the business's order of
preference), then when (collections limits, caps across channels, quiet hours). A
channel that cannot be used is passed over with its reason, so "why did this go by
WhatsApp and not SMS?" has an answer too.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from threadline.core.proactive.caps import Verdict, check_cap, check_collections
from threadline.core.proactive.policy import ALL_CHANNELS, Policy
from threadline.core.proactive.purposes import ConsentRecord, Purpose, consent_verdict
from threadline.core.proactive.quiet import next_allowed
from threadline.core.time import require_utc


class Outcome(enum.StrEnum):
    SEND = "send"
    DEFER = "defer"
    SUPPRESS = "suppress"


@dataclass(frozen=True)
class ChannelFacts:
    channel: str
    # Why the channel cannot carry this notification at all, if it cannot: "no_address"
    # (the customer has none there), "no_sender" (no inbox sends there), "no_variant"
    # (the template has no text for it), "channel_failed" (tried, and it failed).
    unusable: str | None = None
    consent: tuple[ConsentRecord, ...] = ()
    # When notifications of this purpose were sent to the customer on this channel.
    sent: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class Facts:
    purpose: Purpose
    zone: ZoneInfo
    region: str | None
    # In the order to try them: the channel asked for, or the customer's preferred
    # one, then the business's fallback order.
    channels: tuple[ChannelFacts, ...]
    expires_at: datetime | None = None
    # When notifications of this purpose were sent to the customer on any channel.
    sent_anywhere: tuple[datetime, ...] = ()
    # Collections: earlier attempts about the same debt, and conversations about it.
    debt_attempts: tuple[datetime, ...] = ()
    debt_conversations: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    channel: str | None = None
    rule: str | None = None
    until: datetime | None = None
    # Channels not used, each with the rule that ruled it out, in the order tried.
    passed_over: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def decide(facts: Facts, policy: Policy, now: datetime) -> Decision:
    now = require_utc(now)
    expires = require_utc(facts.expires_at) if facts.expires_at is not None else None
    if expires is not None and now >= expires:
        return Decision(Outcome.SUPPRESS, rule="expired")
    passed: list[tuple[str, str]] = []
    capped: list[Verdict] = []
    chosen: str | None = None
    for option in facts.channels:
        consent = consent_verdict(option.consent, option.channel, facts.purpose, policy.basis)
        if option.unusable is not None:
            rule = option.unusable
            if rule == "channel_failed" and consent.rule in _OPTED_OUT:
                # The customer opted out while it was on its way (the outbox refuses
                # it then): the opt-out is why it did not go, not a broken channel.
                rule = consent.rule
            passed.append((option.channel, rule))
            continue
        if not consent.allowed:
            passed.append((option.channel, consent.rule or "no_consent"))
            continue
        verdict = _caps(policy, facts.purpose, option.channel, option.sent, now, anywhere=False)
        if not verdict.allowed:
            passed.append((option.channel, verdict.rule or "frequency_cap"))
            capped.append(verdict)
            continue
        chosen = option.channel
        break
    over = tuple(passed)
    if chosen is None and not capped:
        rule = passed[0][1] if passed else "no_channel"
        return Decision(Outcome.SUPPRESS, rule=rule, passed_over=over)
    waits = [_caps(policy, facts.purpose, ALL_CHANNELS, facts.sent_anywhere, now, anywhere=True)]
    if facts.purpose is Purpose.COLLECTIONS:
        waits.append(check_collections(facts.debt_attempts, facts.debt_conversations, now))
    if chosen is None:
        # Every channel that may carry it is at its cap: it may go when the first of
        # them lets it, and not before the limits across channels do either.
        waits.append(min(capped, key=lambda v: v.not_before or now))
    blocking = [v for v in waits if not v.allowed]
    if blocking:
        latest = max(blocking, key=lambda v: v.not_before or now)
        return _later(
            latest.not_before or now, latest.rule or "frequency_cap", facts, policy, over, now
        )
    window = policy.window_for(facts.purpose, facts.region)
    at = next_allowed(now, facts.zone, window)
    if at > now:
        return _deferred(at, "quiet_hours", expires, over, channel=chosen)
    assert chosen is not None  # no channel means a cap holds it, so it was deferred
    return Decision(Outcome.SEND, channel=chosen, passed_over=over)


_OPTED_OUT = frozenset({"opted_out_of_channel", "opted_out_of_purpose"})


def _later(
    at: datetime,
    rule: str,
    facts: Facts,
    policy: Policy,
    over: tuple[tuple[str, str], ...],
    now: datetime,
) -> Decision:
    """Deferred by `rule` until `at`, and then to the first instant quiet hours allow."""
    window = policy.window_for(facts.purpose, facts.region)
    at = next_allowed(max(at, now), facts.zone, window)
    expires = require_utc(facts.expires_at) if facts.expires_at is not None else None
    return _deferred(at, rule, expires, over)


def _deferred(
    at: datetime,
    rule: str,
    expires: datetime | None,
    over: tuple[tuple[str, str], ...],
    channel: str | None = None,
) -> Decision:
    if expires is not None and at >= expires:
        # It would go too late to matter (a fraud alert after the fact): not sent,
        # and the record says what held it back.
        return Decision(
            Outcome.SUPPRESS, rule="expired", until=at, passed_over=(*over, (channel or "*", rule))
        )
    return Decision(Outcome.DEFER, channel=channel, rule=rule, until=at, passed_over=over)


def _caps(
    policy: Policy,
    purpose: Purpose,
    channel: str,
    sent: tuple[datetime, ...],
    now: datetime,
    *,
    anywhere: bool,
) -> Verdict:
    """The strictest of the caps on `purpose` for `channel` (or across all channels)."""
    worst: Verdict | None = None
    for rule in policy.caps_for(purpose, channel):
        if (rule.channel == ALL_CHANNELS) != anywhere:
            continue
        name = f"cap_{purpose}_{'any_channel' if anywhere else channel}"
        verdict = check_cap(rule.cap, sent, now, rule=name)
        if not verdict.allowed and (
            worst is None or (verdict.not_before or now) > (worst.not_before or now)
        ):
            worst = verdict
    return worst or Verdict(True)
