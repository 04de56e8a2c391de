"""The message classifier's rules (DESIGN.md §5), with the shipped lexicons: precision
first, so anything not fully accounted for is substantive."""

from __future__ import annotations

import pytest

from threadline.adapters.lexicons import load_classifier
from threadline.core.classify import Classifier, Lexicon, MessageKind, tokens

CLOSING_QUESTION = "Is there anything else I can help you with today?"
STATEMENT = "Your refund has been issued and should arrive in 3-5 days."

classifier = load_classifier()


def kind(message: str, after: str | None) -> MessageKind:
    return classifier.classify(message, after=after).kind


@pytest.mark.parametrize(
    "message",
    [
        "no",
        "No thanks!",
        "nope, that's all",
        "that's everything, thank you 😊",
        "all good ty",
        "no, gracias",
        "nada más, gracias",
        "eso es todo 🙏",
        "No, that's it. Have a nice day!",
    ],
)
def test_a_negative_answer_to_a_closing_question_closes(message: str) -> None:
    assert kind(message, CLOSING_QUESTION) is MessageKind.CLOSING


@pytest.mark.parametrize(
    "after", [CLOSING_QUESTION, "¿Hay algo más en lo que pueda ayudarle?", "Anything else?"]
)
def test_closing_questions_are_recognised_in_english_and_spanish(after: str) -> None:
    assert classifier.is_closing_question(after)
    assert not classifier.is_closing_question(STATEMENT)


@pytest.mark.parametrize(
    "message",
    [
        "thanks!",
        "Thank you so much 🙏",
        "ok 👍",
        "👍🏻",
        "Thanksss a lot!!",
        "great, thanks",
        "muchas gracias!!",
        "vale, perfecto",
        "perfecto gracias 😊",
    ],
)
def test_thanks_after_a_statement_is_ineffectual(message: str) -> None:
    assert kind(message, STATEMENT) is MessageKind.INEFFECTUAL


def test_thanks_after_a_closing_question_neither_closes_nor_wakes_the_agent() -> None:
    assert kind("thanks!", CLOSING_QUESTION) is MessageKind.INEFFECTUAL


@pytest.mark.parametrize(
    ("message", "after"),
    [
        ("thanks, one more thing: my invoice is wrong", STATEMENT),
        ("ok but it still doesn't work", STATEMENT),
        ("gracias, pero no me llegó", STATEMENT),
        ("thanks! when will it arrive?", STATEMENT),
        ("ok my order is 12345", STATEMENT),
        ("ok", "Shall I go ahead and cancel the order?"),  # a decision to act on
        ("yes please", "Shall I go ahead and cancel the order?"),
        ("no", "Did the technician come?"),  # an answer, not a sign-off
        ("nothing", "Your parcel was delivered."),  # maybe nothing came
        ("yes actually", CLOSING_QUESTION),
        ("no, but when does the refund arrive", CLOSING_QUESTION),
        ("hi", None),  # a new contact is always answered
        ("thanks", None),
        ("😡", STATEMENT),
        ("see https://example.com", STATEMENT),
    ],
)
def test_anything_not_fully_accounted_for_is_substantive(message: str, after: str | None) -> None:
    assert kind(message, after) is MessageKind.SUBSTANTIVE


def test_words_are_folded_so_spelling_variants_match() -> None:
    assert tokens("Thanksss!! MÁS  okk 👍🏽") == ["thanks", "mas", "ok", "👍"]


def test_rules_are_data_a_new_language_needs_no_code() -> None:
    french = Lexicon(
        language="fr",
        closing_questions=(r"\bautre chose\b",),
        negatives=("non", "non merci"),
        done=("c'est tout",),
        acknowledgements=("merci", "d'accord"),
        fillers=("beaucoup",),
    )
    only_french = Classifier([french])
    assert only_french.classify("non merci", after="Autre chose ?").kind is MessageKind.CLOSING
    assert only_french.classify("merci beaucoup", after="C'est fait.").kind is (
        MessageKind.INEFFECTUAL
    )
    assert only_french.classify("thanks", after="C'est fait.").kind is MessageKind.SUBSTANTIVE


def test_a_classifier_needs_a_lexicon() -> None:
    with pytest.raises(ValueError, match="at least one lexicon"):
        Classifier([])


@pytest.mark.parametrize(
    "after",
    ["Please reply YES to confirm the cancellation.", "Responda SÍ para confirmar la baja."],
)
def test_an_acknowledgement_of_a_request_to_answer_is_an_answer(after: str) -> None:
    assert classifier.awaits_answer(after)
    assert kind("ok", after) is MessageKind.SUBSTANTIVE


def test_an_invitation_is_not_a_closing_question() -> None:
    invitation = "Your refund is on its way. Let me know if there is anything else."
    assert not classifier.is_closing_question(invitation)
    assert kind("that's all I needed, thanks", invitation) is MessageKind.INEFFECTUAL


@pytest.mark.parametrize(
    ("message", "after"),
    [
        ("no entiendo", CLOSING_QUESTION),
        ("no me sirve", CLOSING_QUESTION),
        ("no good", CLOSING_QUESTION),
        ("no, no está bien", CLOSING_QUESTION),
        ("nada claro", STATEMENT),
        ("nothing good", STATEMENT),
        ("thanks for nothing", STATEMENT),
        ("gracias por nada", STATEMENT),
    ],
)
def test_thanks_under_a_negation_are_not_thanks(message: str, after: str) -> None:
    assert kind(message, after) is MessageKind.SUBSTANTIVE


@pytest.mark.parametrize(
    "outbound",
    [
        "Have you tried anything else?",
        "Did you order anything else?",
        "Was anything else damaged?",
        "¿Recibió otra cosa en lugar de su pedido?",
        "¿Es todo lo que pidió?",
    ],
)
def test_a_factual_question_about_something_else_is_not_a_closing_question(
    outbound: str,
) -> None:
    assert not classifier.is_closing_question(outbound)
    assert kind("no", outbound) is MessageKind.SUBSTANTIVE


def test_a_phone_apostrophe_is_an_apostrophe() -> None:
    assert kind("that\u2019s all, thanks", CLOSING_QUESTION) is MessageKind.CLOSING
