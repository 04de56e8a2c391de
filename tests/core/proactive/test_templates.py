"""Notification templates: parsed and validated on save with every problem reported,
chosen per recipient, rendered by plain substitution, and matched against replies."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from threadline.core.errors import InvalidInput
from threadline.core.proactive.purposes import Purpose
from threadline.core.proactive.templates import (
    ExpectedReply,
    NotificationTemplate,
    ReplyAction,
    Variable,
    check_values,
    choose_variant,
    match_reply,
    parse_template,
    render,
    template_to_doc,
)

FRAUD: dict[str, Any] = {
    "name": "card_fraud_check",
    "purpose": "fraud_alert",
    "variables": [
        {"name": "amount", "example": "$420.00"},
        {"name": "merchant", "example": "ACME STORE", "max_length": 40},
    ],
    "variants": [
        {
            "language": "en",
            "text": "Acme Bank: did you make a {amount} purchase at {merchant}? Reply YES or NO.",
        },
        {
            "language": "en",
            "channel": "whatsapp",
            "provider_template": "fraud_check_v2",
            "text": "Did you make a purchase at {merchant} for {amount}?",
        },
        {
            "language": "es",
            "text": "Acme Bank: ¿hizo una compra de {amount} en {merchant}? Responda SI o NO.",
        },
    ],
    "replies": [
        {"words": ["YES", "Y"], "action": "resolve", "answer": "Thanks, no action needed."},
        {
            "words": ["NO", "N"],
            "action": "handoff",
            "queue": "fraud",
            "answer": "We've frozen the card; an agent will write to you here.",
        },
    ],
    "expires_after_seconds": 3600,
    "webhook_url": None,
    "sender": "Acme Bank",
}


def fraud_doc(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(FRAUD)
    doc.update(changes)
    return doc


def simple_doc(text: str, *, channel: str | None = None, **changes: Any) -> dict[str, Any]:
    """One variable `x` (example "42", max_length 10) and one English variant."""
    variant: dict[str, Any] = {"language": "en", "text": text, "channel": channel}
    doc: dict[str, Any] = {
        "name": "t",
        "purpose": "transactional",
        "variables": [{"name": "x", "example": "42", "max_length": 10}],
        "variants": [variant],
    }
    doc.update(changes)
    return doc


def problems(doc: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidInput) as caught:
        parse_template(doc)
    found = caught.value.details["problems"]
    assert isinstance(found, list)
    return [(p["field"], p["message"]) for p in found]


def fields(doc: object) -> list[str]:
    return [field for field, _ in problems(doc)]


# -- parsing ---------------------------------------------------------------------------------


def test_the_issues_fraud_alert_parses_into_a_template() -> None:
    t = parse_template(fraud_doc())
    assert t.name == "card_fraud_check"
    assert t.purpose is Purpose.FRAUD_ALERT
    assert t.variables == (
        Variable("amount", "$420.00", 100),
        Variable("merchant", "ACME STORE", 40),
    )
    assert [(v.language, v.channel) for v in t.variants] == [
        ("en", None),
        ("en", "whatsapp"),
        ("es", None),
    ]
    assert t.variants[1].provider_template == "fraud_check_v2"
    assert t.replies[1] == ExpectedReply(
        ("NO", "N"), ReplyAction.HANDOFF, "fraud", t.replies[1].answer
    )
    assert t.expires_after == timedelta(hours=1)
    assert t.sender == "Acme Bank"


def test_every_problem_is_reported_at_once_with_the_first_as_the_field() -> None:
    doc = fraud_doc(name="bad name!", purpose="spam", expires_after_seconds=5)
    doc["variants"][1].pop("provider_template")
    with pytest.raises(InvalidInput) as caught:
        parse_template(doc)
    error = caught.value
    found = [p["field"] for p in error.details["problems"]]  # type: ignore[attr-defined]
    assert found == ["name", "purpose", "variants[1].provider_template", "expires_after_seconds"]
    assert error.details["field"] == "name"
    assert error.message.startswith("the template's fields have 4 problems: name: ")
    assert "variants[1].provider_template" in error.message


def test_an_unknown_field_is_refused_with_a_did_you_mean() -> None:
    doc = fraud_doc(expires_after=3600)
    doc["variants"][0]["langauge"] = "en"
    found = dict(problems(doc))
    assert "did you mean 'expires_after_seconds'?" in found["expires_after"]
    assert "did you mean 'language'?" in found["variants[0].langauge"]


def test_an_unknown_field_without_a_close_match_lists_the_known_ones() -> None:
    found = dict(problems(fraud_doc(zzz=1)))
    assert "known: name, purpose" in found["zzz"]


@pytest.mark.parametrize("doc", [None, [], "template", 3])
def test_a_template_that_is_not_an_object_is_refused(doc: object) -> None:
    assert problems(doc) == [("template", "must be a JSON object")]


@pytest.mark.parametrize("purpose", ["spam", None, 3, ["marketing"], {"a": 1}])
def test_the_purpose_must_be_one_of_the_purposes(purpose: object) -> None:
    assert fields(fraud_doc(purpose=purpose)) == ["purpose"]


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "émoji", 7, None])
def test_a_template_name_is_1_to_64_letters_digits_and_dots_dashes_underscores(
    name: object,
) -> None:
    assert fields(fraud_doc(name=name)) == ["name"]


def test_a_template_name_may_use_dots_dashes_and_underscores() -> None:
    assert parse_template(fraud_doc(name="Fraud_check.v2-US")).name == "Fraud_check.v2-US"


@pytest.mark.parametrize("name", ["Amount", "1x", "_x", "a" * 33, "a-b", ""])
def test_a_variable_name_is_lower_case_and_short(name: str) -> None:
    doc = simple_doc("{x}")
    doc["variables"].append({"name": name, "example": "e"})
    assert "variables[1].name" in fields(doc)


def test_a_variable_needs_an_example() -> None:
    doc = simple_doc("{x}")
    del doc["variables"][0]["example"]
    assert problems(doc) == [("variables[0].example", "is required")]


@pytest.mark.parametrize("max_length", [0, 1001, "10", 2.5, True])
def test_a_variables_max_length_is_1_to_1000(max_length: object) -> None:
    doc = simple_doc("{x}")
    doc["variables"][0]["max_length"] = max_length
    assert fields(doc) == ["variables[0].max_length"]


def test_a_variables_example_must_fit_its_max_length() -> None:
    doc = simple_doc("{x}")
    doc["variables"][0].update(example="12345", max_length=4)
    assert problems(doc) == [("variables[0].example", "is longer than max_length (4)")]


def test_a_variable_defaults_to_100_characters() -> None:
    doc = simple_doc("{x}")
    del doc["variables"][0]["max_length"]
    assert parse_template(doc).variables[0].max_length == 100


def test_a_variable_declared_twice_is_refused() -> None:
    doc = simple_doc("{x}")
    doc["variables"].append({"name": "x", "example": "1"})
    assert problems(doc) == [("variables[1].name", "'x' repeats variables[0]")]


# -- placeholders ----------------------------------------------------------------------------


def test_a_placeholder_that_is_not_a_declared_variable_is_refused() -> None:
    found = problems(simple_doc("{x} {y}"))
    assert found == [
        ("variants[0].text", "variant 0 (en, any channel): {y} is not a declared variable")
    ]


def test_a_declared_variable_that_no_variant_uses_is_refused() -> None:
    assert problems(simple_doc("no placeholders")) == [
        ("variables[0].name", "'x' is used by no variant")
    ]


def test_a_variable_used_by_only_one_variant_counts_as_used() -> None:
    doc = simple_doc("{x}")
    doc["variants"].append({"language": "es", "text": "sin variables"})
    assert len(parse_template(doc).variants) == 2


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{x} {", "a lone '{' at character 5"),
        ("{x} }", "a lone '}' at character 5"),
        ("{x} {}", "{} at character 5 is not a placeholder"),
        ("{x} {X}", "{X} at character 5 is not a placeholder"),
        ("{x} { x }", "{ x } at character 5 is not a placeholder"),
        ("{x}}", "a lone '}' at character 4"),
    ],
)
def test_a_malformed_brace_is_refused_naming_the_variant(text: str, says: str) -> None:
    doc = simple_doc("{x}")
    doc["variants"].append({"language": "es", "channel": "web", "text": text})
    [(field, message)] = problems(doc)
    assert field == "variants[1].text"
    assert message.startswith("variant 1 (es, web): ")
    assert says in message


def test_doubled_braces_are_literal_braces() -> None:
    t = parse_template(simple_doc("{{x}} is {x} }}{{"))
    rendered = render(t, t.variants[0], {"x": "7"}, channel="web")
    assert rendered.text == "{x} is 7 }{"
    assert rendered.parameters == ("7",)


# -- variants --------------------------------------------------------------------------------


def test_a_template_needs_a_variant() -> None:
    assert "variants" in fields(simple_doc("{x}", variants=[]))


def test_two_variants_for_the_same_language_and_channel_are_refused() -> None:
    doc = simple_doc("{x}", channel="sms")
    doc["variants"][0]["language"] = "pt-BR"
    doc["variants"].append({"language": "pt-br", "channel": "sms", "text": "again {x}"})
    doc["variants"].append({"language": "pt-BR", "text": "any channel {x}"})  # another slot
    doc["variants"].append({"language": "pt", "channel": "sms", "text": "base {x}"})  # another
    [(field, message)] = problems(doc)
    assert field == "variants[1]"
    assert "repeats variants[0]" in message


@pytest.mark.parametrize("language", ["EN", "e", "english", "en_US", "en-", "en-x"])
def test_a_language_is_a_language_tag(language: str) -> None:
    doc = simple_doc("{x}")
    doc["variants"][0]["language"] = language
    assert fields(doc) == ["variants[0].language"]


@pytest.mark.parametrize("language", ["en", "es", "pt-BR", "zh-Hant-TW", "fil"])
def test_language_tags_with_regions_and_scripts_are_accepted(language: str) -> None:
    doc = simple_doc("{x}")
    doc["variants"][0]["language"] = language
    assert parse_template(doc).variants[0].language == language


def test_a_variant_channel_must_be_a_known_channel() -> None:
    assert fields(simple_doc("{x}", channel="fax")) == ["variants[0].channel"]


def test_a_whatsapp_variant_needs_its_approved_template_name() -> None:
    [(field, message)] = problems(simple_doc("{x}", channel="whatsapp"))
    assert field == "variants[0].provider_template"
    assert "approved template" in message


@pytest.mark.parametrize("name", ["Fraud-Check", "has space", ""])
def test_a_whatsapp_template_name_follows_whatsapps_rule(name: str) -> None:
    doc = simple_doc("{x}", channel="whatsapp")
    doc["variants"][0]["provider_template"] = name
    assert fields(doc) == ["variants[0].provider_template"]


@pytest.mark.parametrize("channel", [None, "sms", "messenger", "web"])
def test_a_provider_template_is_refused_outside_whatsapp(channel: str | None) -> None:
    doc = simple_doc("{x}", channel=channel)
    doc["variants"][0].update(provider_template="fraud_check", tag="ACCOUNT_UPDATE")
    assert "variants[0].provider_template" in fields(doc)


def test_a_messenger_variant_needs_one_of_the_notification_tags() -> None:
    assert fields(simple_doc("{x}", channel="messenger")) == ["variants[0].tag"]
    doc = simple_doc("{x}", channel="messenger")
    doc["variants"][0]["tag"] = "HUMAN_AGENT"
    assert fields(doc) == ["variants[0].tag"]
    doc["variants"][0]["tag"] = "ACCOUNT_UPDATE"
    assert parse_template(doc).variants[0].tag == "ACCOUNT_UPDATE"


@pytest.mark.parametrize("channel", [None, "sms", "whatsapp", "web"])
def test_a_tag_is_refused_outside_messenger(channel: str | None) -> None:
    doc = simple_doc("{x}", channel=channel)
    doc["variants"][0]["tag"] = "ACCOUNT_UPDATE"
    assert "variants[0].tag" in fields(doc)


@pytest.mark.parametrize("channel", ["web", "whatsapp", "messenger", "app"])
def test_max_segments_is_refused_on_channels_that_do_not_send_sms(channel: str) -> None:
    doc = simple_doc("{x}", channel=channel)
    doc["variants"][0].update(max_segments=2, provider_template="p", tag="ACCOUNT_UPDATE")
    assert "variants[0].max_segments" in fields(doc)


@pytest.mark.parametrize("max_segments", [0, 11, "3", True])
def test_max_segments_is_1_to_10(max_segments: object) -> None:
    doc = simple_doc("{x}", channel="sms")
    doc["variants"][0]["max_segments"] = max_segments
    assert fields(doc) == ["variants[0].max_segments"]


def test_a_text_is_1_to_4096_characters() -> None:
    assert "variants[0].text" in fields(simple_doc("   "))
    assert "variants[0].text" in fields(simple_doc("{x}" + "a" * 4094, channel="web"))
    assert parse_template(simple_doc("{x}" + "a" * 4093, channel="web"))


def test_a_text_may_have_newlines_but_no_other_control_characters() -> None:
    assert parse_template(simple_doc("line one\n{x}"))
    assert fields(simple_doc("bell\a{x}")) == ["variants[0].text"]


# -- SMS segments on save --------------------------------------------------------------------


def test_an_sms_text_over_its_limit_with_the_examples_is_refused_with_the_count() -> None:
    doc = simple_doc("a" * 460 + "{x}", channel="sms")  # 462 characters: 4 segments
    [(field, message), (_, worst)] = problems(doc)
    assert field == "variants[0].text"
    assert "with the variables' examples the text takes 4 SMS segments (GSM-7)" in message
    assert "more than max_segments 3" in message
    assert "with every variable at its max_length the text takes 4" in worst


def test_an_sms_text_whose_longest_values_would_not_fit_is_refused() -> None:
    # 455 + the example's 2 characters fit three segments (459); 455 + 10 do not.
    [(field, message)] = problems(simple_doc("a" * 455 + "{x}"))
    assert field == "variants[0].text"
    assert "with every variable at its max_length the text takes 4 SMS segments" in message


def test_a_non_gsm_character_counts_the_whole_text_in_ucs2() -> None:
    [(_, message), _] = problems(simple_doc("ú" * 200 + "{x}", channel="sms"))
    assert "4 SMS segments (UCS-2)" in message


def test_a_higher_max_segments_lets_a_longer_text_through() -> None:
    doc = simple_doc("a" * 455 + "{x}", channel="sms")
    doc["variants"][0]["max_segments"] = 4
    assert parse_template(doc).variants[0].segment_limit == 4


@pytest.mark.parametrize("channel", ["web", "app", "rcs", "apple"])
def test_segment_limits_do_not_apply_to_variants_for_other_channels(channel: str) -> None:
    assert parse_template(simple_doc("a" * 1000 + "{x}", channel=channel))


# -- expected replies ------------------------------------------------------------------------


@pytest.mark.parametrize("word", ["STOP", "stop.", " Unsubscribe ", "HELP", "start!", "Quit"])
def test_a_compliance_keyword_cannot_be_an_expected_reply(word: str) -> None:
    doc = fraud_doc()
    doc["replies"][0]["words"].append(word)
    [(field, message)] = problems(doc)
    assert field == "replies[0].words[2]"
    assert "compliance keyword" in message


def test_reply_words_are_unique_across_replies_whatever_their_case() -> None:
    doc = fraud_doc()
    doc["replies"][1]["words"].append("yes!")
    [(field, message)] = problems(doc)
    assert field == "replies[1].words[2]"
    assert "already an expected reply (replies[0].words[0])" in message


@pytest.mark.parametrize("words", [[], ["W" + str(i) for i in range(11)], "YES", None])
def test_a_reply_has_1_to_10_words(words: object) -> None:
    doc = fraud_doc()
    doc["replies"][0]["words"] = words
    assert fields(doc) == ["replies[0].words"]


@pytest.mark.parametrize("word", ["", "  ", "x" * 21, 5, "!"])
def test_a_reply_word_is_1_to_20_characters(word: object) -> None:
    doc = fraud_doc()
    doc["replies"][0]["words"] = [word]
    assert fields(doc) == ["replies[0].words[0]"]


def test_a_template_has_at_most_10_replies() -> None:
    replies = [{"words": [f"R{i}"], "action": "resolve"} for i in range(11)]
    assert fields(fraud_doc(replies=replies)) == ["replies"]
    assert len(parse_template(fraud_doc(replies=replies[:10])).replies) == 10


def test_a_handoff_reply_needs_a_queue_and_only_it_takes_one() -> None:
    doc = fraud_doc()
    del doc["replies"][1]["queue"]
    doc["replies"][0]["queue"] = "fraud"
    assert fields(doc) == ["replies[0].queue", "replies[1].queue"]


def test_a_queue_is_a_skill_name_and_is_stored_as_one() -> None:
    doc = fraud_doc()
    doc["replies"][1]["queue"] = "Fraud.Team"
    assert parse_template(doc).replies[1].queue == "fraud.team"
    doc["replies"][1]["queue"] = "fraud team"
    assert fields(doc) == ["replies[1].queue"]


def test_an_unknown_reply_action_is_refused() -> None:
    doc = fraud_doc()
    doc["replies"][0]["action"] = "ignore"
    assert fields(doc) == ["replies[0].action"]


def test_a_webhook_reply_needs_the_templates_webhook_url() -> None:
    doc = fraud_doc()
    doc["replies"][0]["action"] = "webhook"
    assert problems(doc) == [("webhook_url", "is required: a reply calls the webhook")]
    doc["webhook_url"] = "https://hooks.example.com/fraud"
    assert parse_template(doc).replies[0].action is ReplyAction.WEBHOOK


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.example.com/fraud",
        "https://user:secret@hooks.example.com/fraud",
        "https://user@hooks.example.com/fraud",
        "ftp://hooks.example.com/fraud",
        "hooks.example.com/fraud",
        "https:///path",
        "https://hooks.example.com:99999/",
        "https://hooks.example.com/a b",
        "http://localhost.example.com/",
    ],
)
def test_a_webhook_url_is_https_without_credentials(url: str) -> None:
    assert fields(fraud_doc(webhook_url=url)) == ["webhook_url"]


@pytest.mark.parametrize(
    "url",
    [
        "https://hooks.example.com/fraud?x=1",
        "http://localhost:8080/hook",
        "http://127.0.0.1/hook",
        "http://[::1]:9000/hook",
    ],
)
def test_a_webhook_url_may_be_plain_http_only_on_this_machine(url: str) -> None:
    assert parse_template(fraud_doc(webhook_url=url)).webhook_url == url


@pytest.mark.parametrize("seconds", [59, 30 * 86400 + 1, 3600.5, "3600", False])
def test_expiry_is_a_minute_to_30_days(seconds: object) -> None:
    assert fields(fraud_doc(expires_after_seconds=seconds)) == ["expires_after_seconds"]


def test_expiry_bounds_are_accepted_and_it_may_be_absent() -> None:
    assert parse_template(fraud_doc(expires_after_seconds=60)).expires_after == timedelta(minutes=1)
    assert parse_template(fraud_doc(expires_after_seconds=30 * 86400)).expires_after == timedelta(
        days=30
    )
    assert parse_template(fraud_doc(expires_after_seconds=None)).expires_after is None


@pytest.mark.parametrize("sender", ["", "x" * 65, "Acme\nBank", 3])
def test_a_sender_is_one_line_of_1_to_64_characters(sender: object) -> None:
    assert fields(fraud_doc(sender=sender)) == ["sender"]


# -- choosing a variant ----------------------------------------------------------------------


def multi() -> NotificationTemplate:
    doc = simple_doc("default {x}", channel=None)
    doc["variants"] += [
        {"language": "en", "channel": "sms", "text": "sms {x}"},
        {"language": "es", "text": "es {x}"},
        {"language": "es", "channel": "whatsapp", "text": "wa {x}", "provider_template": "t_es"},
        {"language": "pt-BR", "text": "pt {x}"},
    ]
    return parse_template(doc)


@pytest.mark.parametrize(
    ("language", "channel", "text"),
    [
        ("en", "sms", "sms {x}"),  # the channel's own variant first
        ("en", "web", "default {x}"),  # then the language's channel-less one
        ("es", "sms", "es {x}"),  # the language beats another language's sms variant
        ("es", "whatsapp", "wa {x}"),
        ("es-MX", "web", "es {x}"),  # the base language
        ("ES-mx", "web", "es {x}"),  # tags are case-insensitive
        ("pt-br", "web", "pt {x}"),
        ("fr", "web", "default {x}"),  # not found: the template's first language
        (None, "sms", "sms {x}"),  # none given: the same
        ("fr-CA", "whatsapp", None),  # no whatsapp variant in fr, en: nothing can serve it
        ("en", "whatsapp", None),
        ("es", "messenger", None),  # a channel-less variant never serves Messenger
    ],
)
def test_a_variant_is_chosen_by_language_then_channel(
    language: str | None, channel: str, text: str | None
) -> None:
    chosen = choose_variant(multi(), language, channel)
    assert (chosen.text if chosen else None) == text


def test_choosing_for_an_unknown_channel_is_refused() -> None:
    with pytest.raises(InvalidInput):
        choose_variant(multi(), "en", "fax")


# -- values ----------------------------------------------------------------------------------


FRAUD_T = parse_template(fraud_doc())


def test_checked_values_are_the_declared_ones() -> None:
    values = {"merchant": "ACME", "amount": "$1"}
    assert check_values(FRAUD_T, values) == {"amount": "$1", "merchant": "ACME"}


@pytest.mark.parametrize(
    ("values", "field", "says"),
    [
        ({"merchant": "ACME"}, "variables.amount", "a value for 'amount' is required"),
        ({"amount": " ", "merchant": "ACME"}, "variables.amount", "is required"),
        ({"amount": 5, "merchant": "ACME"}, "variables.amount", "is required"),
        ({"amount": "$1", "merchant": "M" * 41}, "variables.merchant", "longer than its 40"),
        ({"amount": "$1\x00", "merchant": "ACME"}, "variables.amount", "control characters"),
        ({"amount": "$1\r\n", "merchant": "ACME"}, "variables.amount", "control characters"),
        ({"amount": "$1", "merchant": "A", "card": "1"}, "variables.card", "not a variable"),
    ],
)
def test_bad_values_are_refused_naming_the_variable(
    values: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_values(FRAUD_T, values)
    assert caught.value.details["field"] == field
    assert says in caught.value.message


def test_every_bad_value_is_reported() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_values(FRAUD_T, {"merchant": "M" * 41, "extra": "1"})
    found = [p["field"] for p in caught.value.details["problems"]]  # type: ignore[attr-defined]
    assert found == ["variables.amount", "variables.merchant", "variables.extra"]


def test_a_value_may_span_lines() -> None:
    assert check_values(FRAUD_T, {"amount": "$1", "merchant": "ACME\nSTORE"})


# -- rendering -------------------------------------------------------------------------------


def test_rendering_substitutes_the_values_and_counts_sms_segments() -> None:
    values = check_values(FRAUD_T, {"amount": "$42.00", "merchant": "CORNER SHOP"})
    rendered = render(FRAUD_T, FRAUD_T.variants[0], values, channel="sms")
    assert rendered.text == (
        "Acme Bank: did you make a $42.00 purchase at CORNER SHOP? Reply YES or NO."
    )
    assert (rendered.segments, rendered.language, rendered.provider_template) == (1, "en", None)


def test_a_whatsapp_rendering_carries_the_template_and_its_parameters_in_order() -> None:
    values = {"amount": "$42.00", "merchant": "CORNER SHOP"}
    rendered = render(FRAUD_T, FRAUD_T.variants[1], values)
    assert rendered.provider_template == "fraud_check_v2"
    # merchant comes first in this text: WhatsApp's {{1}} is the merchant.
    assert rendered.parameters == ("CORNER SHOP", "$42.00")
    assert rendered.segments is None


def test_a_repeated_placeholder_is_one_parameter() -> None:
    t = parse_template(simple_doc("{x}, yes {x}"))
    assert render(t, t.variants[0], {"x": "7"}, channel="web").parameters == ("7",)


def test_a_messenger_rendering_carries_its_tag() -> None:
    doc = simple_doc("{x}", channel="messenger")
    doc["variants"][0]["tag"] = "POST_PURCHASE_UPDATE"
    t = parse_template(doc)
    assert render(t, t.variants[0], {"x": "1"}).tag == "POST_PURCHASE_UPDATE"


def test_a_value_that_looks_like_a_placeholder_stays_literal() -> None:
    values = {"amount": "{merchant}", "merchant": "{amount} {0} {__class__} {{"}
    rendered = render(FRAUD_T, FRAUD_T.variants[0], check_values(FRAUD_T, values))
    assert rendered.text == (
        "Acme Bank: did you make a {merchant} purchase at {amount} {0} {__class__} {{? "
        "Reply YES or NO."
    )


def test_a_rendering_over_the_segment_limit_is_refused_as_too_many_segments() -> None:
    doc = simple_doc("{x}", channel="sms")
    doc["variables"][0]["max_length"] = 1000
    doc["variants"][0]["max_segments"] = 10
    t = parse_template(doc)
    assert render(t, t.variants[0], {"x": "a" * 1530}).segments == 10
    with pytest.raises(InvalidInput) as caught:
        render(t, t.variants[0], {"x": "a" * 1531})
    assert caught.value.code == "too_many_segments"
    assert caught.value.details == {"field": "text", "segments": 11, "limit": 10}


def test_a_channel_less_variant_sent_by_sms_is_held_to_its_segment_limit() -> None:
    t = parse_template(simple_doc("a" * 400 + "{x}"))
    assert render(t, t.variants[0], {"x": "1"}, channel="web").segments is None
    with pytest.raises(InvalidInput) as caught:
        render(t, t.variants[0], {"x": "ú"}, channel="sms")
    assert caught.value.code == "too_many_segments"


def test_a_variant_goes_only_by_its_own_channel() -> None:
    with pytest.raises(InvalidInput):
        render(FRAUD_T, FRAUD_T.variants[1], {"amount": "1", "merchant": "m"}, channel="sms")


def test_a_variant_of_another_template_is_refused() -> None:
    other = parse_template(simple_doc("{x}"))
    with pytest.raises(InvalidInput):
        render(FRAUD_T, other.variants[0], {"x": "1"})


brace_values = st.text(alphabet=st.sampled_from("{}ab 0_x!%"), min_size=1, max_size=30).filter(
    lambda s: s.strip() != ""
)


@settings(max_examples=200, deadline=None)
@given(amount=brace_values, merchant=brace_values)
def test_rendering_never_interprets_braces_in_values(amount: str, merchant: str) -> None:
    values = check_values(FRAUD_T, {"amount": amount, "merchant": merchant})
    rendered = render(FRAUD_T, FRAUD_T.variants[1], values)
    assert rendered.text == f"Did you make a purchase at {merchant} for {amount}?"
    assert rendered.parameters == (merchant, amount)


# -- replies ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "action"),
    [
        ("YES", ReplyAction.RESOLVE),
        ("yes", ReplyAction.RESOLVE),
        ("  Y  ", ReplyAction.RESOLVE),
        ("Yes!", ReplyAction.RESOLVE),
        ("no.", ReplyAction.HANDOFF),
        ("N\n", ReplyAction.HANDOFF),
        ("yes please", None),
        ("not me", None),
        ("", None),
        ("STOP", None),
    ],
)
def test_a_reply_matches_on_the_whole_message(text: str, action: ReplyAction | None) -> None:
    found = match_reply(FRAUD_T, text)
    assert (found.action if found else None) == action


def test_a_reply_of_several_words_matches_with_any_spacing() -> None:
    doc = fraud_doc()
    doc["replies"][1]["words"].append("not me")
    t = parse_template(doc)
    found = match_reply(t, "  NOT   me! ")
    assert found is not None
    assert found.queue == "fraud"


# -- the document form -----------------------------------------------------------------------


def test_the_document_form_parses_back_to_the_same_template() -> None:
    doc = template_to_doc(FRAUD_T)
    assert parse_template(json.loads(json.dumps(doc))) == FRAUD_T
    assert doc["expires_after_seconds"] == 3600
    assert doc["variants"][1] == {  # type: ignore[index]
        "language": "en",
        "channel": "whatsapp",
        "text": "Did you make a purchase at {merchant} for {amount}?",
        "provider_template": "fraud_check_v2",
        "tag": None,
        "max_segments": None,
    }


_LANGUAGES = ("en", "es", "pt-BR", "fr")
_CHANNELS = (None, "sms", "web", "whatsapp", "messenger")
_WORDS = ("YES", "Y", "NO", "N", "SI", "1", "2", "OK", "NOT ME", "CONFIRM", "ÇA VA")
_literal = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cc", "Cs")), max_size=12
)


@st.composite
def template_docs(draw: st.DrawFn) -> dict[str, Any]:
    purpose = draw(st.sampled_from(list(Purpose)))
    a_name = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True)
    names = draw(st.lists(a_name, max_size=3, unique=True))
    variables = []
    for name in names:
        example = draw(st.text(alphabet="abc 123$.", min_size=1, max_size=8).filter(str.strip))
        variables.append(
            {"name": name, "example": example, "max_length": draw(st.integers(len(example), 30))}
        )
    variants = []
    for language, channel in draw(
        st.lists(
            st.tuples(st.sampled_from(_LANGUAGES), st.sampled_from(_CHANNELS)),
            min_size=1,
            max_size=5,
            unique=True,
        )
    ):
        literal = draw(_literal).replace("{", "{{").replace("}", "}}")
        text = "Hi " + literal + " ".join("{" + n + "}" for n in names)
        if purpose in (Purpose.MARKETING, Purpose.COLLECTIONS):
            text += " Acme: responda STOP." if language == "es" else " Acme: reply STOP to opt out."
        variant: dict[str, Any] = {"language": language, "channel": channel, "text": text}
        if channel == "whatsapp":
            variant["provider_template"] = draw(st.from_regex(r"[a-z0-9_]{1,10}", fullmatch=True))
        if channel == "messenger":
            variant["tag"] = "ACCOUNT_UPDATE"
        if channel in (None, "sms"):
            variant["max_segments"] = draw(st.none() | st.integers(5, 10))
        variants.append(variant)
    words = draw(st.permutations(_WORDS))
    replies = []
    for i in range(draw(st.integers(0, 3))):
        action = draw(st.sampled_from(list(ReplyAction)))
        reply: dict[str, Any] = {"words": list(words[i * 3 : i * 3 + 3]), "action": action.value}
        if action is ReplyAction.HANDOFF:
            reply["queue"] = draw(st.sampled_from(["fraud", "billing.team"]))
        reply["answer"] = draw(st.none() | st.just("Thanks."))
        replies.append(reply)
    return {
        "name": draw(st.from_regex(r"[A-Za-z0-9_.-]{1,20}", fullmatch=True)),
        "purpose": purpose.value,
        "variables": variables,
        "variants": variants,
        "replies": replies,
        "webhook_url": "https://hooks.example.com/n" if draw(st.booleans()) else None,
        "expires_after_seconds": draw(st.none() | st.integers(60, 30 * 86400)),
        "sender": "Acme" if purpose is Purpose.MARKETING or draw(st.booleans()) else None,
    }


@settings(max_examples=150, deadline=None)
@given(template_docs())
def test_any_valid_template_survives_the_round_trip_through_its_document(
    doc: dict[str, Any],
) -> None:
    if any(r["action"] == "webhook" for r in doc["replies"]) and doc["webhook_url"] is None:
        doc["webhook_url"] = "https://hooks.example.com/n"
    t = parse_template(doc)
    again = template_to_doc(t)
    assert parse_template(json.loads(json.dumps(again))) == t
    assert template_to_doc(parse_template(again)) == again
