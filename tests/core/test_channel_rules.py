"""Compliance keywords, messaging windows and rich-reply fallbacks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadline.core.consent import Keyword, keyword_of
from threadline.core.errors import Conflict, InvalidInput
from threadline.core.rich import clean_suggestions, render_template, with_numbered_options
from threadline.core.windows import WindowRule, check_window

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
WHATSAPP = WindowRule(timedelta(hours=24), templates_outside=True)
MESSENGER = WindowRule(
    timedelta(hours=24), tags={"HUMAN_AGENT": timedelta(days=7), "ACCOUNT_UPDATE": None}
)


@pytest.mark.parametrize(
    ("text", "keyword"),
    [
        ("STOP", Keyword.OPT_OUT),
        (" stop ", Keyword.OPT_OUT),
        ("Stop.", Keyword.OPT_OUT),
        ("s t o p", Keyword.OPT_OUT),
        ("StopAll", Keyword.OPT_OUT),
        ("unsubscribe", Keyword.OPT_OUT),
        ("Cancel", Keyword.OPT_OUT),
        ("end", Keyword.OPT_OUT),
        ("QUIT!", Keyword.OPT_OUT),
        ("start", Keyword.OPT_IN),
        ("UNSTOP", Keyword.OPT_IN),
        ("help", Keyword.HELP),
        ("Info", Keyword.HELP),
        ("please stop texting me", None),
        ("yes", None),
        ("stopping by later", None),
        ("", None),
    ],
)
def test_a_keyword_is_the_whole_message_whatever_its_case_and_spacing(
    text: str, keyword: Keyword | None
) -> None:
    assert keyword_of(text) is keyword


@given(st.text(max_size=40))
def test_any_message_with_a_letter_beyond_the_keyword_is_not_a_keyword(text: str) -> None:
    found = keyword_of(text)
    if found is not None:
        squeezed = "".join(text.split()).upper().rstrip(".!")
        assert squeezed in {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"} | {
            "START",
            "UNSTOP",
            "HELP",
            "INFO",
        }


def test_whatsapp_takes_free_text_for_24_hours_then_only_templates() -> None:
    check_window(WHATSAPP, NOW - timedelta(hours=23), NOW, template=False, tag=None)
    with pytest.raises(Conflict) as refused:
        check_window(WHATSAPP, NOW - timedelta(hours=25), NOW, template=False, tag=None)
    assert refused.value.code == "template_required"
    check_window(WHATSAPP, NOW - timedelta(days=30), NOW, template=True, tag=None)
    with pytest.raises(Conflict):  # a customer who never wrote has no window
        check_window(WHATSAPP, None, NOW, template=False, tag=None)


def test_messenger_outside_the_window_needs_a_tag_and_human_agent_lasts_seven_days() -> None:
    with pytest.raises(Conflict) as refused:
        check_window(MESSENGER, NOW - timedelta(hours=30), NOW, template=False, tag=None)
    assert refused.value.code == "message_tag_required"
    check_window(MESSENGER, NOW - timedelta(days=6), NOW, template=False, tag="HUMAN_AGENT")
    with pytest.raises(Conflict) as late:
        check_window(MESSENGER, NOW - timedelta(days=8), NOW, template=False, tag="HUMAN_AGENT")
    assert late.value.code == "window_closed"
    check_window(MESSENGER, NOW - timedelta(days=80), NOW, template=False, tag="ACCOUNT_UPDATE")
    with pytest.raises(InvalidInput):
        check_window(MESSENGER, NOW, NOW, template=False, tag="NOT_A_TAG")
    with pytest.raises(InvalidInput):
        check_window(MESSENGER, NOW, NOW, template=True, tag=None)


def test_channels_without_a_window_refuse_tags_and_templates_but_take_text() -> None:
    check_window(None, None, NOW, template=False, tag=None)
    with pytest.raises(InvalidInput):
        check_window(None, None, NOW, template=True, tag=None)
    with pytest.raises(InvalidInput):
        check_window(None, None, NOW, template=False, tag="HUMAN_AGENT")


def test_templates_take_exactly_one_value_per_placeholder() -> None:
    body = "Hi {{1}}, your order {{2}} has shipped."
    assert render_template(body, ("Ana", "A-17")) == "Hi Ana, your order A-17 has shipped."
    for wrong in [(), ("Ana",), ("Ana", "A-17", "extra")]:
        with pytest.raises(InvalidInput):
            render_template(body, wrong)
    with pytest.raises(InvalidInput):
        render_template("Hi {{2}}", ("x",))


def test_suggestions_fall_back_to_numbered_options_in_plain_text() -> None:
    options = clean_suggestions([" Track order ", "Talk to us"])
    assert with_numbered_options("How can we help?", options) == (
        "How can we help?\n\n1. Track order\n2. Talk to us"
    )
    for bad in [[""], ["x" * 26], ["a", "a"], [str(i) for i in range(11)]]:
        with pytest.raises(InvalidInput):
            clean_suggestions(bad)
