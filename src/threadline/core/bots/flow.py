"""A bot flow: what the built-in virtual agent says, asks, looks up and hands over.

Flows are data an admin writes as YAML in the inbox's bot settings (`core.bots.load`
turns the text into these types, with errors that name the line). Text the bot sends
may name collected fields as `{field}`; nothing else in it is interpreted, so a
customer's own words in a field are never executed or expanded.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


class FieldKind(enum.StrEnum):
    """How an `ask` step checks the customer's answer (`core.bots.fields`)."""

    TEXT = "text"
    EMAIL = "email"
    # A calendar date, in the customer's words ("2026-03-14", "14/03/2026", "March 14").
    DATE = "date"
    NUMBER = "number"
    PHONE = "phone"
    # A regular expression the whole answer must match (an order number).
    PATTERN = "pattern"
    # One of `choices`, case and spaces ignored; a number picks by position.
    CHOICE = "choice"
    # A payment card number (Luhn-checked); a secure field, never stored in clear.
    CARD = "card"
    # A card's expiry, MM/YY, not in the past.
    EXPIRY = "expiry"


@dataclass(frozen=True)
class Say:
    """An answer (an FAQ's text, or a result read back with `{field}`s)."""

    text: str
    line: int = 0


@dataclass(frozen=True)
class Ask:
    """Collects one field. An answer that does not validate is asked again with
    `error`; it counts as a fallback (two in a row hand over)."""

    field: str
    prompt: str
    kind: FieldKind = FieldKind.TEXT
    error: str | None = None
    pattern: str | None = None
    choices: tuple[str, ...] = ()
    # Secure: the answer is stored and shown masked (core.bots.fields.mask), and its
    # clear value only reaches the step's lookup.
    secure: bool = False
    line: int = 0


@dataclass(frozen=True)
class Lookup:
    """Asks the business's system (an HTTP endpoint, `{field}`s in the URL encoded).

    A 2xx answer's JSON is read into fields by `save` (field name -> a dotted path in
    the answer); 404 says `not_found` and asks the previous question again; anything
    else, or no answer within `timeout`, hands over with what is known."""

    name: str
    url: str
    method: str = "GET"
    timeout: float = 5.0
    save: Mapping[str, str] = field(default_factory=dict)
    not_found: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Verify:
    """Steps the customer up to *verified* (DESIGN.md §7) before what follows: a code
    goes to the address on file (`to`, usually a field a lookup filled) through the
    flow's code delivery endpoint. Skipped when the customer is verified already."""

    to: str
    line: int = 0


@dataclass(frozen=True)
class HandOver:
    """The flow says a human takes it from here (`skill` overrides the intent's)."""

    message: str | None = None
    skill: str | None = None
    line: int = 0


@dataclass(frozen=True)
class Close:
    message: str | None = None
    line: int = 0


Step = Say | Ask | Lookup | Verify | HandOver | Close


class Then(enum.StrEnum):
    """What follows an intent's last step."""

    # "Anything else?": a "no" closes (contained), anything more is a new request.
    ANYTHING_ELSE = "anything_else"
    CLOSE = "close"
    HANDOFF = "handoff"


@dataclass(frozen=True)
class Intent:
    name: str
    # Phrases the classifier is trained on.
    examples: tuple[str, ...]
    # Regular expressions that recognise the intent outright (confidence 1).
    patterns: tuple[str, ...] = ()
    # The queue a handoff from this intent goes to (the inbox's own when None).
    skill: str | None = None
    steps: tuple[Step, ...] = ()
    then: Then = Then.ANYTHING_ELSE
    line: int = 0


@dataclass(frozen=True)
class Routine:
    """A flow an agent hands a conversation to (agent to bot): its steps run, and the
    conversation returns to that agent with the fields collected."""

    name: str
    steps: tuple[Step, ...]
    # Said when the routine has finished, before the agent is back.
    done: str | None = None
    line: int = 0


@dataclass(frozen=True)
class CodeDelivery:
    """Where step-up codes go: the business's endpoint delivers each to the address on
    file (Threadline never needs to know the address's channel)."""

    url: str
    timeout: float = 5.0
    # Minutes a code stays valid, and wrong tries before the bot hands over.
    expires_minutes: int = 5
    attempts: int = 3
    line: int = 0


@dataclass(frozen=True)
class Messages:
    """What the bot says outside any intent. `{reopens}` in `out_of_hours` is when the
    queue's humans are back, in the queue's time zone."""

    greeting: str
    fallback: str = "Sorry, I didn't understand that. Could you say it another way?"
    handoff: str = "I'm passing you to a colleague, who will see everything you've told me."
    # Said as the bot hands over while the queue is closed: what the customer writes
    # next waits in the queue for the team.
    out_of_hours: str = (
        "Our team is away right now and back {reopens}. Tell me what you need and they "
        "will pick it up then."
    )
    closing_question: str = "Is there anything else I can help you with?"
    closing: str = "Thanks for getting in touch. Goodbye!"
    code_sent: str = "I've sent a 6-digit code to {to}. Please type it here."
    code_wrong: str = "That code isn't right. Please try again."
    code_expired: str = "That code has expired, so I've sent a new one."
    verified: str = "Thank you, you're verified."


@dataclass(frozen=True)
class Flow:
    name: str
    language: str
    messages: Messages
    intents: tuple[Intent, ...]
    routines: Mapping[str, Routine] = field(default_factory=dict)
    # Below this classifier confidence a message is not understood (a fallback).
    threshold: float = 0.5
    # Fallbacks in a row before a human takes over (DESIGN: two).
    max_fallbacks: int = 2
    # Phrases that ask for a human, besides the shipped English and Spanish ones.
    escalation_phrases: tuple[str, ...] = ()
    code_delivery: CodeDelivery | None = None

    def intent(self, name: str) -> Intent | None:
        return next((i for i in self.intents if i.name == name), None)
