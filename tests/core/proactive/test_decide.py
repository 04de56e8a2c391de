"""The governance decision for one notification: send (on which channel), defer (until
when, why) or suppress (which rule), at the edges the issue names."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadline.core.consent import ConsentState
from threadline.core.proactive.caps import Cap
from threadline.core.proactive.decide import ChannelFacts, Decision, Facts, Outcome, decide
from threadline.core.proactive.policy import ALL_CHANNELS, CapRule, Policy, parse_policy
from threadline.core.proactive.purposes import Basis, ConsentRecord, Purpose
from threadline.core.proactive.quiet import ContactWindow, zone

NEW_YORK, LOS_ANGELES = zone("America/New_York"), zone("America/Los_Angeles")
CUSTOMER = uuid.UUID(int=1)
IN, OUT = ConsentState.OPTED_IN, ConsentState.OPTED_OUT
WEEK = timedelta(days=7)
# Wednesday 10 June 2026, 12:00 in New York (EDT): inside every default window.
NOON = datetime(2026, 6, 10, 16, 0, tzinfo=UTC)
POLICY = Policy()


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def consent(
    purpose: Purpose | None,
    state: ConsentState,
    at: datetime,
    channel: str = "sms",
    source: str = "api",
) -> ConsentRecord:
    return ConsentRecord(CUSTOMER, channel, purpose, state, source, at)


def opted_in(channel: str, at: datetime = NOON - timedelta(days=30)) -> tuple[ConsentRecord, ...]:
    return (consent(Purpose.MARKETING, IN, at, channel),)


def facts(
    purpose: Purpose = Purpose.TRANSACTIONAL,
    *channels: ChannelFacts,
    where: str = "America/New_York",
    region: str | None = "US-NY",
    expires_at: datetime | None = None,
    sent_anywhere: tuple[datetime, ...] = (),
    debt_attempts: tuple[datetime, ...] = (),
    debt_conversations: tuple[datetime, ...] = (),
) -> Facts:
    return Facts(
        purpose,
        zone(where),
        region,
        channels or (ChannelFacts("sms"),),
        expires_at=expires_at,
        sent_anywhere=sent_anywhere,
        debt_attempts=debt_attempts,
        debt_conversations=debt_conversations,
    )


def sent(decision: Decision, channel: str) -> bool:
    return decision.outcome is Outcome.SEND and decision.channel == channel


# --- quiet hours in the recipient's zone ----------------------------------------------------


def test_a_recipient_in_los_angeles_at_half_past_six_waits_for_eight_there() -> None:
    # 13:30 UTC: 09:30 in New York, where the business is, but 06:30 in Los Angeles.
    now = utc(2026, 6, 10, 13, 30)
    assert sent(decide(facts(region="US-NY"), POLICY, now), "sms")
    decision = decide(facts(where="America/Los_Angeles", region="US-CA"), POLICY, now)
    assert decision == Decision(
        Outcome.DEFER, channel="sms", rule="quiet_hours", until=utc(2026, 6, 10, 15, 0)
    )
    assert decision.until is not None
    assert decision.until.astimezone(LOS_ANGELES).time() == time(8, 0)


def test_a_deferral_at_night_crosses_midnight_to_eight_the_next_morning() -> None:
    # 22:15 on 10 June in Los Angeles is 05:15 UTC on the 11th.
    decision = decide(facts(where="America/Los_Angeles"), POLICY, utc(2026, 6, 11, 5, 15))
    assert (decision.outcome, decision.until) == (Outcome.DEFER, utc(2026, 6, 11, 15, 0))
    assert decision.until is not None
    local = decision.until.astimezone(LOS_ANGELES)
    assert (local.day, local.time()) == (11, time(8, 0))


@pytest.mark.parametrize(
    ("night", "morning"),
    [
        # Spring forward, 8 March 2026: 01:30 EST (06:30Z); 08:00 that day is EDT, 12:00Z.
        (utc(2026, 3, 8, 6, 30), utc(2026, 3, 8, 12, 0)),
        # Just after the jump: 03:10 EDT (07:10Z).
        (utc(2026, 3, 8, 7, 10), utc(2026, 3, 8, 12, 0)),
        # Fall back, 1 November 2026: 01:30 EDT (05:30Z) and 01:30 EST (06:30Z); 08:00
        # that day is EST, 13:00Z.
        (utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 13, 0)),
        (utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 13, 0)),
    ],
)
def test_a_notification_due_on_a_dst_night_waits_for_eight_local_that_day(
    night: datetime, morning: datetime
) -> None:
    decision = decide(facts(), POLICY, night)
    assert (decision.outcome, decision.rule, decision.until) == (
        Outcome.DEFER,
        "quiet_hours",
        morning,
    )


def test_a_window_whose_start_the_clock_skips_opens_when_it_jumps() -> None:
    policy = parse_policy({"windows_by_purpose": {"fraud_alert": "02:30-21:00"}})
    # 01:30 EST on 8 March 2026; 02:30 never shows, the clock jumps to 03:00 EDT at 07:00Z.
    decision = decide(facts(Purpose.FRAUD_ALERT), policy, utc(2026, 3, 8, 6, 30))
    assert decision.until == utc(2026, 3, 8, 7, 0)


def test_nine_in_the_evening_is_quiet_and_a_second_before_is_not() -> None:
    nine_pm = utc(2026, 6, 11, 1, 0)  # 21:00 EDT
    assert decide(facts(), POLICY, nine_pm).outcome is Outcome.DEFER
    assert sent(decide(facts(), POLICY, nine_pm - timedelta(seconds=1)), "sms")


def test_a_states_stricter_hours_apply_and_the_purposes_own_window_is_used() -> None:
    policy = parse_policy(
        {
            "windows_by_purpose": {"fraud_alert": "07:00-22:00"},
            "windows_by_region": {"US-FL": "08:00-20:00"},
        }
    )
    seven_thirty = utc(2026, 6, 10, 11, 30)  # 07:30 EDT (Florida's east coast too)
    assert sent(decide(facts(Purpose.FRAUD_ALERT), policy, seven_thirty), "sms")
    in_florida = decide(facts(Purpose.FRAUD_ALERT, region="US-FL"), policy, seven_thirty)
    assert in_florida.until == utc(2026, 6, 10, 12, 0)
    assert decide(facts(Purpose.REMINDER), policy, seven_thirty).until == utc(2026, 6, 10, 12, 0)


# --- frequency caps at the boundary --------------------------------------------------------

THREE_A_WEEK = Policy(caps=(CapRule(Purpose.MARKETING, "sms", Cap(3, WEEK)),))


def marketing_sms(now: datetime, *sends: datetime) -> Facts:
    return facts(Purpose.MARKETING, ChannelFacts("sms", consent=opted_in("sms"), sent=sends))


def test_the_fourth_marketing_sms_in_a_week_waits_until_the_oldest_leaves_the_week() -> None:
    t = NOON
    sends = (t - WEEK + timedelta(seconds=1), t - timedelta(days=3), t - timedelta(days=1))
    decision = decide(marketing_sms(t, *sends), THREE_A_WEEK, t)
    assert decision == Decision(
        Outcome.DEFER,
        rule="cap_marketing_sms",
        until=sends[0] + WEEK,
        passed_over=(("sms", "cap_marketing_sms"),),
    )


def test_a_send_exactly_one_period_ago_no_longer_counts() -> None:
    t = NOON
    sends = (t - WEEK, t - timedelta(days=3), t - timedelta(days=1))
    assert sent(decide(marketing_sms(t, *sends), THREE_A_WEEK, t), "sms")
    # And at the deferral's `until`, the capped message goes.
    early = (t - WEEK + timedelta(seconds=1), *sends[1:])
    until = decide(marketing_sms(t, *early), THREE_A_WEEK, t).until
    assert until is not None
    assert sent(decide(marketing_sms(until, *early), THREE_A_WEEK, until), "sms")


def test_a_cap_that_lifts_in_quiet_hours_defers_to_the_next_morning() -> None:
    t = utc(2026, 6, 11, 0, 30)  # 20:30 EDT
    sends = (t - WEEK + timedelta(minutes=40), t - timedelta(days=3), t - timedelta(days=1))
    decision = decide(marketing_sms(t, *sends), THREE_A_WEEK, t)
    # The oldest leaves the week at 21:10 EDT, in quiet hours: 08:00 EDT next.
    assert (decision.rule, decision.until) == ("cap_marketing_sms", utc(2026, 6, 11, 12, 0))


def test_a_capped_channel_falls_back_to_the_next() -> None:
    sends = (NOON - timedelta(days=1),) * 3
    decision = decide(
        facts(
            Purpose.MARKETING,
            ChannelFacts("sms", consent=opted_in("sms"), sent=sends),
            ChannelFacts("whatsapp", consent=opted_in("whatsapp")),
        ),
        THREE_A_WEEK,
        NOON,
    )
    assert decision == Decision(
        Outcome.SEND, channel="whatsapp", passed_over=(("sms", "cap_marketing_sms"),)
    )


def test_with_every_channel_capped_it_waits_for_the_first_cap_to_lift() -> None:
    policy = Policy(
        caps=(
            CapRule(Purpose.MARKETING, "sms", Cap(1, WEEK)),
            CapRule(Purpose.MARKETING, "whatsapp", Cap(1, timedelta(days=2))),
        )
    )
    day_ago = NOON - timedelta(days=1)
    decision = decide(
        facts(
            Purpose.MARKETING,
            ChannelFacts("sms", consent=opted_in("sms"), sent=(day_ago,)),
            ChannelFacts("whatsapp", consent=opted_in("whatsapp"), sent=(day_ago,)),
        ),
        policy,
        NOON,
    )
    assert decision == Decision(
        Outcome.DEFER,
        rule="cap_marketing_whatsapp",
        until=day_ago + timedelta(days=2),
        passed_over=(("sms", "cap_marketing_sms"), ("whatsapp", "cap_marketing_whatsapp")),
    )


def test_with_every_channel_capped_the_deferral_also_waits_for_the_cap_across_channels() -> None:
    policy = Policy(
        caps=(
            CapRule(Purpose.REMINDER, "sms", Cap(1, timedelta(days=1))),
            CapRule(Purpose.REMINDER, ALL_CHANNELS, Cap(2, WEEK)),
        )
    )
    sends = (NOON - timedelta(days=5), NOON - timedelta(hours=2))
    decision = decide(
        facts(Purpose.REMINDER, ChannelFacts("sms", sent=sends[1:]), sent_anywhere=sends),
        policy,
        NOON,
    )
    # The SMS cap lifts in 22 hours, but two reminders this week hold it for two days.
    assert (decision.outcome, decision.rule, decision.until) == (
        Outcome.DEFER,
        "cap_reminder_any_channel",
        sends[0] + WEEK,
    )


def test_a_cap_across_channels_defers_whatever_the_channel() -> None:
    policy = Policy(caps=(CapRule(Purpose.REMINDER, ALL_CHANNELS, Cap(2, timedelta(hours=4))),))
    sends = (NOON - timedelta(hours=3), NOON - timedelta(hours=1))
    for channel in ("sms", "whatsapp", "app"):
        decision = decide(
            facts(Purpose.REMINDER, ChannelFacts(channel), sent_anywhere=sends), policy, NOON
        )
        assert (decision.outcome, decision.rule, decision.until) == (
            Outcome.DEFER,
            "cap_reminder_any_channel",
            sends[0] + timedelta(hours=4),
        )
    # Sends on the channel alone do not count against it, nor other purposes' caps.
    assert sent(
        decide(facts(Purpose.REMINDER, ChannelFacts("sms", sent=sends)), policy, NOON), "sms"
    )
    assert sent(decide(facts(Purpose.TRANSACTIONAL, sent_anywhere=sends * 5), policy, NOON), "sms")


# --- consent: a STOP on one channel ----------------------------------------------------------

STOP = consent(None, OUT, NOON - timedelta(days=1), "sms", source="STOP")


def test_a_stop_on_sms_moves_marketing_to_a_channel_with_a_marketing_opt_in() -> None:
    decision = decide(
        facts(
            Purpose.MARKETING,
            ChannelFacts("sms", consent=(*opted_in("sms"), STOP)),
            ChannelFacts("whatsapp", consent=opted_in("whatsapp")),
        ),
        POLICY,
        NOON,
    )
    assert decision == Decision(
        Outcome.SEND, channel="whatsapp", passed_over=(("sms", "opted_out_of_channel"),)
    )


def test_a_stop_on_sms_suppresses_marketing_without_an_opt_in_elsewhere() -> None:
    decision = decide(
        facts(
            Purpose.MARKETING,
            ChannelFacts("sms", consent=(*opted_in("sms"), STOP)),
            ChannelFacts("whatsapp"),
        ),
        POLICY,
        NOON,
    )
    assert decision == Decision(
        Outcome.SUPPRESS,
        rule="opted_out_of_channel",
        passed_over=(("sms", "opted_out_of_channel"), ("whatsapp", "no_marketing_opt_in")),
    )


def test_a_stop_on_sms_does_not_stop_a_fraud_alert_the_business_has_a_basis_for() -> None:
    alert = facts(Purpose.FRAUD_ALERT, ChannelFacts("sms", consent=(STOP,)), ChannelFacts("app"))
    declared = Policy(basis=Basis(survives_channel_opt_out=frozenset({Purpose.FRAUD_ALERT})))
    assert decide(alert, declared, NOON) == Decision(Outcome.SEND, channel="sms")
    # By default nothing survives a STOP: SMS is passed over and the next channel
    # carries it.
    assert decide(alert, POLICY, NOON) == Decision(
        Outcome.SEND, channel="app", passed_over=(("sms", "opted_out_of_channel"),)
    )


def test_a_stop_on_sms_leaves_other_channels_alone() -> None:
    # The STOP record is about SMS even if handed in with another channel's facts.
    assert sent(
        decide(facts(Purpose.REMINDER, ChannelFacts("whatsapp", consent=(STOP,))), POLICY, NOON),
        "whatsapp",
    )


@pytest.mark.parametrize("purpose", [Purpose.REMINDER, Purpose.FRAUD_ALERT, Purpose.MARKETING])
def test_an_opt_out_of_a_purpose_holds_through_a_later_stop_and_start(purpose: Purpose) -> None:
    base = NOON - timedelta(days=10)
    history = (
        consent(purpose, OUT, base),
        consent(None, OUT, base + timedelta(days=1), source="STOP"),
        consent(None, IN, base + timedelta(days=2), source="START"),
    )
    for records in (history[:1], history[:2], history, (history[0], history[2])):
        decision = decide(facts(purpose, ChannelFacts("sms", consent=records)), POLICY, NOON)
        assert decision.outcome is Outcome.SUPPRESS, records
        assert decision.rule == "opted_out_of_purpose", records


def test_an_opt_in_again_after_a_purpose_opt_out_is_honoured() -> None:
    base = NOON - timedelta(days=10)
    records = (
        consent(Purpose.REMINDER, OUT, base),
        consent(None, IN, base + timedelta(days=1), source="START"),
        consent(Purpose.REMINDER, IN, base + timedelta(days=2)),
    )
    assert sent(
        decide(facts(Purpose.REMINDER, ChannelFacts("sms", consent=records)), POLICY, NOON), "sms"
    )


def test_a_marketing_opt_in_survives_a_start_that_followed_no_stop() -> None:
    base = NOON - timedelta(days=10)
    records = (*opted_in("sms", base), consent(None, IN, base + timedelta(days=1), source="START"))
    assert sent(
        decide(facts(Purpose.MARKETING, ChannelFacts("sms", consent=records)), POLICY, NOON), "sms"
    )


def test_a_start_after_a_stop_does_not_restore_a_marketing_opt_in() -> None:
    base = NOON - timedelta(days=10)
    records = (
        *opted_in("sms", base),
        consent(None, OUT, base + timedelta(days=1), source="STOP"),
        consent(None, IN, base + timedelta(days=2), source="START"),
    )
    decision = decide(facts(Purpose.MARKETING, ChannelFacts("sms", consent=records)), POLICY, NOON)
    assert (decision.outcome, decision.rule) == (Outcome.SUPPRESS, "no_marketing_opt_in")
    # Other purposes come back with the START.
    assert sent(
        decide(facts(Purpose.REMINDER, ChannelFacts("sms", consent=records)), POLICY, NOON), "sms"
    )


def test_of_a_purpose_opt_in_and_opt_out_at_the_same_instant_the_opt_out_holds() -> None:
    at = NOON - timedelta(days=1)
    for records in (
        (consent(Purpose.MARKETING, IN, at), consent(Purpose.MARKETING, OUT, at)),
        (consent(Purpose.MARKETING, OUT, at), consent(Purpose.MARKETING, IN, at)),
    ):
        decision = decide(
            facts(Purpose.MARKETING, ChannelFacts("sms", consent=records)), POLICY, NOON
        )
        assert decision.rule == "opted_out_of_purpose"


# --- collections: Regulation F, per debt -------------------------------------------------------


def test_seven_attempts_in_seven_days_on_a_debt_defer_until_the_oldest_is_a_week_old() -> None:
    attempts = tuple(NOON - timedelta(days=6, hours=-h) for h in range(7))
    decision = decide(facts(Purpose.COLLECTIONS, debt_attempts=attempts), POLICY, NOON)
    assert (decision.outcome, decision.rule, decision.until) == (
        Outcome.DEFER,
        "reg_f_7_in_7",
        attempts[0] + WEEK,
    )
    assert sent(decide(facts(Purpose.COLLECTIONS, debt_attempts=attempts[1:]), POLICY, NOON), "sms")


def test_a_conversation_about_the_debt_holds_contact_for_seven_days_after_it() -> None:
    talked = NOON - timedelta(days=2)
    decision = decide(facts(Purpose.COLLECTIONS, debt_conversations=(talked,)), POLICY, NOON)
    assert (decision.rule, decision.until) == ("reg_f_after_conversation", talked + WEEK)
    assert sent(
        decide(facts(Purpose.COLLECTIONS, debt_conversations=(talked,)), POLICY, talked + WEEK),
        "sms",
    )


def test_another_debts_attempts_do_not_count() -> None:
    # The service hands decide only the attempts about this notification's debt.
    by_debt = {
        "D-1": tuple(NOON - timedelta(hours=h) for h in range(1, 8)),
        "D-2": (NOON - timedelta(days=1),),
    }
    for debt, expected in (("D-1", Outcome.DEFER), ("D-2", Outcome.SEND)):
        decision = decide(facts(Purpose.COLLECTIONS, debt_attempts=by_debt[debt]), POLICY, NOON)
        assert decision.outcome is expected, debt
    # And Regulation F is for collections only.
    assert sent(decide(facts(Purpose.REMINDER, debt_attempts=by_debt["D-1"]), POLICY, NOON), "sms")


def test_collections_never_go_outside_regulation_f_hours_whatever_the_default_window() -> None:
    policy = parse_policy({"window": "07:00-22:00"})
    seven_thirty = utc(2026, 6, 10, 11, 30)  # 07:30 EDT
    assert sent(decide(facts(Purpose.REMINDER), policy, seven_thirty), "sms")
    assert decide(facts(Purpose.COLLECTIONS), policy, seven_thirty).until == utc(2026, 6, 10, 12, 0)


# --- expiry ---------------------------------------------------------------------------------


def test_an_expired_notification_is_suppressed_even_exactly_at_its_expiry() -> None:
    for expires in (NOON - timedelta(seconds=1), NOON):
        assert decide(facts(expires_at=expires), POLICY, NOON) == Decision(
            Outcome.SUPPRESS, rule="expired"
        )
    assert sent(decide(facts(expires_at=NOON + timedelta(seconds=1)), POLICY, NOON), "sms")


def test_a_fraud_alert_deferred_past_its_expiry_is_suppressed_naming_what_held_it() -> None:
    night = utc(2026, 6, 11, 3, 0)  # 23:00 EDT; 08:00 EDT is 12:00Z
    for expires in (utc(2026, 6, 11, 12, 0), utc(2026, 6, 11, 5, 0)):
        decision = decide(facts(Purpose.FRAUD_ALERT, expires_at=expires), POLICY, night)
        assert decision == Decision(
            Outcome.SUPPRESS,
            rule="expired",
            until=utc(2026, 6, 11, 12, 0),
            passed_over=(("sms", "quiet_hours"),),
        )
    still_good = decide(
        facts(Purpose.FRAUD_ALERT, expires_at=utc(2026, 6, 11, 12, 0, 1)), POLICY, night
    )
    assert (still_good.outcome, still_good.until) == (Outcome.DEFER, utc(2026, 6, 11, 12, 0))


def test_a_capped_notification_that_would_go_after_its_expiry_is_suppressed() -> None:
    sends = (NOON - timedelta(days=1),) * 3
    decision = decide(
        facts(
            Purpose.MARKETING,
            ChannelFacts("sms", consent=opted_in("sms"), sent=sends),
            expires_at=NOON + timedelta(hours=1),
        ),
        THREE_A_WEEK,
        NOON,
    )
    assert (decision.outcome, decision.rule) == (Outcome.SUPPRESS, "expired")
    assert decision.passed_over[-1][1] == "cap_marketing_sms"


# --- channels that cannot carry it ------------------------------------------------------------


def test_unusable_channels_are_passed_over_in_order() -> None:
    decision = decide(
        facts(
            Purpose.TRANSACTIONAL,
            ChannelFacts("sms", unusable="no_address"),
            ChannelFacts("whatsapp", unusable="no_sender"),
            ChannelFacts("rcs", unusable="no_variant"),
            ChannelFacts("messenger", unusable="channel_failed"),
            ChannelFacts("app"),
            ChannelFacts("api"),
        ),
        POLICY,
        NOON,
    )
    assert decision == Decision(
        Outcome.SEND,
        channel="app",
        passed_over=(
            ("sms", "no_address"),
            ("whatsapp", "no_sender"),
            ("rcs", "no_variant"),
            ("messenger", "channel_failed"),
        ),
    )


def test_with_no_usable_channel_it_is_suppressed_by_the_first_channels_rule() -> None:
    decision = decide(
        facts(
            Purpose.MARKETING,
            ChannelFacts("sms", unusable="channel_failed"),
            ChannelFacts("whatsapp"),
        ),
        POLICY,
        NOON,
    )
    assert decision == Decision(
        Outcome.SUPPRESS,
        rule="channel_failed",
        passed_over=(("sms", "channel_failed"), ("whatsapp", "no_marketing_opt_in")),
    )


def test_with_no_channel_at_all_it_is_suppressed_as_no_channel() -> None:
    no_channels = Facts(Purpose.FRAUD_ALERT, NEW_YORK, None, ())
    assert decide(no_channels, POLICY, NOON) == Decision(Outcome.SUPPRESS, rule="no_channel")


def test_a_quiet_hours_deferral_keeps_the_channel_and_what_was_passed_over() -> None:
    night = utc(2026, 6, 11, 3, 0)
    decision = decide(
        facts(
            Purpose.TRANSACTIONAL, ChannelFacts("sms", unusable="no_address"), ChannelFacts("app")
        ),
        POLICY,
        night,
    )
    assert decision == Decision(
        Outcome.DEFER,
        channel="app",
        rule="quiet_hours",
        until=utc(2026, 6, 11, 12, 0),
        passed_over=(("sms", "no_address"),),
    )


# --- naive datetimes -------------------------------------------------------------------------


def test_naive_datetimes_are_refused() -> None:
    naive = datetime(2026, 6, 10, 12, 0)
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(facts(), POLICY, naive)
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(facts(expires_at=naive), POLICY, NOON)
    with pytest.raises(ValueError, match="timezone-aware"):
        decide(marketing_sms(NOON, naive, naive, naive), THREE_A_WEEK, NOON)


def test_an_aware_non_utc_now_is_the_same_instant() -> None:
    in_new_york = NOON.astimezone(NEW_YORK)
    assert decide(facts(), POLICY, in_new_york) == decide(facts(), POLICY, NOON)


# --- properties ------------------------------------------------------------------------------

ZONES = ["America/New_York", "America/Los_Angeles", "Europe/London", "Australia/Lord_Howe"]
INSTANTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@given(
    now=INSTANTS,
    where=st.sampled_from(ZONES),
    window=st.tuples(st.integers(0, 22), st.integers(1, 24)).filter(lambda w: w[0] < w[1]),
    caps=st.lists(
        st.tuples(
            st.sampled_from(["sms", "whatsapp", ALL_CHANNELS]),
            st.integers(1, 3),
            st.integers(1, 10 * 24),
        ),
        max_size=3,
        unique_by=lambda c: c[0],
    ),
    ago=st.lists(
        st.tuples(st.sampled_from(["sms", "whatsapp"]), st.integers(0, 10 * 24 * 3600)),
        max_size=8,
    ),
    attempts=st.lists(st.integers(0, 10 * 24 * 3600), max_size=9),
    purpose=st.sampled_from([Purpose.REMINDER, Purpose.COLLECTIONS]),
)
def test_a_deferred_notification_goes_when_its_deferral_ends(
    now: datetime,
    where: str,
    window: tuple[int, int],
    caps: list[tuple[str, int, int]],
    ago: list[tuple[str, int]],
    attempts: list[int],
    purpose: Purpose,
) -> None:
    """Nothing new happening in between, a deferral's `until` is when it may go: never
    earlier than now, in the recipient's allowed hours, and not deferred again."""
    end = time.max if window[1] == 24 else time(window[1])
    policy = Policy(
        window=ContactWindow(time(window[0]), end),
        caps=tuple(CapRule(Purpose.REMINDER, c, Cap(n, timedelta(hours=h))) for c, n, h in caps),
    )
    if purpose is Purpose.COLLECTIONS and not (window[0] < 21 and window[1] > 8):
        return  # Regulation F leaves such a policy no time for collections
    sends = {
        c: tuple(now - timedelta(seconds=s) for k, s in ago if k == c) for c in ("sms", "whatsapp")
    }
    the_facts = facts(
        purpose,
        ChannelFacts("sms", sent=sends["sms"]),
        ChannelFacts("whatsapp", sent=sends["whatsapp"]),
        where=where,
        region=None,
        sent_anywhere=sends["sms"] + sends["whatsapp"],
        debt_attempts=tuple(now - timedelta(seconds=s) for s in attempts),
    )
    decision = decide(the_facts, policy, now)
    assert decision.outcome is not Outcome.SUPPRESS
    local_window = policy.window_for(purpose, None)
    if decision.outcome is Outcome.SEND:
        assert local_window.allows(now.astimezone(zone(where)).time())
        return
    assert decision.until is not None
    assert decision.until > now
    assert local_window.allows(decision.until.astimezone(zone(where)).time())
    later = decide(the_facts, policy, decision.until)
    assert later.outcome is Outcome.SEND, (decision, later)
