"""Intent recognition: patterns first, then a classifier trained from the flow's examples
that falls back on off-topic messages; and spotting a customer who asks for a person."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from threadline.core.bots.flow import Flow, Intent
from threadline.core.bots.intents import (
    OUT_OF_SCOPE_PHRASES,
    Recognition,
    Recognizer,
    asks_for_human,
)
from threadline.core.bots.load import load_flow
from threadline.core.errors import InvalidInput

DEMO_FLOW = Path(__file__).resolve().parents[3] / "src/threadline/bots/demo_flow.yaml"


def demo_flow() -> Flow:
    return load_flow(DEMO_FLOW.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def demo() -> Recognizer:
    flow = demo_flow()
    return Recognizer.train(flow.intents, threshold=flow.threshold, language=flow.language)


HOURS = Intent(
    "opening_hours",
    examples=(
        "what are your opening hours",
        "when are you open",
        "what time do you close",
        "are you open on sunday",
        "a qué hora abren",
    ),
)
ORDERS = Intent(
    "order_status",
    examples=(
        "where is my order",
        "has my parcel shipped",
        "my package has not arrived",
        "track my delivery",
        "dónde está mi pedido",
    ),
    patterns=(r"\bA-\d{5}\b",),
)


# -- patterns -------------------------------------------------------------------------------


def test_a_pattern_wins_over_the_classifier_with_full_confidence() -> None:
    recognizer = Recognizer.train([HOURS, ORDERS], threshold=0.5)
    # Everything but the order number says opening hours.
    recognition = recognizer.recognize("what time do you close? A-12345")
    assert recognition == Recognition("order_status", 1.0, "pattern")


def test_patterns_ignore_case_and_extra_spaces() -> None:
    intent = Intent("returns", examples=(), patterns=(r"\breturn policy\b",))
    recognizer = Recognizer.train([intent, HOURS], threshold=0.5)
    assert recognizer.recognize("  What is your RETURN    policy?  ").intent == "returns"


def test_the_first_intent_whose_pattern_matches_wins() -> None:
    first = Intent("first", examples=(), patterns=(r"\border\b",))
    second = Intent("second", examples=(), patterns=(r"\bmy order\b",))
    recognizer = Recognizer.train([first, second], threshold=0.5)
    assert recognizer.recognize("my order").intent == "first"


def test_a_flow_with_patterns_only_recognises_them_and_falls_back_otherwise() -> None:
    intent = Intent("hours", examples=(), patterns=(r"\bhours\b",))
    recognizer = Recognizer.train([intent], threshold=0.5)
    assert recognizer.recognize("your hours?") == Recognition("hours", 1.0, "pattern")
    assert recognizer.recognize("where is my order") == Recognition(None, 0.0, "none")


def test_a_pattern_that_does_not_compile_is_invalid_input() -> None:
    intent = Intent("broken", examples=("a b", "c d"), patterns=("(unclosed",))
    with pytest.raises(InvalidInput) as caught:
        Recognizer.train([intent], threshold=0.5)
    assert caught.value.details["field"] == "patterns"
    assert "broken" in caught.value.message


@pytest.mark.parametrize("threshold", [-0.1, 1.5])
def test_a_threshold_outside_zero_to_one_is_invalid_input(threshold: float) -> None:
    with pytest.raises(InvalidInput):
        Recognizer.train([HOURS], threshold=threshold)


# -- the classifier -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("has my order been sent yet", "order_status"),
        ("my parcel still hasn't come", "order_status"),
        ("please send my order to another address", "order_address_change"),
        ("I wrote the wrong address", "order_address_change"),
        ("what time do you open on saturday", "opening_hours"),
        ("a qué hora cerráis hoy", "opening_hours"),
        ("I'd like to return these trousers", "returns_policy"),
        ("quiero devolver un vestido", "returns_policy"),
        ("how much is it to ship to portugal", "delivery_times"),
        ("do you do next day shipping", "delivery_times"),
        ("I was charged twice for one order", "talk_to_agent"),
    ],
)
def test_the_classifier_recognises_clear_requests(demo: Recognizer, text: str, intent: str) -> None:
    recognition = demo.recognize(text)
    assert (recognition.intent, recognition.by) == (intent, "classifier")
    assert recognition.confidence >= demo_flow().threshold


@pytest.mark.parametrize(
    "text",
    [
        "what's the weather in Madrid",
        "tell me a story",
        "qwertyuiop",
        "zxcvb zxcvb",
        "hi there",
        "who is the president of france",
        "cuéntame un cuento",
        "thank you very much",
    ],
)
def test_off_topic_messages_and_gibberish_fall_back(demo: Recognizer, text: str) -> None:
    recognition = demo.recognize(text)
    assert recognition.intent is None
    assert recognition.by == "none"
    assert 0.0 <= recognition.confidence < 1.0


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_an_empty_message_falls_back_with_no_confidence(demo: Recognizer, text: str) -> None:
    assert demo.recognize(text) == Recognition(None, 0.0, "none")


def test_a_recognition_below_the_threshold_falls_back_with_its_confidence() -> None:
    text = "when do you close on sunday"
    lenient = Recognizer.train([HOURS, ORDERS], threshold=0.0).recognize(text)
    assert lenient.intent == "opening_hours"
    assert lenient.by == "classifier"
    strict = Recognizer.train([HOURS, ORDERS], threshold=0.99).recognize(text)
    assert lenient.confidence < 0.99
    assert strict == Recognition(None, lenient.confidence, "none")


def test_the_out_of_scope_class_is_never_returned_as_an_intent(demo: Recognizer) -> None:
    # Zero threshold: only the out-of-scope class can make these fall back.
    flow = demo_flow()
    lenient = Recognizer.train(flow.intents, threshold=0.0)
    for phrase in ("tell me a joke", "asdf", "hola"):
        assert lenient.recognize(phrase).intent is None


def test_training_twice_on_the_same_flow_recognises_the_same_way() -> None:
    flow = demo_flow()
    texts = ["my order is late", "cambiar dirección", "are you open", "tell me a joke", "eh"]
    first = Recognizer.train(flow.intents, threshold=flow.threshold)
    second = Recognizer.train(flow.intents, threshold=flow.threshold)
    assert [first.recognize(t) for t in texts] == [second.recognize(t) for t in texts]


def test_a_flow_with_one_intent_recognises_it_and_falls_back_on_the_rest() -> None:
    recognizer = Recognizer.train([HOURS], threshold=0.5)
    assert recognizer.recognize("are you open tomorrow").intent == "opening_hours"
    assert recognizer.recognize("tell me a joke").intent is None


def test_a_flow_may_claim_a_shipped_out_of_scope_phrase_as_an_example() -> None:
    assert "hola" in OUT_OF_SCOPE_PHRASES
    greeting = Intent("greeting", examples=("hola", "hello", "hi", "buenos días", "hey"))
    recognizer = Recognizer.train([greeting, HOURS], threshold=0.3)
    assert recognizer.recognize("hola").intent == "greeting"


def test_training_twenty_intents_of_thirty_examples_is_quick() -> None:
    flow = demo_flow()
    # 20 intents of 30 examples: the demo's, relabelled and varied, so the classifier
    # has as many classes and rows to fit as a large flow.
    intents = [
        Intent(f"{source.name}_{copy}", tuple(f"{e} {copy}" for e in source.examples[:30]))
        for copy in range(4)
        for source in flow.intents
    ][:20]
    Recognizer.train(intents[:2], threshold=0.5)  # imports scikit-learn
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        Recognizer.train(intents, threshold=0.5)
        timings.append(time.perf_counter() - started)
    # About 0.1 s measured; generous so a busy machine does not fail it, while a change
    # that made training several times slower (the lbfgs solver, threads) would.
    assert min(timings) < 0.5, timings


# -- asking for a person --------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "agent",
        "AGENT!!",
        "human please",
        "I want to talk to a human",
        "can I speak to a real person?",
        "is there a live agent",
        "representative",
        "operator",
        "let me talk to someone",
        "could you put me through to somebody",
        "customer service",
        "someone please",
        "a person",
        "quiero hablar con un agente",
        "Quiero hablar con un AGENTE",
        "pásame con una persona",
        "necesito hablar con alguien",
        "un humano por favor",
        "persona real",
        "atención al cliente",
        "atencion al cliente",
        "operador",
        "representante por favor",
    ],
)
def test_asking_for_a_person_is_recognised(text: str) -> None:
    assert asks_for_human(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "where is my order",
        "humanity is doomed",
        "agentic workflows",
        "management approved my refund",
        "someone stole my parcel",
        "I bought it as a gift for a person I know",
        "my personal details are wrong",
        "the agenda for today",
        "la persona que recibió el paquete no era yo",
        "alguien dejó el paquete en la puerta",
        "humanidad",
        "quiero devolver un producto",
    ],
)
def test_words_that_only_look_like_asking_for_a_person_are_not(text: str) -> None:
    assert not asks_for_human(text)


def test_some_false_positives_are_accepted_as_cheaper_than_trapping_a_customer() -> None:
    # Documented in the module: a needless handoff is the lesser harm.
    assert asks_for_human("my travel agent booked it")
    assert asks_for_human("what is my agent number")


@pytest.mark.parametrize(
    ("text", "extra", "expected"),
    [
        ("I want to speak to a manager", ["speak to a manager"], True),
        ("SPEAK TO A MANAGER!!!", ["speak to a manager"], True),
        ("quiero hablar con el supervisor", ["hablar con el supervisor"], True),
        ("la queja va al departamento de reclamación", ["departamento de reclamacion"], True),
        ("I'd like to speak to a manager", [], False),
        ("speak to a managerial type", ["speak to a manager"], False),
        ("where is my order", ["", "   "], False),
    ],
)
def test_the_flows_own_phrases_match_as_whole_words(
    text: str, extra: list[str], expected: bool
) -> None:
    assert asks_for_human(text, extra) is expected
