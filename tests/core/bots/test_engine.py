"""The virtual agent's engine, step type by step type, on a small flow: no I/O, time
and codes are parameters, lookups are calls the test answers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from threadline.adapters.lexicons import shipped_classifier
from threadline.core.bots.engine import CallResult, Context, Engine, Progress
from threadline.core.bots.hours import hours_from_json
from threadline.core.bots.intents import Recognizer
from threadline.core.bots.load import load_flow
from threadline.core.bots.outcome import Finish, HandoffReason, HandTo
from threadline.core.bots.state import Awaiting, BotState
from threadline.core.bots.summary import summarize
from threadline.core.verification import Verification

FLOW = """
name: Test bot
messages:
  greeting: Hello!
  fallback: Sorry?
  handoff: Passing you on.
  out_of_hours: Back {reopens}. What do you need?
  closing_question: Anything else?
  closing: Bye.
  code_sent: Code sent to {to}.
  code_wrong: Wrong code.
  code_expired: Expired, new code sent.
  verified: Verified.
code_delivery:
  url: https://shop.example/codes
  attempts: 3
  expires_minutes: 5
intents:
  hours:
    examples: [when are you open, opening hours, what time do you close, are you open today]
    answer: We open at nine.
  order:
    skill: orders
    patterns: ["\\\\border\\\\b"]
    examples: [where is my parcel, track my package]
    steps:
      - ask: number
        prompt: Your order number?
        type: pattern
        pattern: "A-\\\\d{3}"
        error: Like A-123, please.
      - lookup: order
        url: "https://shop.example/orders/{number}"
        save: {status: status, phone: customer.phone}
        not_found: No order {number}.
      - verify: "{phone}"
      - say: "Order {number} is {status}."
  refund:
    examples: [i want a refund, money back please]
    then: handoff
    steps:
      - say: Refunds need a person.
  cancel:
    examples: [cancel my subscription, stop my plan]
    steps:
      - handoff: {message: A colleague cancels it., skill: billing}
  bye:
    examples: [goodbye now, see you later]
    steps:
      - close: See you.
routines:
  pay:
    steps:
      - ask: card
        prompt: Card number?
        type: card
      - lookup: pay
        url: https://shop.example/pay
        method: POST
    done: Paid.
"""
NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday


@pytest.fixture(scope="module")
def engine() -> Engine:
    flow = load_flow(FLOW)
    recognizer = Recognizer.train(flow.intents, threshold=flow.threshold, language="en")
    return Engine(flow, recognizer, shipped_classifier())


def ctx(**changes: object) -> Context:
    base = Context(
        now=NOW,
        verification=Verification.IDENTIFIED,
        default_skill="general",
        new_code="246810",
        code_salt="salt",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def texts(p: Progress) -> list[str]:
    return [r.text for r in p.answer.replies]


def say(engine: Engine, state: BotState, text: str, **changes: object) -> Progress:
    return engine.on_message(state, text, ctx(**changes))


GREETED = BotState(greeted=True)


def test_the_first_message_is_greeted_and_a_hello_alone_is_not_a_fallback(engine: Engine) -> None:
    p = say(engine, BotState(), "hi there")
    assert texts(p) == ["Hello!"]
    assert p.state.greeted
    assert p.state.fallbacks == 0
    assert p.answer.end is None


def test_an_faq_is_answered_then_anything_else_and_a_no_finishes(engine: Engine) -> None:
    p = say(engine, GREETED, "what are your opening hours")
    assert texts(p) == ["We open at nine.", "Anything else?"]
    assert p.state.awaiting is Awaiting.ANYTHING_ELSE
    done = say(engine, p.state, "no thanks")
    assert texts(done) == ["Bye."]
    assert isinstance(done.answer.end, Finish)


def test_something_more_after_anything_else_is_a_new_request(engine: Engine) -> None:
    p = say(engine, GREETED, "opening hours please")
    p = say(engine, p.state, "i want a refund")
    assert texts(p)[0] == "Refunds need a person."
    assert isinstance(p.answer.end, HandTo)
    assert p.answer.end.reason is HandoffReason.FLOW


def test_an_answer_that_does_not_validate_is_asked_again_and_twice_hands_over(
    engine: Engine,
) -> None:
    p = say(engine, GREETED, "where is my order")
    assert texts(p) == ["Your order number?"]
    assert p.state.awaiting is Awaiting.ANSWER
    p = say(engine, p.state, "I don't know it")
    assert texts(p) == ["Like A-123, please.", "Your order number?"]
    assert p.state.fallbacks == 1
    p = say(engine, p.state, "still don't")
    assert isinstance(p.answer.end, HandTo)
    assert p.answer.end.reason is HandoffReason.FALLBACKS
    assert p.answer.end.skill == "orders"


def test_a_valid_answer_leads_to_a_lookup_with_the_value_encoded(engine: Engine) -> None:
    p = say(engine, GREETED, "where is my order")
    p = say(engine, p.state, "it is A-123")
    assert p.state.fields["number"] == "A-123"
    assert p.call is not None
    assert (p.call.purpose, p.call.method) == ("lookup", "GET")
    assert p.call.url == "https://shop.example/orders/A-123"


def test_a_lookup_saves_fields_from_the_answer(engine: Engine) -> None:
    proven = replace(GREETED, verified_to="+15550001234")
    p = say(engine, proven, "where is my order")
    p = say(engine, p.state, "A-123")
    answer = {"status": "shipped", "customer": {"phone": "+15550001234"}}
    p = engine.on_call(p.state, CallResult(200, answer), ctx())
    assert p.state.fields["status"] == "shipped"
    assert p.state.fields["phone"] == "+15550001234"
    # Proven for this address already: the step-up is skipped and the result read back.
    assert texts(p) == ["Order A-123 is shipped.", "Anything else?"]


@pytest.mark.parametrize(
    ("state", "level"),
    [
        (replace(GREETED, verified_to="+15550009999"), Verification.IDENTIFIED),
        (GREETED, Verification.VERIFIED),
    ],
    ids=["proven for another address", "a signed identity"],
)
def test_a_step_up_for_one_record_proves_nothing_for_another(
    engine: Engine, state: BotState, level: Verification
) -> None:
    p = say(engine, state, "where is my order")
    p = say(engine, p.state, "A-123")
    answer = {"status": "shipped", "customer": {"phone": "+15550001234"}}
    p = engine.on_call(p.state, CallResult(200, answer), ctx(verification=level))
    assert p.call is not None
    assert p.call.purpose == "code"
    assert not any("shipped" in t for t in texts(p))


def test_a_lookup_that_finds_nothing_asks_again(engine: Engine) -> None:
    p = say(engine, GREETED, "where is my order")
    p = say(engine, p.state, "A-999")
    p = engine.on_call(p.state, CallResult(404, {"error": "not_found"}), ctx())
    assert texts(p) == ["No order A-999.", "Your order number?"]
    assert p.state.awaiting is Awaiting.ANSWER


@pytest.mark.parametrize(
    "result",
    [CallResult(500, None, "answered 500"), CallResult(None, None, "timed out after 5.0 s")],
)
def test_a_lookup_that_fails_hands_over_saying_why(engine: Engine, result: CallResult) -> None:
    p = say(engine, GREETED, "where is my order")
    p = say(engine, p.state, "A-123")
    p = engine.on_call(p.state, result, ctx())
    assert isinstance(p.answer.end, HandTo)
    assert p.answer.end.reason is HandoffReason.LOOKUP_FAILED
    assert result.error is not None
    assert result.error in (p.answer.end.detail or "")


def at_code(engine: Engine) -> Progress:
    p = say(engine, GREETED, "where is my order")
    p = say(engine, p.state, "A-123")
    answer = {"status": "shipped", "customer": {"phone": "+15550001234"}}
    p = engine.on_call(p.state, CallResult(200, answer), ctx())
    assert p.call is not None
    assert p.call.purpose == "code"
    assert p.call.body == {"to": "+15550001234", "code": "246810"}
    p = engine.on_call(p.state, CallResult(202, None), ctx())
    assert texts(p) == ["Code sent to the number ending 1234."]
    assert p.state.awaiting is Awaiting.CODE
    # Only a digest of the code is kept.
    assert "246810" not in str(p.state.as_json())
    return p


def test_the_right_code_verifies_and_the_flow_goes_on(engine: Engine) -> None:
    p = say(engine, at_code(engine).state, "it's 246 810")
    assert p.answer.verified
    assert texts(p) == ["Verified.", "Order A-123 is shipped.", "Anything else?"]


def test_three_wrong_codes_hand_over_and_nothing_behind_the_step_up_is_said(
    engine: Engine,
) -> None:
    p = at_code(engine)
    p = say(engine, p.state, "111111")
    assert texts(p) == ["Wrong code."]
    p = say(engine, p.state, "222222")
    p = say(engine, p.state, "333333")
    assert isinstance(p.answer.end, HandTo)
    assert p.answer.end.reason is HandoffReason.VERIFICATION_FAILED
    assert not any("shipped" in t for t in texts(p))
    assert not p.answer.verified


def test_an_expired_code_is_replaced_and_counts_as_a_try(engine: Engine) -> None:
    p = at_code(engine)
    later = NOW + timedelta(minutes=6)
    p = say(engine, p.state, "246810", now=later, new_code="135790")
    assert texts(p) == ["Expired, new code sent."]
    assert p.call is not None
    assert p.call.body == {"to": "+15550001234", "code": "135790"}
    assert p.state.code is not None
    assert p.state.code.tries_left == 2


def test_an_answer_missing_a_saved_field_hands_over_rather_than_say_a_blank(
    engine: Engine,
) -> None:
    p = say(engine, GREETED, "where is my order")
    p = say(engine, p.state, "A-123")
    p = engine.on_call(p.state, CallResult(200, {"status": "x", "customer": {}}), ctx())
    # No phone on file: nothing to send a code to, nor a text to fill.
    assert isinstance(p.answer.end, HandTo)
    assert p.answer.end.reason is HandoffReason.LOOKUP_FAILED
    assert p.answer.end.detail == "order: the answer had no customer.phone"


def test_a_saved_path_may_index_a_list() -> None:
    flow = load_flow(
        """
name: Lister
messages: {greeting: Hi}
intents:
  latest:
    patterns: ["latest order"]
    steps:
      - lookup: orders
        url: https://shop.example/orders
        save: {first: items.0.name}
      - say: "Your latest order is {first}."
"""
    )
    lister = Engine(flow, Recognizer.train(flow.intents, threshold=0.5), shipped_classifier())
    p = lister.on_message(GREETED, "my latest order?", ctx())
    assert p.call is not None
    answer = {"items": [{"name": "boots"}, {"name": "socks"}]}
    p = lister.on_call(p.state, CallResult(200, answer), ctx())
    assert texts(p)[0] == "Your latest order is boots."


def test_numbers_that_find_no_record_count_as_misunderstandings(engine: Engine) -> None:
    p = say(engine, GREETED, "where is my order")
    p = say(engine, p.state, "A-998")
    p = engine.on_call(p.state, CallResult(404, None), ctx())
    assert p.answer.end is None
    p = say(engine, p.state, "A-997")
    p = engine.on_call(p.state, CallResult(404, None), ctx())
    assert isinstance(p.answer.end, HandTo)
    assert p.answer.end.reason is HandoffReason.FALLBACKS


def test_a_handoff_step_names_its_queue(engine: Engine) -> None:
    p = say(engine, GREETED, "cancel my subscription")
    assert texts(p) == ["A colleague cancels it."]
    assert isinstance(p.answer.end, HandTo)
    assert (p.answer.end.reason, p.answer.end.skill) == (HandoffReason.FLOW, "billing")


def test_a_close_step_finishes(engine: Engine) -> None:
    p = say(engine, GREETED, "goodbye now")
    assert texts(p) == ["See you."]
    assert isinstance(p.answer.end, Finish)


@pytest.mark.parametrize("words", ["agent", "I want a HUMAN!", "quiero hablar con una persona"])
def test_asking_for_a_person_hands_over_at_any_step(engine: Engine, words: str) -> None:
    p = say(engine, GREETED, "where is my order")
    p = say(engine, p.state, words)
    assert isinstance(p.answer.end, HandTo)
    assert p.answer.end.reason is HandoffReason.CUSTOMER_ASKED
    assert p.answer.end.intent == "order"


def test_out_of_hours_the_bot_says_when_the_team_is_back_and_hands_over_now(
    engine: Engine,
) -> None:
    hours = hours_from_json({"timezone": "Europe/Madrid", "weekly": {"mon": ["12:00-18:00"]}})
    p = say(engine, GREETED, "agent please", hours={"general": hours})
    assert texts(p) == ["Back today at 12:00 (Europe/Madrid). What do you need?"]
    end = p.answer.end
    assert isinstance(end, HandTo)
    assert (end.reason, end.out_of_hours) == (HandoffReason.CUSTOMER_ASKED, True)


def test_a_routine_ignores_the_queues_hours(engine: Engine) -> None:
    closed = hours_from_json({"timezone": "Europe/Madrid", "weekly": {"sun": ["12:00-13:00"]}})
    p = engine.start_routine("pay", GREETED, ctx(hours={"general": closed}))
    p = say(engine, p.state, "I want a human", hours={"general": closed})
    assert isinstance(p.answer.end, HandTo)
    assert not p.answer.end.out_of_hours
    assert texts(p) == ["Passing you on."]


def test_a_routine_collects_a_secure_answer_masked_and_returns_with_it(engine: Engine) -> None:
    p = engine.start_routine("pay", GREETED, ctx())
    assert texts(p) == ["Card number?"]
    assert str(engine.awaiting_secure(p.state)) == "card"
    p = say(engine, p.state, "4111 1111 1111 1111")
    assert p.state.fields["card"] == "•••• 1111"
    assert p.call is not None
    assert p.call.body is not None
    assert p.call.body["card"] == "4111111111111111"  # only the lookup sees it in clear
    p = engine.on_call(p.state, CallResult(200, {"ok": True}), ctx())
    assert texts(p) == ["Paid."]
    assert isinstance(p.answer.end, HandTo)
    assert p.answer.end.reason is HandoffReason.ROUTINE_DONE
    assert p.state.secure == {}
    assert "4111111111111111" not in str(p.state.as_json())


def test_the_state_survives_its_json(engine: Engine) -> None:
    p = at_code(engine)
    assert BotState.from_json(p.state.as_json()) == p.state
    proven = replace(p.state, verified_to="+15550001234", flow="2026-03-02T10:00:00+00:00")
    assert BotState.from_json(proven.as_json()) == proven


def test_the_summary_says_what_was_asked_given_and_why_a_human_has_it() -> None:
    hand = HandTo(HandoffReason.LOOKUP_FAILED, intent="order", confidence=0.8, detail="timeout")
    text = summarize(hand, fields={"number": "A-123"}, verification=Verification.IDENTIFIED)
    assert "asked about order (order, 80% sure)" in text
    assert "number: A-123" in text
    assert "do not disclose account details" in text
    assert "A look-up in our systems failed (timeout)." in text
