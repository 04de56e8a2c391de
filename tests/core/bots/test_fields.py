"""Checking a customer's answers, masking secure ones, and filling `{field}`s."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from threadline.core.bots.fields import fill, fill_url, is_secure, luhn_valid, mask, names_in
from threadline.core.bots.fields import validate as check
from threadline.core.bots.flow import Ask, FieldKind

TODAY = date(2026, 3, 10)


def ask(kind: FieldKind, **extra: object) -> Ask:
    return Ask("value", "Your answer?", kind, **extra)  # type: ignore[arg-type]


def answer(kind: FieldKind, text: str, **extra: object) -> str | None:
    return check(ask(kind, **extra), text, TODAY)


# -- each kind -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        (FieldKind.TEXT, "  a parcel with a red bow  ", "a parcel with a red bow"),
        (FieldKind.EMAIL, "Ana.Lopez+shop@Example.COM", "Ana.Lopez+shop@example.com"),
        (FieldKind.EMAIL, " ana@mail.example.co.uk ", "ana@mail.example.co.uk"),
        (FieldKind.DATE, "2026-03-14", "2026-03-14"),
        (FieldKind.DATE, "14/03/2026", "2026-03-14"),
        (FieldKind.DATE, "4/3/2026", "2026-03-04"),
        (FieldKind.DATE, "14-03-26", "2026-03-14"),
        (FieldKind.DATE, "March 14 2026", "2026-03-14"),
        (FieldKind.DATE, "March 14, 2026", "2026-03-14"),
        (FieldKind.DATE, "14 March 2026", "2026-03-14"),
        (FieldKind.DATE, "14th Mar 2026", "2026-03-14"),
        (FieldKind.DATE, "14 de marzo de 2026", "2026-03-14"),
        (FieldKind.DATE, "1 septiembre 2026", "2026-09-01"),
        (FieldKind.DATE, "March 14", "2026-03-14"),
        (FieldKind.DATE, "tomorrow", "2026-03-11"),
        (FieldKind.DATE, "mañana", "2026-03-11"),
        (FieldKind.NUMBER, "42", "42"),
        (FieldKind.NUMBER, "3,5", "3.5"),
        (FieldKind.NUMBER, "-3.25", "-3.25"),
        (FieldKind.PHONE, "+34 612 34 56 78", "+34612345678"),
        (FieldKind.PHONE, "(555) 123-4567", "5551234567"),
        (FieldKind.PHONE, "0044 20 7946 0958", "+442079460958"),
        (FieldKind.CARD, "4242 4242 4242 4242", "4242424242424242"),
        (FieldKind.CARD, "4242-4242-4242-4242", "4242424242424242"),
        (FieldKind.EXPIRY, "03/26", "03/26"),
        (FieldKind.EXPIRY, "7/2029", "07/29"),
    ],
)
def test_a_valid_answer_is_normalised(kind: FieldKind, text: str, expected: str) -> None:
    assert answer(kind, text) == expected


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        (FieldKind.TEXT, "   "),
        (FieldKind.TEXT, "x" * 501),
        (FieldKind.EMAIL, "ana"),
        (FieldKind.EMAIL, "ana@example"),
        (FieldKind.EMAIL, "ana@@example.com"),
        (FieldKind.EMAIL, "ana lopez@example.com"),
        (FieldKind.EMAIL, "ana..lopez@example.com"),
        (FieldKind.EMAIL, "ana@-example.com"),
        (FieldKind.EMAIL, "ana@example.c0m"),
        (FieldKind.DATE, "2026-02-30"),
        (FieldKind.DATE, "31/04/2026"),
        (FieldKind.DATE, "next week sometime"),
        (FieldKind.DATE, "14 Smarch 2026"),
        (FieldKind.DATE, "14/03/20266"),
        (FieldKind.NUMBER, "forty-two"),
        (FieldKind.NUMBER, "1.2.3"),
        (FieldKind.NUMBER, "12 apples"),
        (FieldKind.PHONE, "612345"),
        (FieldKind.PHONE, "123456789"),
        (FieldKind.PHONE, "+34 abc"),
        (FieldKind.PHONE, "+1234567890123456"),
        (FieldKind.CARD, "4242 4242 4242 4241"),
        (FieldKind.CARD, "4242"),
        (FieldKind.CARD, "4242 4242 4242 424x"),
        (FieldKind.EXPIRY, "02/26"),
        (FieldKind.EXPIRY, "13/27"),
        (FieldKind.EXPIRY, "0/27"),
        (FieldKind.EXPIRY, "12/2099"),
        (FieldKind.EXPIRY, "1227"),
    ],
)
def test_an_answer_that_does_not_fit_the_kind_is_refused(kind: FieldKind, text: str) -> None:
    assert answer(kind, text) is None


def test_a_date_without_a_year_is_the_nearest_one() -> None:
    late_december = date(2026, 12, 28)
    assert check(ask(FieldKind.DATE), "January 3", late_december) == "2027-01-03"
    assert check(ask(FieldKind.DATE), "December 20", late_december) == "2026-12-20"
    early_january = date(2027, 1, 2)
    assert check(ask(FieldKind.DATE), "30 December", early_january) == "2026-12-30"


def test_an_expiry_in_the_current_month_is_still_valid() -> None:
    assert check(ask(FieldKind.EXPIRY), "03/26", date(2026, 3, 31)) == "03/26"
    assert check(ask(FieldKind.EXPIRY), "03/26", date(2026, 4, 1)) is None


ORDER = {"pattern": r"A-\d{5}"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A-12345", "A-12345"),
        ("it's A-12345", "A-12345"),
        ("my order is A-12345, thanks", "A-12345"),
        ("a-12345", None),
        ("A-1234", None),
        ("order number please", None),
    ],
)
def test_a_pattern_answer_is_found_even_wrapped_in_words(text: str, expected: str | None) -> None:
    assert answer(FieldKind.PATTERN, text, **ORDER) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Home delivery", "Home delivery"),
        ("  home   DELIVERY ", "Home delivery"),
        ("homedelivery", "Home delivery"),
        ("2", "Pick up in store"),
        ("1", "Home delivery"),
        ("3", None),
        ("0", None),
        ("delivery", None),
    ],
)
def test_a_choice_matches_ignoring_case_and_spaces_or_by_its_number(
    text: str, expected: str | None
) -> None:
    choices = ("Home delivery", "Pick up in store")
    assert answer(FieldKind.CHOICE, text, choices=choices) == expected


def test_a_choice_written_as_a_number_wins_over_the_position() -> None:
    choices = ("10", "2", "30")
    assert answer(FieldKind.CHOICE, "2", choices=choices) == "2"
    assert answer(FieldKind.CHOICE, "3", choices=choices) == "30"


# -- cards, property-based --------------------------------------------------------------------


def _check_digit(body: str) -> str:
    for digit in "0123456789":
        if luhn_valid(body + digit):
            return digit
    raise AssertionError("some check digit always completes a Luhn number")


CARDS = st.text("0123456789", min_size=12, max_size=18).map(lambda b: b + _check_digit(b))


@given(CARDS)
def test_any_luhn_valid_card_number_is_accepted(card: str) -> None:
    spaced = " ".join(card[i : i + 4] for i in range(0, len(card), 4))
    assert answer(FieldKind.CARD, spaced) == card


@given(CARDS, st.data())
def test_a_card_number_with_one_digit_mistyped_is_refused(card: str, data: st.DataObject) -> None:
    position = data.draw(st.integers(0, len(card) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != card[position]]))
    assert answer(FieldKind.CARD, card[:position] + wrong + card[position + 1 :]) is None


# -- secure fields ----------------------------------------------------------------------------


def test_cards_and_expiries_are_always_secure() -> None:
    assert is_secure(ask(FieldKind.CARD))
    assert is_secure(ask(FieldKind.EXPIRY))
    assert is_secure(ask(FieldKind.TEXT, secure=True))
    assert not is_secure(ask(FieldKind.TEXT))


@pytest.mark.parametrize(
    ("secure_ask", "value", "masked"),
    [
        (ask(FieldKind.CARD), "4242424242424242", "•••• 4242"),
        (ask(FieldKind.EXPIRY), "03/26", "••/••"),
        (ask(FieldKind.TEXT, secure=True), "ES9121000418450200051332", "••••32"),
        (ask(FieldKind.NUMBER, secure=True), "123456", "••••"),
        (ask(FieldKind.TEXT), "not secret", "not secret"),
    ],
)
def test_a_secure_answer_is_masked(secure_ask: Ask, value: str, masked: str) -> None:
    assert mask(secure_ask, value) == masked


# -- filling ----------------------------------------------------------------------------------


def test_fill_replaces_known_names_and_leaves_unknown_ones() -> None:
    text = "Order {order_number} is {status}; {unknown} stays."
    filled = fill(text, {"order_number": "A-12345", "status": "on its way"})
    assert filled == "Order A-12345 is on its way; {unknown} stays."


@pytest.mark.parametrize(
    "template",
    ["{0}", "{}", "{value.__class__}", "{value!r}", "{value:>10}", "{Value}", "{ value }", "{"],
)
def test_fill_interprets_nothing_but_a_plain_name(template: str) -> None:
    assert fill(template, {"value": "X", "0": "Y"}) == template


def test_doubled_braces_are_literal_braces() -> None:
    assert fill("{{value}} is {value}", {"value": "X"}) == "{value} is X"
    assert names_in("{{value}} and {other} and }}") == {"other"}


@given(st.text(), st.text())
def test_a_filled_value_is_never_expanded_again(value: str, other: str) -> None:
    assert fill("<{a}>", {"a": value, "b": other}) == f"<{value}>"


@given(st.text(alphabet=st.characters(blacklist_characters="{}")), st.text())
def test_text_without_braces_is_left_as_it_is(template: str, value: str) -> None:
    assert fill(template, {"a": value}) == template
    assert names_in(template) == set()


@given(st.text())
def test_a_value_in_a_url_cannot_add_a_path_a_query_or_a_fragment(value: str) -> None:
    url = fill_url("https://shop.example/orders/{order}?lang=en", {"order": value})
    path = url.removeprefix("https://shop.example/orders/").removesuffix("?lang=en")
    assert not set(path) & set("/?#&= ")


def test_a_url_value_is_percent_encoded() -> None:
    url = fill_url("https://shop.example/o/{order}", {"order": "A 1/2?x=#"})
    assert url == "https://shop.example/o/A%201%2F2%3Fx%3D%23"
