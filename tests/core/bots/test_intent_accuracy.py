"""The demo flow's intent recognition measured on a labelled set of customer messages.

tests/data/bots/intents_labelled.tsv: 200 messages written apart from the flow's examples
(none is a copy of one; typos, rambling, Spanish), each with the intent it should get,
`-` for "should fall back" (off-topic: 40 rows; a handful of them, the commonest single
words like "hola" and "ok", are also in the shipped out-of-scope phrases) or `@human` for
a request for a person (20 rows). A message is judged as the bot would: a request for a
person first, then the recognizer.

The figures, per intent as well: `.venv/bin/pytest -n0 -s tests/core/bots/test_intent_accuracy.py`
Measured (scikit-learn 1.9, threshold 0.4 in the demo flow): accuracy 0.940 (188/200),
in-scope fallbacks 0.079 (11/140), wrong intents 0.007 (1/140), out-of-scope false
accepts 0.000 (0/40), requests for a person 20/20. The bounds below leave a few points.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from tests.core.bots.test_intents import demo_flow
from threadline.core.bots.flow import Flow
from threadline.core.bots.intents import Recognizer, asks_for_human

LABELLED = Path(__file__).resolve().parents[2] / "data/bots/intents_labelled.tsv"
FALLBACK = "-"
HUMAN = "@human"

# Bounds a few points from the measured figures (module docstring). A wrong confident
# answer is worse than a fallback, so the wrong-intent and false-accept bounds are tight.
MIN_ACCURACY = 0.90
MAX_IN_SCOPE_FALLBACKS = 0.12
MAX_WRONG_INTENTS = 0.03
MAX_FALSE_ACCEPTS = 0.05
MIN_HUMAN_RECALL = 0.95


def _rows() -> list[tuple[str, str]]:
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [(row["text"], row["expected_intent"]) for row in reader]


def _judge(flow: Flow, recognizer: Recognizer, text: str) -> str:
    if asks_for_human(text, flow.escalation_phrases):
        return HUMAN
    return recognizer.recognize(text).intent or FALLBACK


@pytest.fixture(scope="module")
def figures() -> dict[str, float]:
    flow = demo_flow()
    recognizer = Recognizer.train(flow.intents, threshold=flow.threshold, language=flow.language)
    judged = [(text, expected, _judge(flow, recognizer, text)) for text, expected in _rows()]
    in_scope = [(e, got) for _, e, got in judged if e not in (FALLBACK, HUMAN)]
    out_of_scope = [got for _, e, got in judged if e == FALLBACK]
    humans = [got for _, e, got in judged if e == HUMAN]
    result = {
        "accuracy": sum(e == got for _, e, got in judged) / len(judged),
        "in_scope_fallbacks": sum(got == FALLBACK for _, got in in_scope) / len(in_scope),
        "wrong_intents": sum(got not in (e, FALLBACK) for e, got in in_scope) / len(in_scope),
        "false_accepts": sum(got != FALLBACK for got in out_of_scope) / len(out_of_scope),
        "human_recall": sum(got == HUMAN for got in humans) / len(humans),
    }
    totals = Counter(e for e, _ in in_scope)
    hits = Counter(e for e, got in in_scope if e == got)
    print()
    for name, value in result.items():
        print(f"{name}: {value:.3f}")
    for name in sorted(totals):
        print(f"recall {name}: {hits[name] / totals[name]:.3f} ({hits[name]}/{totals[name]})")
    for text, expected, got in judged:
        if got != expected:
            print(f"  {expected} -> {got}: {text}")
    return result


def test_the_labelled_set_is_written_apart_from_the_examples_and_covers_every_outcome() -> None:
    flow = demo_flow()
    rows = _rows()
    examples = {e.casefold() for intent in flow.intents for e in intent.examples}
    assert [text for text, _ in rows if text.casefold() in examples] == []
    labels = Counter(expected for _, expected in rows)
    assert set(labels) == {intent.name for intent in flow.intents} | {FALLBACK, HUMAN}
    assert len(rows) >= 200
    assert labels[FALLBACK] >= 40
    assert labels[HUMAN] >= 20
    assert len({text for text, _ in rows}) == len(rows)


def test_the_demo_flow_recognises_most_requests(figures: dict[str, float]) -> None:
    assert figures["accuracy"] >= MIN_ACCURACY


def test_few_real_requests_fall_back(figures: dict[str, float]) -> None:
    assert figures["in_scope_fallbacks"] <= MAX_IN_SCOPE_FALLBACKS


def test_a_real_request_is_rarely_answered_as_another_intent(figures: dict[str, float]) -> None:
    assert figures["wrong_intents"] <= MAX_WRONG_INTENTS


def test_off_topic_messages_fall_back(figures: dict[str, float]) -> None:
    assert figures["false_accepts"] <= MAX_FALSE_ACCEPTS


def test_requests_for_a_person_are_recognised(figures: dict[str, float]) -> None:
    assert figures["human_recall"] >= MIN_HUMAN_RECALL
