"""Flow YAML is loaded into flow types, and every mistake is refused naming its line."""

from __future__ import annotations

from importlib import resources
from typing import Any

import pytest

from threadline.core.bots.flow import (
    Ask,
    Close,
    CodeDelivery,
    FieldKind,
    HandOver,
    Lookup,
    Say,
    Then,
    Verify,
)
from threadline.core.bots.load import MAX_ERRORS, FlowError, load_flow
from threadline.core.errors import InvalidInput

ACME = """\
name: Acme assistant
language: es
threshold: 0.4
max_fallbacks: 3
escalation_phrases: ["speak to a manager", "quiero una persona"]
messages:
  greeting: "Hi {customer_name}! I can check an order or tell you our opening hours."
  out_of_hours: "We're back {reopens}; tell me what you need."
  code_sent: "I've sent a code to {to}."
code_delivery:
  url: https://acme.example/notify/code
  timeout: 2.5
  expires_minutes: 10
  attempts: 3
intents:
  opening_hours:
    examples: ["when are you open", "opening hours", "are you open on sunday"]
    answer: "We're open 8-20 on weekdays. {{No appointment needed}}."
  order_status:
    examples: ["where is my order", "track my parcel"]
    patterns: ["\\\\border status\\\\b"]
    skill: Orders
    then: close
    steps:
      - ask: order_number
        prompt: "What's your order number? (like A-12345)"
        type: pattern
        pattern: "A-\\\\d{5}"
        error: "Order numbers look like A-12345."
      - lookup: order
        url: "https://shop.example/orders/{order_number}?lang=es"
        timeout: 3
        save: {status: status, eta: delivery.eta, phone: customer.phone}
        not_found: "I couldn't find order {order_number}."
      - verify: "{phone}"
      - say: "Order {order_number} is {status}, arriving {eta}."
  delivery_change:
    examples: ["change my delivery", "deliver somewhere else"]
    steps:
      - ask: option
        prompt: "Home or store?"
        type: choice
        choices: [Home delivery, Pick up in store]
      - ask: day
        prompt: "Which day?"
        type: date
      - lookup: change
        url: https://shop.example/delivery
        method: POST
      - handoff:
          message: "A colleague will confirm {day}."
          skill: logistics
  talk_to_agent:
    patterns: ["\\\\b(agent|human|persona)\\\\b"]
    then: handoff
  goodbye:
    examples: ["bye", "that's all"]
    steps:
      - close:
routines:
  collect_payment:
    steps:
      - ask: card
        prompt: "Your card number, please."
        type: card
      - ask: expiry
        prompt: "And its expiry (MM/YY)?"
        type: expiry
      - ask: holder
        prompt: "The name on the card?"
        secure: true
      - handoff: null
    done: "Thanks {holder}, your agent has it."
"""


def test_a_realistic_flow_loads_into_the_flow_types() -> None:
    flow = load_flow(ACME)
    assert (flow.name, flow.language, flow.threshold, flow.max_fallbacks) == (
        "Acme assistant",
        "es",
        0.4,
        3,
    )
    assert flow.escalation_phrases == ("speak to a manager", "quiero una persona")
    assert flow.messages.out_of_hours == "We're back {reopens}; tell me what you need."
    # Messages not given keep their defaults.
    assert flow.messages.closing_question == "Is there anything else I can help you with?"
    assert flow.code_delivery == CodeDelivery(
        "https://acme.example/notify/code", 2.5, 10, 3, line=10
    )
    assert [i.name for i in flow.intents] == [
        "opening_hours",
        "order_status",
        "delivery_change",
        "talk_to_agent",
        "goodbye",
    ]


def test_an_answer_is_a_single_say_step() -> None:
    faq = load_flow(ACME).intent("opening_hours")
    assert faq is not None
    assert faq.line == 16
    assert faq.steps == (Say("We're open 8-20 on weekdays. {{No appointment needed}}.", line=18),)
    assert faq.then is Then.ANYTHING_ELSE


def test_each_step_type_loads_with_its_line() -> None:
    flow = load_flow(ACME)
    order = flow.intent("order_status")
    assert order is not None
    assert (order.skill, order.then, order.patterns) == (
        "orders",
        Then.CLOSE,
        (r"\border status\b",),
    )
    assert order.steps == (
        Ask(
            "order_number",
            "What's your order number? (like A-12345)",
            FieldKind.PATTERN,
            error="Order numbers look like A-12345.",
            pattern=r"A-\d{5}",
            line=25,
        ),
        Lookup(
            "order",
            "https://shop.example/orders/{order_number}?lang=es",
            timeout=3.0,
            save={"status": "status", "eta": "delivery.eta", "phone": "customer.phone"},
            not_found="I couldn't find order {order_number}.",
            line=30,
        ),
        Verify("{phone}", line=35),
        Say("Order {order_number} is {status}, arriving {eta}.", line=36),
    )
    change = flow.intent("delivery_change")
    assert change is not None
    assert change.steps[0] == Ask(
        "option",
        "Home or store?",
        FieldKind.CHOICE,
        choices=("Home delivery", "Pick up in store"),
        line=40,
    )
    assert change.steps[2] == Lookup("change", "https://shop.example/delivery", "POST", line=47)
    assert change.steps[3] == HandOver("A colleague will confirm {day}.", "logistics", line=50)
    goodbye = flow.intent("goodbye")
    assert goodbye is not None
    assert goodbye.steps == (Close(None, line=59),)


def test_an_intent_that_only_hands_over_needs_no_steps() -> None:
    agent = load_flow(ACME).intent("talk_to_agent")
    assert agent is not None
    assert (agent.steps, agent.then, agent.examples) == ((), Then.HANDOFF, ())


def test_a_routine_loads_with_secure_fields_and_its_done_message() -> None:
    routine = load_flow(ACME).routines["collect_payment"]
    assert routine.line == 61
    assert routine.done == "Thanks {holder}, your agent has it."
    card, expiry, holder, back = routine.steps
    assert isinstance(card, Ask)
    assert isinstance(expiry, Ask)
    assert isinstance(holder, Ask)
    assert (card.kind, expiry.kind, holder.kind) == (FieldKind.CARD, FieldKind.EXPIRY, "text")
    # Card and expiry answers are secure whether or not the flow says so.
    assert (card.secure, expiry.secure, holder.secure) == (True, True, True)
    assert back == HandOver(line=72)


def test_a_minimal_flow_gets_the_defaults() -> None:
    flow = load_flow(MINIMAL)
    assert (flow.language, flow.threshold, flow.max_fallbacks) == ("en", 0.5, 2)
    assert flow.code_delivery is None
    assert flow.routines == {}


# -- one mistake at a time --------------------------------------------------------------------

MINIMAL = """\
name: Acme
messages:
  greeting: "Hi"
intents:
  hours:
    examples: ["when are you open", "opening hours"]
    answer: "8 to 8."
"""

HEAD = MINIMAL.removesuffix('    answer: "8 to 8."\n')


def broken(flow: str) -> tuple[str, int]:
    """The flow without its `# <-` marker, and the marked line's number."""
    lines = flow.splitlines()
    marked = [n for n, line in enumerate(lines, start=1) if "# <-" in line]
    assert len(marked) == 1
    return "\n".join(line.split("  # <-")[0] for line in lines) + "\n", marked[0]


DELIVERY = "code_delivery:\n  url: https://acme.example/code\n"


def with_steps(steps: str, delivery: str = "") -> str:
    return HEAD.replace("intents:", delivery + "intents:") + "    steps:\n" + steps


BROKEN = {
    "misspelt top key": (
        MINIMAL + "languag: en  # <-\n",
        "",
        'unknown key "languag" (did you mean "language"?)',
    ),
    "missing name": (
        MINIMAL.replace("name: Acme\n", "").replace("messages:", "messages:  # <-"),
        "",
        "name is required",
    ),
    "yes as a name": (MINIMAL.replace("name: Acme", "name: yes  # <-"), "", "name must be text"),
    "threshold out of range": (
        MINIMAL + "threshold: 1.5  # <-\n",
        "",
        "threshold must be a number from 0 to 1 (got 1.5)",
    ),
    "fractional max_fallbacks": (
        MINIMAL + "max_fallbacks: 2.5  # <-\n",
        "",
        "max_fallbacks must be a whole number from 1 to 10",
    ),
    "unknown language": (
        MINIMAL + "language: fr  # <-\n",
        "",
        'language must be one of en, es (got "fr")',
    ),
    "missing greeting": (
        MINIMAL.replace('greeting: "Hi"', 'fallback: "Eh?"  # <-'),
        "messages",
        "greeting is required",
    ),
    "a name a message cannot use": (
        MINIMAL.replace('greeting: "Hi"', 'greeting: "Code sent to {to}"  # <-'),
        "messages",
        "greeting uses {to}, but it is not available here",
    ),
    "misspelt intent key": (
        MINIMAL.replace("    examples:", "    exampels:  # <-\n    examples:"),
        "intents.hours",
        'unknown key "exampels" (did you mean "examples"?)',
    ),
    "intent name not a name": (
        MINIMAL.replace("  hours:", "  Opening-Hours:  # <-"),
        "intents",
        "an intent's name must be lower-case letters",
    ),
    "one example": (
        MINIMAL.replace('["when are you open", "opening hours"]', '["hours"]  # <-'),
        "intents.hours",
        "examples needs at least 2 phrases",
    ),
    "pattern that does not compile": (
        MINIMAL + '    patterns: ["(open"]  # <-\n',
        "intents.hours",
        "patterns[0] is not a valid regular expression",
    ),
    "pattern matching everything": (
        MINIMAL + '    patterns: [".*"]  # <-\n',
        "intents.hours",
        "patterns[0] matches an empty message",
    ),
    "bad skill": (
        MINIMAL + '    skill: "billing team!"  # <-\n',
        "intents.hours",
        "skill is not valid",
    ),
    "unknown then": (
        MINIMAL + "    then: maybe  # <-\n",
        "intents.hours",
        "then must be one of anything_else, close, handoff",
    ),
    "answer and steps": (
        MINIMAL + "    steps:  # <-\n      - say: hi\n",
        "intents.hours",
        "give answer or steps, not both",
    ),
    "a step with two kinds": (
        with_steps("      - say: hi  # <-\n        close: bye\n"),
        "intents.hours.steps[0]",
        "a step must have exactly one of say, ask, lookup, verify, handoff, close "
        "(got say and close)",
    ),
    "a step that is just text": (
        with_steps('      - "hello"  # <-\n'),
        "intents.hours.steps[0]",
        'a step must have exactly one of say, ask, lookup, verify, handoff, close (got "hello")',
    ),
    "unknown field type": (
        with_steps(
            "      - say: hi\n"
            "      - ask: email\n"
            '        prompt: "Your email?"\n'
            "        type: mail  # <-\n"
        ),
        "intents.hours.steps[1].ask",
        "type must be one of text, email, date, number, phone, pattern, choice, card, expiry "
        '(got "mail")',
    ),
    "misspelt step key": (
        with_steps('      - ask: email\n        promt: "Your email?"  # <-\n        prompt: "x"\n'),
        "intents.hours.steps[0].ask",
        'unknown key "promt" (did you mean "prompt"?)',
    ),
    "ask without a prompt": (
        with_steps("      - ask: email  # <-\n        type: email\n"),
        "intents.hours.steps[0].ask",
        "prompt is required",
    ),
    "pattern type without a pattern": (
        with_steps('      - ask: order  # <-\n        prompt: "Order?"\n        type: pattern\n'),
        "intents.hours.steps[0].ask",
        "pattern is required with type: pattern",
    ),
    "one choice": (
        with_steps(
            '      - ask: size\n        prompt: "Size?"\n        type: choice\n'
            "        choices: [large]  # <-\n"
        ),
        "intents.hours.steps[0].ask",
        "choices needs at least 2 choices",
    ),
    "a field name that is not a name": (
        with_steps('      - ask: Order Number  # <-\n        prompt: "Order?"\n'),
        "intents.hours.steps[0].ask",
        "ask must be lower-case letters",
    ),
    "a field used before it is asked": (
        with_steps(
            '      - say: "Order {order} is on its way."  # <-\n'
            '      - ask: order\n        prompt: "Order?"\n'
        ),
        "intents.hours.steps[0].say",
        "say uses {order}, but no earlier step asks for or saves it (available: customer_name)",
    ),
    "a url that is not http": (
        with_steps("      - lookup: order\n        url: ftp://shop.example/orders  # <-\n"),
        "intents.hours.steps[0].lookup",
        "url must be an http or https URL with a host",
    ),
    "a field in a url's host": (
        with_steps(
            '      - ask: shop\n        prompt: "Shop?"\n'
            '      - lookup: order\n        url: "https://{shop}.example/orders"  # <-\n'
        ),
        "intents.hours.steps[1].lookup",
        "url can use {field}s in its path and query, not its host",
    ),
    "a lookup timeout too long": (
        with_steps(
            "      - lookup: order\n        url: https://shop.example/o\n"
            "        timeout: 60  # <-\n"
        ),
        "intents.hours.steps[0].lookup",
        "timeout must be a number from 0.1 to 30 (got 60)",
    ),
    "an unknown method": (
        with_steps(
            "      - lookup: order\n        url: https://shop.example/o\n"
            "        method: DELETE  # <-\n"
        ),
        "intents.hours.steps[0].lookup",
        "method must be one of GET, POST",
    ),
    "a save path with spaces": (
        with_steps(
            "      - lookup: order\n        url: https://shop.example/o\n"
            '        save: {status: "the status"}  # <-\n'
        ),
        "intents.hours.steps[0].lookup",
        "save.status must be a dotted path",
    ),
    "verify without code delivery": (
        with_steps('      - verify: "{customer_name}"  # <-\n'),
        "intents.hours.steps[0].verify",
        "verify needs code_delivery",
    ),
    "verify to a typed address": (
        with_steps(
            '      - ask: phone\n        prompt: "Your phone?"\n        type: phone\n'
            '      - verify: "{phone}"  # <-\n',
            DELIVERY,
        ),
        "intents.hours.steps[1].verify",
        "the address on file must come from a lookup's saved field, not from what the "
        "customer typed ({phone} is asked at line 10)",
    ),
    "verify to the customer's name": (
        with_steps('      - verify: "{customer_name}"  # <-\n', DELIVERY),
        "intents.hours.steps[0].verify",
        "the address on file must come from a lookup's saved field, not {customer_name}",
    ),
    "verify to a fixed address": (
        with_steps('      - verify: "+15550100001"  # <-\n', DELIVERY),
        "intents.hours.steps[0].verify",
        "the address on file must come from a lookup's saved field, like",
    ),
    "a card number in a lookup's path": (
        with_steps(
            '      - ask: card\n        prompt: "Card?"\n        type: card\n'
            '      - lookup: check\n        url: "https://pay.example/cards/{card}"  # <-\n'
        ),
        "intents.hours.steps[1].lookup",
        "url uses {card}, a secure answer (asked at line 8); secure answers may only be "
        "sent in the body of a method: POST lookup, never in its url",
    ),
    "a secure answer in a POST lookup's query": (
        with_steps(
            '      - ask: pin\n        prompt: "PIN?"\n        secure: yes\n'
            "      - lookup: check\n        method: POST\n"
            '        url: "https://pay.example/check?pin={pin}"  # <-\n'
        ),
        "intents.hours.steps[1].lookup",
        "url uses {pin}, a secure answer (asked at line 8)",
    ),
    "a step after a handoff": (
        with_steps("      - handoff: null\n      - say: bye  # <-\n"),
        "intents.hours.steps[1]",
        "this step never runs: the handoff before it ends the conversation",
    ),
    "a handoff with an unknown key": (
        with_steps("      - handoff:\n          mesage: hi  # <-\n"),
        "intents.hours.steps[0].handoff",
        'unknown key "mesage" (did you mean "message"?)',
    ),
    "yes as a say": (
        with_steps("      - say: yes  # <-\n"),
        "intents.hours.steps[0].say",
        "say must be text (got yes; quote it)",
    ),
    "a text too long": (
        with_steps(f"      - say: {'a' * 4097}  # <-\n"),
        "intents.hours.steps[0].say",
        "say must be 1 to 4096 characters (got 4097)",
    ),
    "code delivery without a url": (
        with_steps("      - say: hi\n", "code_delivery:  # <-\n  timeout: 5\n"),
        "code_delivery",
        "url is required",
    ),
    "a routine without steps": (
        MINIMAL + 'routines:\n  payment:  # <-\n    done: "Thanks"\n',
        "routines.payment",
        "steps is required",
    ),
    "a duplicate key": (
        MINIMAL + '    answer: "9 to 9."  # <-\n',
        "intents.hours",
        'duplicate key "answer" (first on line 7)',
    ),
}


@pytest.mark.parametrize(("flow", "path", "message"), BROKEN.values(), ids=BROKEN.keys())
def test_a_mistake_is_refused_naming_its_line_and_path(flow: str, path: str, message: str) -> None:
    text, line = broken(flow)
    with pytest.raises(FlowError) as caught:
        load_flow(text)
    error = caught.value
    assert (error.line, error.path) == (line, path), error.message
    prefix = f"line {line}: {path}: " if path else f"line {line}: "
    assert error.message.startswith(prefix + message), error.message
    assert error.details["field"] == "flow"
    assert (error.details["line"], error.details["path"]) == (line, path)


def test_the_example_from_the_format_reads_as_documented() -> None:
    text = with_steps(
        '      - say: "Let me check."\n'
        "      - ask: order_number\n"
        '        prompt: "Your order number?"\n'
        "        type: mail\n"
    ).replace("hours:", "order_status:")
    with pytest.raises(FlowError) as caught:
        load_flow(text)
    assert caught.value.message == (
        "line 11: intents.order_status.steps[1].ask: type must be one of text, email, date, "
        'number, phone, pattern, choice, card, expiry (got "mail")'
    )


def test_a_flow_error_is_invalid_input() -> None:
    with pytest.raises(InvalidInput):
        load_flow("name: Acme\n")


# -- several mistakes together ----------------------------------------------------------------


def reported(error: FlowError) -> list[dict[str, Any]]:
    errors = error.details["errors"]
    assert isinstance(errors, list)
    return errors


def test_several_mistakes_are_reported_together_first_line_first() -> None:
    text = with_steps(
        "      - say: yes\n"
        '      - ask: day\n        prompt: "Which day?"\n        type: dat\n'
        '      - say: "On {day}, or {dya}."\n'
    ).replace('greeting: "Hi"', "greeting: 12")
    with pytest.raises(FlowError) as caught:
        load_flow(text)
    error = caught.value
    assert [(p["line"], p["path"]) for p in reported(error)] == [
        (3, "messages"),
        (8, "intents.hours.steps[0].say"),
        (11, "intents.hours.steps[1].ask"),
        (12, "intents.hours.steps[2].say"),
    ]
    assert error.message.splitlines() == [p["message"] for p in reported(error)]
    assert error.message.startswith("line 3: messages: greeting must be text (got 12; quote it)")
    assert "{dya}" in error.message.splitlines()[-1]
    # The field the broken step asks for is not reported missing as well.
    assert "{day}," not in error.message


def test_at_most_ten_mistakes_are_listed() -> None:
    steps = "".join("      - say: yes\n" for _ in range(15))
    with pytest.raises(FlowError) as caught:
        load_flow(with_steps(steps))
    error = caught.value
    assert len(reported(error)) == MAX_ERRORS
    assert error.message.splitlines()[-1] == "(and more; only the first 10 are shown)"
    assert [p["line"] for p in reported(error)] == list(range(8, 18))


# -- what a verify and a secure answer may be built from ------------------------------------


def test_a_verify_to_a_field_a_lookup_saved_loads() -> None:
    flow = load_flow(
        with_steps(
            '      - ask: order\n        prompt: "Order?"\n'
            '      - lookup: order\n        url: "https://shop.example/orders/{order}"\n'
            "        save: {phone_on_file: customer.phone}\n"
            '      - verify: "{phone_on_file}"\n',
            DELIVERY,
        )
    )
    assert flow.intents[0].steps[2] == Verify("{phone_on_file}", line=15)


def test_a_typed_field_a_lookup_also_saves_is_still_not_the_address_on_file() -> None:
    # Were the lookup's answer to lack the path, the customer's answer would remain.
    text = with_steps(
        '      - ask: email\n        prompt: "Email?"\n        type: email\n'
        '      - lookup: customer\n        url: "https://shop.example/customers/{email}"\n'
        "        save: {email: email, phone: phone}\n"
        '      - verify: "{phone} {email}"\n',
        DELIVERY,
    )
    with pytest.raises(FlowError) as caught:
        load_flow(text)
    assert caught.value.message == (
        "line 16: intents.hours.steps[2].verify: the address on file must come from a "
        "lookup's saved field, not from what the customer typed ({email} is asked at line 10)"
    )


def test_a_routines_verify_is_checked_like_an_intents() -> None:
    text = (
        DELIVERY
        + MINIMAL
        + "routines:\n  confirm:\n    steps:\n"
        + '      - ask: email\n        prompt: "Email?"\n'
        + '      - verify: "{email}"\n'
    )
    with pytest.raises(FlowError) as caught:
        load_flow(text)
    assert caught.value.path == "routines.confirm.steps[1].verify"
    assert "({email} is asked at line 13)" in caught.value.message


def test_a_secure_answer_may_travel_in_a_post_lookups_body() -> None:
    flow = load_flow(
        with_steps(
            '      - ask: card\n        prompt: "Card?"\n        type: card\n'
            '      - ask: expiry\n        prompt: "Expiry?"\n        type: expiry\n'
            '      - ask: order\n        prompt: "Order?"\n'
            '      - lookup: pay\n        url: "https://pay.example/orders/{order}/pay"\n'
            "        method: POST\n"
        )
    )
    lookup = flow.intents[0].steps[3]
    assert isinstance(lookup, Lookup)
    assert (lookup.url, lookup.method) == ("https://pay.example/orders/{order}/pay", "POST")


@pytest.mark.parametrize("secure", ["false", "no"])
def test_an_answer_not_marked_secure_may_be_in_a_url(secure: str) -> None:
    flow = load_flow(
        with_steps(
            f'      - ask: pin\n        prompt: "PIN?"\n        secure: {secure}\n'
            '      - lookup: check\n        url: "https://shop.example/check?pin={pin}"\n'
        )
    )
    assert len(flow.intents[0].steps) == 2


def test_the_shipped_demo_flow_loads() -> None:
    text = resources.files("threadline.bots").joinpath("demo_flow.yaml").read_text()
    flow = load_flow(text)
    change = flow.intent("order_address_change")
    assert change is not None
    assert Verify("{phone_on_file}", line=142) in change.steps


# -- YAML itself ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ('name: Acme\nmessages:\n  greeting: "Hi\nintents: {}\n', 4, "not valid YAML: while"),
        ("name: Acme\nmessages: [a, b\nintents: x\n", 3, "not valid YAML"),
        ("name: Acme\n\tmessages: {}\n", 2, "not valid YAML"),
        (MINIMAL + "---\nname: other\n", 8, "not valid YAML"),
        (MINIMAL + "x: \x00\n", 8, "not valid YAML: the character U+0000 is not allowed"),
    ],
)
def test_a_yaml_syntax_error_names_its_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(FlowError) as caught:
        load_flow(text)
    assert caught.value.line == line, caught.value.message
    assert caught.value.message.startswith(f"line {line}: {fragment}")


def test_aliases_are_refused() -> None:
    laughs = MINIMAL + 'escalation_phrases: &lol ["lol", "lol"]\nx: [*lol, *lol]\n'
    with pytest.raises(FlowError) as caught:
        load_flow(laughs)
    assert caught.value.message == ("line 8: YAML anchors and aliases (&, *) are not allowed")


@pytest.mark.parametrize("opening", ["[", "{a: ", "- "])
def test_a_flow_nested_thousands_deep_is_refused_not_a_crash(opening: str) -> None:
    with pytest.raises(FlowError) as caught:
        load_flow(opening * 5000)
    assert caught.value.message.startswith("line 1: the flow is nested too deeply")


def test_deep_block_nesting_is_refused_naming_the_line_it_goes_too_deep() -> None:
    text = "a:\n" + "".join(" " * depth + f"b{depth}:\n" for depth in range(1, 100))
    with pytest.raises(FlowError) as caught:
        load_flow(text)
    assert caught.value.message == "line 64: the flow is nested too deeply (more than 64 levels)"


def test_an_empty_flow_is_refused() -> None:
    with pytest.raises(FlowError, match="line 1: the flow is empty"):
        load_flow("# nothing yet\n")


def test_a_flow_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(FlowError, match=r"line 1: the flow must be a mapping \(got a list\)"):
        load_flow("- name: Acme\n")


def test_a_quoted_yes_is_text() -> None:
    flow = load_flow(with_steps('      - say: "yes"\n'))
    assert flow.intents[0].steps == (Say("yes", line=8),)


# -- limits -----------------------------------------------------------------------------------


def test_a_flow_over_256_kib_is_refused_before_parsing() -> None:
    with pytest.raises(FlowError, match="line 1: the flow is 262145 bytes; the limit is 262144"):
        load_flow(MINIMAL + "#" * (256 * 1024 - len(MINIMAL)) + "\n")


def test_more_than_200_intents_are_refused() -> None:
    intents = "".join(f"  i{n}:\n    patterns: ['x{n}']\n    then: handoff\n" for n in range(201))
    with pytest.raises(FlowError, match="line 5: intents: there are 201 intents; the limit is 200"):
        load_flow(HEAD.split("  hours:")[0] + intents)


def test_more_than_50_steps_are_refused() -> None:
    with pytest.raises(FlowError, match="steps has 51 items; the limit is 50"):
        load_flow(with_steps("      - say: hi\n" * 51))


def test_more_than_500_examples_are_refused() -> None:
    examples = ", ".join(f"'e{n}'" for n in range(501))
    text = MINIMAL.replace('["when are you open", "opening hours"]', f"[{examples}]")
    with pytest.raises(FlowError, match="examples has 501 items; the limit is 500"):
        load_flow(text)
