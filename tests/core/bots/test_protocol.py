"""The external bot webhook protocol: the request Threadline sends, and the answers it
accepts from a business's bot (and the ones it refuses, naming where)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadline.core.bots.outcome import BotAnswer, Finish, HandoffReason, HandTo, Reply
from threadline.core.bots.protocol import (
    ExternalBotConfig,
    ExternalTurn,
    TranscriptLine,
    TurnMessage,
    make_external_bot_config,
    parse_answer,
    request_body,
)
from threadline.core.errors import InvalidInput

AT = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


def turn(**changes: object) -> ExternalTurn:
    base: dict[str, object] = {
        "event": "message",
        "idempotency_key": "msg-7f1c",
        "conversation_id": "0b9e3c1e-8a3f-4d7e-9a41-1f0c2b7d6e5a",
        "session_id": "5d2f7a90-1c3b-4e8f-a6d2-9b0e4c7f1a38",
        "inbox_id": "e4a1b2c3-d4e5-4f60-8a1b-2c3d4e5f6a7b",
        "channel": "web",
        "customer_id": "c7d8e9f0-a1b2-4c3d-8e4f-5a6b7c8d9e0f",
        "customer_name": "Ana",
        "verification": "identified",
        "language": "en",
        "message": TurnMessage("m-3", 3, "my invoice is wrong", AT),
        "fields": {"order_number": "A-10001"},
        "transcript": (
            TranscriptLine("bot", "Hi! How can I help?", AT - timedelta(minutes=1)),
            TranscriptLine("customer", "my invoice is wrong", AT),
        ),
    }
    base.update(changes)
    return ExternalTurn(**base)  # type: ignore[arg-type]


def outcome(answer: object) -> BotAnswer | InvalidInput:
    try:
        return parse_answer(answer)
    except InvalidInput as exc:
        return exc


def refused_at(answer: object) -> str:
    with pytest.raises(InvalidInput) as caught:
        parse_answer(answer)
    return str(caught.value.details["field"])


# --- the request -------------------------------------------------------------------


def test_the_request_carries_the_turn_as_json_with_utc_times_and_a_version() -> None:
    madrid = timezone(timedelta(hours=1))
    body = request_body(turn(message=TurnMessage("m-3", 3, "hello", AT.astimezone(madrid))))
    assert json.loads(json.dumps(body)) == body
    assert body["version"] == 1
    assert body["event"] == "message"
    assert body["idempotency_key"] == "msg-7f1c"
    assert body["customer"] == {
        "id": "c7d8e9f0-a1b2-4c3d-8e4f-5a6b7c8d9e0f",
        "name": "Ana",
        "verification": "identified",
        "language": "en",
    }
    assert body["message"] == {
        "id": "m-3",
        "seq": 3,
        "text": "hello",
        "received_at": "2026-03-14T09:30:00Z",
    }
    assert body["fields"] == {"order_number": "A-10001"}
    assert body["transcript"] == [
        {"sender": "bot", "text": "Hi! How can I help?", "at": "2026-03-14T09:29:00Z"},
        {"sender": "customer", "text": "my invoice is wrong", "at": "2026-03-14T09:30:00Z"},
    ]
    assert body["routine"] is None


def test_a_routine_event_names_the_routine_and_may_have_no_message() -> None:
    body = request_body(turn(event="routine", routine="collect_payment", message=None))
    assert (body["event"], body["routine"], body["message"]) == (
        "routine",
        "collect_payment",
        None,
    )


def test_the_request_sends_only_the_last_twenty_transcript_lines() -> None:
    lines = tuple(
        TranscriptLine("customer", f"line {i}", AT + timedelta(seconds=i)) for i in range(30)
    )
    sent = request_body(turn(transcript=lines))["transcript"]
    assert isinstance(sent, list)
    assert [line["text"] for line in sent] == [f"line {i}" for i in range(10, 30)]


def test_a_naive_time_in_the_turn_is_a_bug_not_a_guess() -> None:
    with pytest.raises(ValueError, match="aware"):
        request_body(turn(message=TurnMessage("m-1", 1, "hi", datetime(2026, 3, 14, 9, 30))))


# --- the answer ----------------------------------------------------------------------


def test_an_empty_answer_means_the_bot_has_nothing_to_say() -> None:
    assert parse_answer({}) == BotAnswer()
    assert parse_answer({"messages": None, "actions": None}) == BotAnswer()


def test_messages_with_suggestions_become_replies_trimmed() -> None:
    answer = parse_answer(
        {
            "messages": [
                {"text": "  We're open 9 to 20.  ", "suggestions": ["Order status", " Returns "]},
                {"text": "Anything else?"},
            ]
        }
    )
    assert answer.replies == (
        Reply("We're open 9 to 20.", ("Order status", "Returns")),
        Reply("Anything else?"),
    )
    assert answer.end is None


def test_set_fields_actions_are_merged_into_the_answers_fields() -> None:
    answer = parse_answer(
        {
            "actions": [
                {"type": "set_fields", "fields": {"topic": "billing", "invoice": "INV-9"}},
                {"type": "set_fields", "fields": {"invoice": "INV-10", "note": ""}},
            ]
        }
    )
    assert answer.fields == {"topic": "billing", "invoice": "INV-10", "note": ""}
    assert answer.end is None


def test_a_handoff_with_the_bots_own_reason_keeps_the_words_as_detail() -> None:
    answer = parse_answer(
        {
            "messages": [{"text": "Passing you to billing."}],
            "actions": [
                {
                    "type": "handoff",
                    "reason": "disputed charge",
                    "intent": "billing.dispute",
                    "confidence": 0.8,
                    "skill": "Billing",
                    "summary": "Ana disputes a charge on invoice INV-9.",
                }
            ],
        }
    )
    assert answer.end == HandTo(
        HandoffReason.FLOW,
        skill="billing",
        intent="billing.dispute",
        confidence=0.8,
        detail="disputed charge",
        summary="Ana disputes a charge on invoice INV-9.",
    )


def test_a_handoff_naming_a_known_reason_is_counted_under_it() -> None:
    answer = parse_answer({"actions": [{"type": "handoff", "reason": "customer_asked"}]})
    assert answer.end == HandTo(HandoffReason.CUSTOMER_ASKED)
    routine = parse_answer({"actions": [{"type": "handoff", "reason": "routine_done"}]})
    assert routine.end == HandTo(HandoffReason.ROUTINE_DONE)


def test_a_bare_handoff_is_the_flows_decision() -> None:
    assert parse_answer({"actions": [{"type": "handoff"}]}).end == HandTo(HandoffReason.FLOW)


def test_whole_number_confidences_are_accepted() -> None:
    answer = parse_answer({"actions": [{"type": "handoff", "confidence": 1}]})
    assert isinstance(answer.end, HandTo)
    assert answer.end.confidence == 1.0


def test_close_ends_the_conversation_as_resolved() -> None:
    answer = parse_answer({"messages": [{"text": "Bye!"}], "actions": [{"type": "close"}]})
    assert answer.end == Finish()
    assert answer.replies == (Reply("Bye!"),)


LONG = "x" * 4097


@pytest.mark.parametrize(
    ("answer", "path"),
    [
        ([], "answer"),
        ("hello", "answer"),
        ({"message": []}, "answer"),
        ({"messages": {"text": "hi"}}, "messages"),
        ({"messages": [{"text": "hi"}] * 11}, "messages"),
        ({"messages": ["hi"]}, "messages[0]"),
        ({"messages": [{}]}, "messages[0].text"),
        ({"messages": [{"text": "   "}]}, "messages[0].text"),
        ({"messages": [{"text": 42}]}, "messages[0].text"),
        ({"messages": [{"text": LONG}]}, "messages[0].text"),
        ({"messages": [{"text": "a\x00b"}]}, "messages[0].text"),
        ({"messages": [{"text": "ok"}, {"text": "\ud800"}]}, "messages[1].text"),
        ({"messages": [{"text": "hi", "buttons": []}]}, "messages[0]"),
        ({"messages": [{"text": "hi", "suggestions": "yes"}]}, "messages[0].suggestions"),
        ({"messages": [{"text": "hi", "suggestions": ["a"] * 11}]}, "messages[0].suggestions"),
        ({"messages": [{"text": "hi", "suggestions": ["y" * 65]}]}, "messages[0].suggestions[0]"),
        ({"actions": {"type": "close"}}, "actions"),
        ({"actions": ["close"]}, "actions[0]"),
        ({"actions": [{}]}, "actions[0].type"),
        ({"actions": [{"type": "transfer"}]}, "actions[0].type"),
        ({"actions": [{"type": "close", "message": "bye"}]}, "actions[0]"),
        ({"actions": [{"type": "set_fields"}]}, "actions[0].fields"),
        ({"actions": [{"type": "set_fields", "fields": []}]}, "actions[0].fields"),
        ({"actions": [{"type": "set_fields", "fields": {"Order": "1"}}]}, "actions[0].fields"),
        ({"actions": [{"type": "set_fields", "fields": {"a" * 65: "1"}}]}, "actions[0].fields"),
        ({"actions": [{"type": "set_fields", "fields": {"n": 5}}]}, "actions[0].fields.n"),
        ({"actions": [{"type": "set_fields", "fields": {"n": "v" * 501}}]}, "actions[0].fields.n"),
        (
            {"actions": [{"type": "set_fields", "fields": {f"f{i}": "v" for i in range(31)}}]},
            "actions[0].fields",
        ),
        ({"actions": [{"type": "handoff", "confidence": 1.5}]}, "actions[0].confidence"),
        ({"actions": [{"type": "handoff", "confidence": -0.1}]}, "actions[0].confidence"),
        ({"actions": [{"type": "handoff", "confidence": float("nan")}]}, "actions[0].confidence"),
        ({"actions": [{"type": "handoff", "confidence": True}]}, "actions[0].confidence"),
        ({"actions": [{"type": "handoff", "confidence": 10**400}]}, "actions[0].confidence"),
        ({"actions": [{"type": "handoff", "confidence": "high"}]}, "actions[0].confidence"),
        ({"actions": [{"type": "handoff", "skill": "bill ing"}]}, "actions[0].skill"),
        ({"actions": [{"type": "handoff", "skill": 3}]}, "actions[0].skill"),
        ({"actions": [{"type": "handoff", "reason": ""}]}, "actions[0].reason"),
        ({"actions": [{"type": "handoff", "intent": "i" * 65}]}, "actions[0].intent"),
        ({"actions": [{"type": "handoff", "fields": {}}]}, "actions[0]"),
        ({"actions": [{"type": "handoff"}, {"type": "close"}]}, "actions[1]"),
        ({"actions": [{"type": "close"}, {"type": "close"}]}, "actions[1]"),
        ({"actions": [{"type": "set_fields", "fields": {}}] * 11}, "actions"),
    ],
)
def test_a_bad_answer_is_refused_naming_the_path(answer: object, path: str) -> None:
    assert refused_at(answer) == path


def test_the_refusal_message_says_what_is_wrong_where() -> None:
    with pytest.raises(InvalidInput, match=r"^actions\[0\]\.type: must be one of"):
        parse_answer({"actions": [{"type": "transfer"}]})
    with pytest.raises(InvalidInput, match="unknown key 'buttons'"):
        parse_answer({"messages": [{"text": "hi", "buttons": []}]})


JSON_LIKE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=20)
    | st.sampled_from(["close", "handoff", "set_fields", "text", "type", "messages", "actions"]),
    lambda children: (
        st.lists(children, max_size=5)
        | st.dictionaries(
            st.sampled_from(
                ["messages", "actions", "text", "suggestions", "type", "fields", "reason", "skill"]
            )
            | st.text(max_size=8),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@settings(max_examples=150, deadline=None)
@given(JSON_LIKE)
def test_no_answer_whatever_its_shape_raises_anything_but_invalid_input(answer: object) -> None:
    result = outcome(answer)
    assert isinstance(result, BotAnswer) or result.details["field"]


@settings(max_examples=100, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "messages": st.lists(
                st.fixed_dictionaries(
                    {"text": st.text(min_size=1, max_size=30)},
                    optional={"suggestions": st.lists(st.text(max_size=10), max_size=3)},
                ),
                max_size=3,
            ),
            "actions": st.lists(
                st.one_of(
                    st.fixed_dictionaries(
                        {
                            "type": st.just("set_fields"),
                            "fields": st.dictionaries(
                                st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
                                st.text(max_size=20),
                                max_size=3,
                            ),
                        }
                    ),
                    st.fixed_dictionaries(
                        {"type": st.just("handoff")},
                        optional={
                            "confidence": st.floats(0, 1),
                            "skill": st.from_regex(r"[a-z][a-z0-9_.-]{0,10}", fullmatch=True),
                        },
                    ),
                ),
                max_size=3,
            ),
        },
    )
)
def test_nearly_valid_answers_parse_or_are_refused_cleanly(answer: dict[str, object]) -> None:
    # Shapes close to valid reach deep into the checks (blank texts, two handoffs).
    result = outcome(answer)
    assert isinstance(result, BotAnswer) or result.details["field"]


# --- configuration -------------------------------------------------------------------


def test_a_valid_external_bot_config_is_kept() -> None:
    config = make_external_bot_config("https://bot.acme.example/threadline", 5, "acme_bot")
    assert config == ExternalBotConfig("https://bot.acme.example/threadline", 5.0, "acme_bot")


@pytest.mark.parametrize(
    ("url", "timeout", "secret_name", "field"),
    [
        ("ftp://bot.example/x", 5, "acme", "url"),
        ("https:///no-host", 5, "acme", "url"),
        ("bot.example/hook", 5, "acme", "url"),
        ("https://bot.example/a b", 5, "acme", "url"),
        ("https://user:pw@bot.example/", 5, "acme", "url"),
        ("https://bot.example:99999/", 5, "acme", "url"),
        ("https://[::1/", 5, "acme", "url"),
        ("https://bot.example/" + "x" * 2048, 5, "acme", "url"),
        (None, 5, "acme", "url"),
        ("https://bot.example/", 0.4, "acme", "timeout"),
        ("https://bot.example/", 31, "acme", "timeout"),
        ("https://bot.example/", float("inf"), "acme", "timeout"),
        ("https://bot.example/", True, "acme", "timeout"),
        ("https://bot.example/", "5", "acme", "timeout"),
        ("https://bot.example/", 5, "1acme", "secret_name"),
        ("https://bot.example/", 5, "acme-bot", "secret_name"),
        ("https://bot.example/", 5, "", "secret_name"),
        ("https://bot.example/", 5, "a" * 65, "secret_name"),
    ],
)
def test_a_bad_external_bot_config_is_refused_naming_the_setting(
    url: object, timeout: object, secret_name: object, field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        make_external_bot_config(url, timeout, secret_name)
    assert caught.value.details["field"] == field
