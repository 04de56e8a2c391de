"""The one paragraph an agent reads above the thread when a bot hands over.

Built from what the bot knows, so it never invents: the request, what the customer
gave, how sure we are of who they are, and why a human now has it.
"""

from __future__ import annotations

from collections.abc import Mapping

from threadline.core.bots.outcome import HandoffReason, HandTo
from threadline.core.verification import Verification

_WHY = {
    HandoffReason.CUSTOMER_ASKED: "They asked for a person.",
    HandoffReason.FALLBACKS: "The bot did not understand them twice in a row.",
    HandoffReason.FLOW: "The flow hands this request to a person.",
    HandoffReason.VERIFICATION_FAILED: (
        "They could not verify their identity, so no account details were disclosed."
    ),
    HandoffReason.LOOKUP_FAILED: "A look-up in our systems failed",
    HandoffReason.BOT_UNAVAILABLE: "The bot was unavailable",
    HandoffReason.ROUTINE_DONE: "The routine you handed to the bot has finished.",
    HandoffReason.TAKEN_BY_STAFF: "A supervisor took it from the bot.",
}
# Long enough for an order's worth of details; the fields list has them all anyway.
MAX_FIELDS_IN_SUMMARY = 8


def summarize(
    hand: HandTo,
    *,
    fields: Mapping[str, str],
    verification: Verification,
    first_words: str | None = None,
) -> str:
    parts: list[str] = []
    if hand.intent:
        sure = f", {round(hand.confidence * 100)}% sure" if hand.confidence is not None else ""
        parts.append(f"The customer asked about {_words(hand.intent)} ({hand.intent}{sure}).")
    elif first_words:
        quoted = first_words if len(first_words) <= 160 else first_words[:157] + "…"
        parts.append(f"The customer wrote: “{quoted}”.")
    given = [
        f"{_words(name)}: {value}"
        for name, value in list(fields.items())[:MAX_FIELDS_IN_SUMMARY]
        if name != "request"
    ]
    if given:
        parts.append("They gave " + "; ".join(given) + ".")
    if "request" in fields:
        parts.append(f"Their request for when the team is back: “{fields['request']}”.")
    level = {
        Verification.VERIFIED: "They are verified.",
        Verification.IDENTIFIED: (
            "They are identified by their channel, not verified: do not disclose account details."
        ),
        Verification.ANONYMOUS: "They are anonymous: do not disclose account details.",
    }[verification]
    parts.append(level)
    why = _WHY[hand.reason]
    if hand.reason in (HandoffReason.LOOKUP_FAILED, HandoffReason.BOT_UNAVAILABLE):
        why += f" ({hand.detail})." if hand.detail else "."
    parts.append(why)
    if hand.out_of_hours:
        parts.append("It arrived while the team was away.")
    return " ".join(parts)


def _words(name: str) -> str:
    return name.replace("_", " ")
