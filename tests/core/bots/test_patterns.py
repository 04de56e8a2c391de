"""A flow's patterns are matched with a time limit: a badly written one costs the
customer a fallback, never the server its event loop."""

from __future__ import annotations

from datetime import date

import pytest

from threadline.core.bots.fields import validate
from threadline.core.bots.flow import Ask, FieldKind, Intent
from threadline.core.bots.intents import Recognizer
from threadline.core.bots.patterns import compile_pattern, fullmatch, search

CATASTROPHIC = ["(x+x+)+y", r"^(\w+\s?)*$", "(a|aa)+$"]


@pytest.mark.parametrize("source", CATASTROPHIC)
def test_a_catastrophic_pattern_gives_up_as_no_match(source: str) -> None:
    pattern = compile_pattern(source)
    text = "x" * 3000 if "x" in source else "a" * 3000 + "!"
    assert search(pattern, text) is None
    assert fullmatch(pattern, text) is False


def test_patterns_match_as_re_would() -> None:
    assert search(compile_pattern(r"A-\d{5}"), "it's A-12345 please") == "A-12345"
    assert fullmatch(compile_pattern(r"A-\d{5}"), "A-12345")
    assert search(compile_pattern("order", ignore_case=True), "ORDER status") == "ORDER"


def test_an_intent_pattern_cannot_stall_recognition() -> None:
    intent = Intent("slow", examples=(), patterns=("(x+x+)+y",))
    recognizer = Recognizer.train([intent], threshold=0.5)
    assert recognizer.recognize("x" * 4000).intent is None


def test_an_answer_pattern_cannot_stall_validation() -> None:
    ask = Ask("code", "Code?", kind=FieldKind.PATTERN, pattern="(x+x+)+y")
    assert validate(ask, "x" * 4000, date(2026, 3, 2)) is None
