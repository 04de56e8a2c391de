"""The business's outreach policy: parsed from its JSON document with every mistake
reported at once, written back unchanged, and the windows and caps it yields."""

from __future__ import annotations

from datetime import time, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadline.core.errors import InvalidInput
from threadline.core.proactive.caps import Cap
from threadline.core.proactive.policy import (
    ALL_CHANNELS,
    DEFAULT_REPLY_WINDOW,
    NOTIFIABLE,
    CapRule,
    Policy,
    parse_policy,
    policy_to_doc,
)
from threadline.core.proactive.purposes import Purpose
from threadline.core.proactive.quiet import DEFAULT_WINDOW, ContactWindow

RICH: dict[str, Any] = {
    "window": "08:30-20:30",
    "windows_by_purpose": {"collections": "09:00-20:00", "fraud_alert": "07:00-24:00"},
    "windows_by_region": {"US": "08:00-21:00", "US-FL": "08:00-20:00"},
    "caps": [
        {"purpose": "marketing", "channel": "sms", "limit": 3, "period_seconds": 7 * 86400},
        {"purpose": "marketing", "channel": "*", "limit": 5, "period_seconds": 7 * 86400},
        {"purpose": "reminder", "channel": "whatsapp", "limit": 1, "period_seconds": 86400},
    ],
    "basis": {
        "without_opt_in": ["fraud_alert", "transactional"],
        "survives_channel_opt_out": ["fraud_alert"],
    },
    "fallback": ["whatsapp", "sms", "app"],
    "senders": {"sms": "Alerts", "whatsapp": "Bank WhatsApp"},
    "default_timezone": "America/Chicago",
    "reply_window_seconds": 86400,
}


def problems_of(doc: object) -> dict[str, str]:
    """The problems a document is refused with, by field."""
    with pytest.raises(InvalidInput) as refused:
        parse_policy(doc)
    found = refused.value.details["problems"]
    assert isinstance(found, list)
    return {p["field"]: p["message"] for p in found}


# --- round trips -----------------------------------------------------------------------


def test_the_default_policy_round_trips_and_holds_the_documented_defaults() -> None:
    doc = policy_to_doc(Policy())
    assert policy_to_doc(parse_policy(doc)) == doc
    assert parse_policy({}) == Policy()
    assert doc["window"] == "08:00-21:00"
    assert doc["reply_window_seconds"] == int(DEFAULT_REPLY_WINDOW.total_seconds())
    assert "marketing" not in doc["basis"]["without_opt_in"]


def test_a_rich_policy_round_trips_unchanged() -> None:
    policy = parse_policy(RICH)
    assert policy_to_doc(policy) == RICH
    assert policy.caps[0] == CapRule(Purpose.MARKETING, "sms", Cap(3, timedelta(days=7)))
    assert policy.senders == {"sms": "Alerts", "whatsapp": "Bank WhatsApp"}
    assert policy.reply_window == timedelta(days=1)


HHMM = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59)) | st.just(
    "24:00"
)


@given(
    # Any window that leaves collections some of Regulation F's hours.
    window=st.tuples(HHMM, HHMM)
    .filter(lambda w: w[0] < w[1] and w[0] < "21:00" and w[1] > "08:00")
    .map("-".join),
    channels=st.lists(st.sampled_from(sorted(NOTIFIABLE)), min_size=1, unique=True),
    reply=st.integers(60, 30 * 86400),
    limit=st.integers(1, 1000),
    period=st.integers(60, 366 * 86400),
)
def test_any_valid_policy_round_trips(
    window: str, channels: list[str], reply: int, limit: int, period: int
) -> None:
    doc = policy_to_doc(Policy())
    doc.update(
        window=window,
        windows_by_region={"CA": window},
        fallback=channels,
        reply_window_seconds=reply,
        caps=[{"purpose": "reminder", "channel": "*", "limit": limit, "period_seconds": period}],
    )
    assert policy_to_doc(parse_policy(doc)) == doc


# --- every mistake at once ---------------------------------------------------------------


def test_every_mistake_is_reported_at_once_with_its_field() -> None:
    found = problems_of(
        {
            "window": "8-21",
            "windows_by_purpose": {"newsletter": "09:00-17:00"},
            "windows_by_region": {"Florida": "09:00-17:00"},
            "caps": [{"purpose": "marketing", "channel": "sms", "limit": 0, "period_seconds": 1}],
            "fallback": ["sms", "fax"],
            "senders": {"sms": ""},
            "default_timezone": "Mars/Olympus",
            "reply_window_seconds": 10,
        }
    )
    assert set(found) == {
        "window",
        "windows_by_purpose.newsletter",
        "windows_by_region.Florida",
        "caps[0].limit",
        "caps[0].period_seconds",
        "fallback",
        "senders.sms",
        "default_timezone",
        "reply_window_seconds",
    }


def test_the_refusal_names_the_first_field_and_lists_every_problem_in_its_message() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_policy({"window": "late", "reply_window_seconds": 0})
    assert refused.value.details["field"] == "window"
    assert "window:" in refused.value.message
    assert "reply_window_seconds:" in refused.value.message


def test_a_policy_is_a_json_object() -> None:
    with pytest.raises(InvalidInput, match="JSON object"):
        parse_policy(["window"])


def test_an_unknown_setting_suggests_the_one_meant() -> None:
    found = problems_of({"windows_by_regoin": {}, "zzz": 1})
    assert "did you mean 'windows_by_region'?" in found["windows_by_regoin"]
    assert found["zzz"] == "unknown setting"


# --- windows ---------------------------------------------------------------------------


@pytest.mark.parametrize("wider", ["07:59-21:00", "08:00-21:01", "00:00-24:00"])
def test_a_collections_window_wider_than_regulation_f_is_refused(wider: str) -> None:
    found = problems_of({"windows_by_purpose": {"collections": wider}})
    assert "Reg F" in found["windows_by_purpose.collections"]


def test_other_purposes_may_widen_the_default_window() -> None:
    policy = parse_policy({"windows_by_purpose": {"fraud_alert": "07:00-22:00"}})
    assert policy.window_for(Purpose.FRAUD_ALERT, None) == ContactWindow(time(7), time(22))
    assert policy.window_for(Purpose.REMINDER, None) == DEFAULT_WINDOW


def test_a_wide_default_window_never_widens_collections() -> None:
    # The default window applies to every purpose without its own; collections stay
    # within 08:00-21:00 whatever it says.
    policy = parse_policy({"window": "07:00-22:00"})
    assert policy.window_for(Purpose.REMINDER, None) == ContactWindow(time(7), time(22))
    assert policy.window_for(Purpose.COLLECTIONS, None) == DEFAULT_WINDOW
    direct = Policy(window=ContactWindow(time(6), time(23)))
    assert direct.window_for(Purpose.COLLECTIONS, "US-FL") == DEFAULT_WINDOW


def test_a_default_window_leaving_collections_no_time_is_refused() -> None:
    found = problems_of({"window": "21:00-23:00"})
    assert "collections" in found["window"]


def test_region_windows_narrow_the_purpose_window_and_a_state_gets_its_countrys_too() -> None:
    policy = parse_policy(
        {
            "windows_by_purpose": {"fraud_alert": "07:00-22:00"},
            "windows_by_region": {"US": "07:30-21:30", "US-FL": "08:00-23:00"},
        }
    )
    # Florida: its own 08:00 start, the country's 21:30 end, inside the purpose's hours.
    assert policy.window_for(Purpose.FRAUD_ALERT, "US-FL") == ContactWindow(time(8), time(21, 30))
    assert policy.window_for(Purpose.FRAUD_ALERT, "US-TX") == ContactWindow(
        time(7, 30), time(21, 30)
    )
    assert policy.window_for(Purpose.FRAUD_ALERT, "CA") == ContactWindow(time(7), time(22))
    assert policy.window_for(Purpose.FRAUD_ALERT, None) == ContactWindow(time(7), time(22))
    # A region written in lower case is the same region.
    assert policy.window_for(Purpose.FRAUD_ALERT, "us-fl") == ContactWindow(time(8), time(21, 30))


def test_a_region_window_never_widens() -> None:
    policy = parse_policy({"windows_by_region": {"US-FL": "06:00-23:00"}})
    assert policy.window_for(Purpose.REMINDER, "US-FL") == DEFAULT_WINDOW


def test_a_region_window_that_leaves_a_purpose_no_time_is_refused_when_saved() -> None:
    found = problems_of(
        {
            "windows_by_purpose": {"fraud_alert": "06:00-07:00"},
            "windows_by_region": {"US-FL": "08:00-20:00"},
        }
    )
    assert "fraud_alert" in found["windows_by_region.US-FL"]


@pytest.mark.parametrize("region", ["us", "USA", "US-", "US-FLOR", "1", "US\n"])
def test_a_region_is_a_country_or_state_code(region: str) -> None:
    assert f"windows_by_region.{region}" in problems_of(
        {"windows_by_region": {region: "09:00-17:00"}}
    )


def test_twenty_four_hundred_is_the_end_of_the_day() -> None:
    policy = parse_policy({"windows_by_purpose": {"fraud_alert": "00:00-24:00"}})
    window = policy.window_for(Purpose.FRAUD_ALERT, None)
    assert window.allows(time(0, 0))
    assert window.allows(time(23, 59, 59))
    assert policy_to_doc(policy)["windows_by_purpose"] == {"fraud_alert": "00:00-24:00"}


@pytest.mark.parametrize("bad", ["24:00-24:00", "24:01-24:00", "08:00-24:30", "24:00-08:00"])
def test_twenty_four_hundred_is_only_ever_an_end(bad: str) -> None:
    assert "window" in problems_of({"window": bad})


@pytest.mark.parametrize("backwards", ["21:00-08:00", "09:00-09:00", "20:00-09:00"])
def test_a_window_that_ends_before_it_starts_is_refused(backwards: str) -> None:
    assert "end after it starts" in problems_of({"window": backwards})["window"]


@pytest.mark.parametrize(
    "malformed", [None, 800, "8:00-21:00", "08:00", "08:00-21:00-22:00", "08:60-21:00", ""]
)
def test_a_malformed_window_is_refused(malformed: object) -> None:
    assert "HH:MM-HH:MM" in problems_of({"window": malformed})["window"]


@pytest.mark.parametrize("setting", ["windows_by_purpose", "windows_by_region", "senders"])
def test_mappings_must_be_objects(setting: str) -> None:
    assert problems_of({setting: ["x"]})[setting] == "an object"


# --- caps ------------------------------------------------------------------------------


def cap(**overrides: object) -> dict[str, object]:
    found: dict[str, object] = {
        "purpose": "marketing",
        "channel": "sms",
        "limit": 3,
        "period_seconds": 604800,
    }
    found.update(overrides)
    return found


@pytest.mark.parametrize("limit", [0, 1001, -1, 2.5, "3", True, None])
def test_a_cap_limit_is_a_whole_number_from_1_to_1000(limit: object) -> None:
    assert "caps[0].limit" in problems_of({"caps": [cap(limit=limit)]})


@pytest.mark.parametrize("period", [59, 366 * 86400 + 1, 3600.0, "604800", False, None])
def test_a_cap_period_is_whole_seconds_from_a_minute_to_a_year(period: object) -> None:
    assert "caps[0].period_seconds" in problems_of({"caps": [cap(period_seconds=period)]})


def test_every_mistake_in_one_cap_is_reported() -> None:
    found = problems_of({"caps": [cap(purpose="spam", channel="fax", limit=0, period_seconds=1)]})
    assert {"caps[0].purpose", "caps[0].channel", "caps[0].limit", "caps[0].period_seconds"} <= set(
        found
    )


def test_a_second_cap_for_the_same_purpose_and_channel_is_refused() -> None:
    found = problems_of({"caps": [cap(), cap(limit=5), cap(channel="*"), cap(channel="*")]})
    assert set(found) == {"caps[1]", "caps[3]"}
    assert "second cap for marketing on sms" in found["caps[1]"]


def test_a_cap_without_a_channel_counts_every_channel() -> None:
    policy = parse_policy({"caps": [{"purpose": "reminder", "limit": 2, "period_seconds": 3600}]})
    assert policy.caps == (CapRule(Purpose.REMINDER, ALL_CHANNELS, Cap(2, timedelta(hours=1))),)


@pytest.mark.parametrize("channel", ["web", "fax", 3, ["sms"], {"sms": 1}, None])
def test_a_cap_is_on_a_notifiable_channel_or_on_all_of_them(channel: object) -> None:
    assert "caps[0].channel" in problems_of({"caps": [cap(channel=channel)]})


def test_a_cap_with_an_unknown_key_is_refused_with_a_hint() -> None:
    found = problems_of({"caps": [cap(period=3600)]})
    assert "did you mean 'period_seconds'?" in found["caps[0].period"]


@pytest.mark.parametrize("caps", [{}, "3 a week", [3]])
def test_caps_are_a_list_of_objects(caps: object) -> None:
    found = problems_of({"caps": caps})
    assert "caps" in found or "caps[0]" in found


def test_caps_for_a_channel_include_the_all_channels_caps_of_that_purpose_only() -> None:
    policy = parse_policy(RICH)
    assert [c.channel for c in policy.caps_for(Purpose.MARKETING, "sms")] == ["sms", "*"]
    assert [c.channel for c in policy.caps_for(Purpose.MARKETING, "whatsapp")] == ["*"]
    assert policy.caps_for(Purpose.FRAUD_ALERT, "sms") == []


# --- basis, fallback, senders, zone, reply window ----------------------------------------


@pytest.mark.parametrize("key", ["without_opt_in", "survives_channel_opt_out"])
def test_the_basis_never_covers_marketing(key: str) -> None:
    basis = {"without_opt_in": ["fraud_alert"], "survives_channel_opt_out": ["fraud_alert"]}
    basis[key] = [*basis[key], "marketing"]
    assert "marketing" in problems_of({"basis": basis})["basis"]


def test_only_a_purpose_sent_without_opt_in_may_survive_a_channel_opt_out() -> None:
    # Otherwise a STOP would let through what the customer would not get before it.
    found = problems_of(
        {"basis": {"without_opt_in": ["transactional"], "survives_channel_opt_out": ["reminder"]}}
    )
    assert "reminder" in found["basis.survives_channel_opt_out"]


def test_a_basis_with_unknown_purposes_or_keys_is_refused() -> None:
    assert "basis.without_opt_in" in problems_of({"basis": {"without_opt_in": ["spam"]}})
    assert "basis.without_opt_in" in problems_of({"basis": {"without_opt_in": "fraud_alert"}})
    assert "basis" in problems_of({"basis": {"with_opt_in": []}})
    assert "basis" in problems_of({"basis": None})


def test_a_basis_may_be_empty() -> None:
    policy = parse_policy({"basis": {"without_opt_in": [], "survives_channel_opt_out": []}})
    assert policy.basis.without_opt_in == frozenset()


@pytest.mark.parametrize(
    ("fallback", "says"),
    [
        (["sms", "fax"], "'fax' is not a channel"),
        (["sms", "web"], "'web' is not a channel"),
        (["sms", "whatsapp", "sms"], "sms is listed twice"),
        ([], "a list of channels"),
        ("sms", "a list of channels"),
        ([["sms"]], "is not a channel"),
        ([{"sms": 1}], "is not a channel"),
    ],
)
def test_the_fallback_order_lists_notifiable_channels_once(fallback: object, says: str) -> None:
    assert says in problems_of({"fallback": fallback})["fallback"]


def test_web_chat_takes_no_notifications() -> None:
    assert "web" not in NOTIFIABLE
    assert (
        "not a channel notifications go on"
        in problems_of({"senders": {"web": "Site"}})["senders.web"]
    )


@pytest.mark.parametrize("inbox", ["", "   ", 7, None])
def test_a_sender_is_an_inbox_name(inbox: object) -> None:
    assert "senders.sms" in problems_of({"senders": {"sms": inbox}})


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "America", "../etc/passwd", 5, None])
def test_a_bad_default_timezone_is_reported_not_raised(tz: object) -> None:
    assert "default_timezone" in problems_of({"default_timezone": tz})


@pytest.mark.parametrize("seconds", [59, 30 * 86400 + 1, 3600.5, "3600", True, None])
def test_the_reply_window_is_whole_seconds_from_a_minute_to_thirty_days(seconds: object) -> None:
    assert "reply_window_seconds" in problems_of({"reply_window_seconds": seconds})


@pytest.mark.parametrize("seconds", [60, 30 * 86400])
def test_the_reply_window_bounds_are_allowed(seconds: int) -> None:
    assert parse_policy({"reply_window_seconds": seconds}).reply_window == timedelta(
        seconds=seconds
    )


@given(st.booleans())
def test_booleans_are_not_numbers(flag: bool) -> None:
    found = problems_of({"reply_window_seconds": flag, "caps": [cap(limit=flag)]})
    assert {"reply_window_seconds", "caps[0].limit"} <= set(found)


@given(
    st.dictionaries(
        st.sampled_from(["window", "caps", "fallback", "senders", "basis", "default_timezone"]),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=8), inner, max_size=3)
            ),
            max_leaves=8,
        ),
    )
)
def test_any_json_is_either_a_policy_or_refused_as_invalid_input(doc: dict[str, Any]) -> None:
    problems: object = "none: it parsed"
    try:
        parse_policy(doc)
    except InvalidInput as refused:
        problems = refused.details["problems"]
    assert problems
