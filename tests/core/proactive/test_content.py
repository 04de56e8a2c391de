"""Content rules: collections carry an opt-out notice (Regulation F, 1006.6(e)); SMS
marketing names the sender and how to opt out (CTIA); replies are not carrier keywords."""

from __future__ import annotations

from typing import Any

import pytest

from threadline.core.errors import InvalidInput
from threadline.core.proactive.content import (
    MalformedText,
    Slot,
    has_opt_out_notice,
    pieces,
    reply_key,
    reply_word_problem,
)
from threadline.core.proactive.templates import parse_template


def template(purpose: str, *variants: tuple[str, str | None, str], **more: Any) -> dict[str, Any]:
    return {
        "name": "n",
        "purpose": purpose,
        "variants": [
            {"language": lang, "channel": ch, "text": text} for lang, ch, text in variants
        ],
        **more,
    }


def problems(doc: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        parse_template(doc)
    found = caught.value.details["problems"]
    assert isinstance(found, list)
    return [(p["field"], p["message"]) for p in found]


# -- opt-out notices -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Your payment is due. Reply STOP to stop these texts.",
        "Text STOP to end.",
        "To opt out of texts, reply 'STOP'.",
        "Opt-out: reply END.",
        "Unsubscribe: acme.example/u",
        "Reply \u201cSTOP\u201d to opt out",
        "reply\n stop",
    ],
)
def test_english_opt_out_phrases_are_recognised(text: str) -> None:
    assert has_opt_out_notice(text, "en")
    assert has_opt_out_notice(text, "en-US")


@pytest.mark.parametrize(
    "text",
    [
        "Su pago vence hoy. Responda STOP para no recibir más mensajes.",
        "Envíe STOP para salir.",
        "Para darse de BAJA, escriba BAJA.",
        "Cancelar suscripción: acme.example/u",
    ],
)
def test_spanish_opt_out_phrases_are_recognised_in_any_region(text: str) -> None:
    assert has_opt_out_notice(text, "es")
    assert has_opt_out_notice(text, "es-MX")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Your payment is due.", "en"),
        ("Don't stop now!", "en"),  # the word alone is not an English notice
        ("Reply STOPPED", "en"),  # whole words only
        ("Envie STOP para salir.", "es"),  # accents as written: "envíe"
        ("Trabaja con nosotros", "es"),  # "baja" inside a word
        ("Reply STOP to opt out", "es"),  # English phrases do not count in Spanish
        ("Responda SAIR para cancelar", "pt-BR"),
    ],
)
def test_text_without_a_notice_in_its_language_is_not_one(text: str, language: str) -> None:
    assert not has_opt_out_notice(text, language)


@pytest.mark.parametrize("text", ["Responda STOP para cancelar", "stop: responda", "(STOP)"])
def test_a_language_without_a_phrase_list_needs_the_word_stop(text: str) -> None:
    assert has_opt_out_notice(text, "pt-BR")
    assert has_opt_out_notice(text, "fr")


def test_a_collections_template_without_an_opt_out_notice_is_refused() -> None:
    doc = template(
        "collections",
        ("en", None, "Acme: your payment of $50 is due."),
        ("es", None, "Acme: su pago vence hoy."),
        ("fr", "web", "Acme: votre paiement est dû."),
    )
    found = problems(doc)
    assert [field for field, _ in found] == [f"variants[{i}].text" for i in range(3)]
    assert "12 CFR 1006.6(e)" in found[0][1]
    assert "add one of: 'reply stop', 'text stop', 'opt out'" in found[0][1]
    assert "'responda stop', 'envíe stop', 'baja'" in found[1][1]
    assert "add the word STOP" in found[2][1]


@pytest.mark.parametrize("channel", [None, "sms", "web", "app", "rcs", "apple"])
def test_the_collections_notice_is_required_on_every_channel(channel: str | None) -> None:
    doc = template("collections", ("en", channel, "Acme: your payment is due."))
    assert [f for f, _ in problems(doc)] == ["variants[0].text"]


def test_a_collections_template_with_the_notice_everywhere_is_accepted() -> None:
    doc = template(
        "collections",
        ("en", None, "Acme: your payment is due. Reply STOP to opt out."),
        ("es", None, "Acme: su pago vence hoy. Responda STOP para darse de baja."),
    )
    assert len(parse_template(doc).variants) == 2


@pytest.mark.parametrize("purpose", ["transactional", "fraud_alert", "reminder"])
def test_other_purposes_need_no_notice(purpose: str) -> None:
    assert parse_template(template(purpose, ("en", None, "Your parcel arrives today.")))


# -- marketing -------------------------------------------------------------------------------


def test_a_marketing_template_needs_a_sender() -> None:
    doc = template("marketing", ("en", "web", "Spring sale!"))
    assert problems(doc) == [
        ("sender", "a marketing template needs a sender: the business name as customers know it")
    ]


@pytest.mark.parametrize("channel", [None, "sms"])
def test_sms_marketing_must_name_the_sender_and_how_to_opt_out(channel: str | None) -> None:
    doc = template("marketing", ("en", channel, "Spring sale: 20% off!"), sender="Acme Shoes")
    found = problems(doc)
    assert [field for field, _ in found] == ["variants[0].text", "variants[0].text"]
    assert "must name the sender; add 'Acme Shoes'" in found[0][1]
    assert "must say how to opt out" in found[1][1]


def test_sms_marketing_with_the_sender_in_any_case_and_a_notice_is_accepted() -> None:
    doc = template(
        "marketing",
        ("en", "sms", "ACME SHOES: spring sale, 20% off! Reply STOP to opt out."),
        ("es", None, "Acme Shoes: ¡rebajas! Responda STOP para baja."),
        sender="Acme Shoes",
    )
    assert parse_template(doc).sender == "Acme Shoes"


@pytest.mark.parametrize("channel", ["web", "app", "rcs", "apple"])
def test_marketing_on_other_channels_is_not_held_to_the_sms_rules(channel: str) -> None:
    doc = template("marketing", ("en", channel, "Spring sale!"), sender="Acme Shoes")
    assert parse_template(doc).variants[0].channel == channel


# -- placeholders and replies ----------------------------------------------------------------


def test_a_text_splits_into_literals_and_placeholders() -> None:
    assert pieces("Hi {name}, {{literal}} {n2}") == [
        "Hi ",
        Slot("name"),
        ", {literal} ",
        Slot("n2"),
    ]
    assert pieces("") == []


@pytest.mark.parametrize("text", ["{", "}", "{}", "{a", "a}", "{A}", "{a b}", "{{a}"])
def test_a_bad_brace_is_malformed(text: str) -> None:
    with pytest.raises(MalformedText):
        pieces(text)


@pytest.mark.parametrize(
    ("text", "key"),
    [("YES", "yes"), ("  Yes!  ", "yes"), ("not   me.", "not me"), ("Sí", "sí"), ("!!", "")],
)
def test_replies_compare_without_case_spacing_or_a_final_mark(text: str, key: str) -> None:
    assert reply_key(text) == key


@pytest.mark.parametrize("word", ["STOP", "Stop!", "CANCEL", "end", "START", "UNSTOP", "INFO"])
def test_carrier_keywords_cannot_be_expected_replies(word: str) -> None:
    problem = reply_word_problem(word)
    assert problem is not None
    assert "compliance keyword" in problem


@pytest.mark.parametrize("word", ["YES", "NO", "SI", "1", "NOT ME", "STOP IT"])
def test_ordinary_words_can_be_expected_replies(word: str) -> None:
    assert reply_word_problem(word) is None
