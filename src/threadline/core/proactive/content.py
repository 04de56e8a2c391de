"""What a notification template's texts and expected replies may say.

The regulated rules:
- Collections (Regulation F, 12 CFR 1006.6(e)): every electronic communication about a
  debt must include "a clear and conspicuous statement describing a reasonable and simple
  method by which the consumer can opt out" of further electronic communications to that
  address. Every variant of a collections template, on every channel, must carry one.
- Marketing by SMS (CTIA Messaging Principles and Best Practices; TCPA practice): every
  message names the sender and says how to opt out. It applies to the variants that can
  go by SMS: channel "sms", and those without a channel (they serve any channel).
- Expected replies must not be the carriers' compliance keywords (STOP, START, HELP…,
  core.consent): the carriers act on those whatever the business expects.

An opt-out notice is recognised by a per-language phrase list, matched as whole words,
case-insensitively, with quotes dropped and spaces collapsed ("Reply 'STOP' to opt out"
carries "reply stop"); accents are matched as written ("envíe", not "envie"). Regional
tags use their base language's list ("es-MX" uses "es"). A language without a list must
carry the word STOP itself: the carriers honour it in any language.

Also here: the {placeholder} syntax of a text, and its SMS segment limit.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass

from threadline.core.consent import keyword_of
from threadline.core.proactive.purposes import Purpose
from threadline.core.proactive.sms import segments

OPT_OUT_PHRASES: Mapping[str, tuple[str, ...]] = {
    "en": ("reply stop", "text stop", "opt out", "opt-out", "unsubscribe"),
    "es": ("responda stop", "envíe stop", "baja", "cancelar suscripción"),
}
# Where no list exists: the carriers' own keyword.
_FALLBACK_PHRASE = "stop"
# What a variant may be sent as an SMS on: "sms", and None (any channel).
SMS_CHANNELS = frozenset({"sms", None})
_QUOTES = str.maketrans("", "", "\"'`\u201c\u201d\u2018\u2019\u00ab\u00bb")

MAX_WORD_CHARS = 20
VARIABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,31}")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


# -- opt-out notices and the sender --------------------------------------------------------


def _normalised(text: str) -> str:
    return " ".join(text.translate(_QUOTES).casefold().split())


def _phrases(language: str) -> tuple[str, ...]:
    return OPT_OUT_PHRASES.get(language.split("-", 1)[0].casefold(), (_FALLBACK_PHRASE,))


def has_opt_out_notice(text: str, language: str) -> bool:
    """Whether `text` tells the customer how to opt out, in `language`'s phrases."""
    normalised = _normalised(text)
    return any(
        re.search(rf"(?<!\w){re.escape(phrase)}(?!\w)", normalised) for phrase in _phrases(language)
    )


def opt_out_hint(language: str) -> str:
    """What to add, for the error message."""
    phrases = _phrases(language)
    if phrases == (_FALLBACK_PHRASE,):
        return f"the word STOP (no opt-out phrases are known for {language!r})"
    return "one of: " + ", ".join(repr(p) for p in phrases)


def sender_problem(purpose: Purpose, sender: str | None) -> str | None:
    """The template-level rule: a marketing template says whom it comes from."""
    if purpose is Purpose.MARKETING and sender is None:
        return "a marketing template needs a sender: the business name as customers know it"
    return None


def variant_problems(
    purpose: Purpose, sender: str | None, language: str, channel: str | None, text: str
) -> list[str]:
    """What one variant's text lacks under the content rules (empty when nothing)."""
    found: list[str] = []
    if purpose is Purpose.COLLECTIONS and not has_opt_out_notice(text, language):
        found.append(
            "a collections message must carry an opt-out notice (Regulation F, "
            f"12 CFR 1006.6(e)); add {opt_out_hint(language)}"
        )
    if purpose is Purpose.MARKETING and channel in SMS_CHANNELS:
        if sender is not None and sender.casefold() not in text.casefold():
            found.append(f"an SMS marketing message must name the sender; add {sender!r}")
        if not has_opt_out_notice(text, language):
            found.append(
                f"an SMS marketing message must say how to opt out; add {opt_out_hint(language)}"
            )
    return found


# -- placeholders --------------------------------------------------------------------------


@dataclass(frozen=True)
class Slot:
    """A {name} placeholder in a text."""

    name: str


class MalformedText(ValueError):
    pass


def pieces(text: str) -> list[str | Slot]:
    """The text as literal runs and placeholders ("{{" and "}}" are literal braces), or
    MalformedText saying where the first bad brace is."""
    found: list[str | Slot] = []
    literal, position = [], 0
    for match in _TOKEN.finditer(text):
        literal.append(text[position : match.start()])
        position, token, where = match.end(), match.group(0), match.start() + 1
        if token in ("{{", "}}"):
            literal.append(token[0])
        elif match.group(1) is None:
            raise MalformedText(
                f"a lone {token!r} at character {where}; write {token * 2} for a literal one"
            )
        elif not VARIABLE_NAME.fullmatch(match.group(1)):
            raise MalformedText(
                f"{token} at character {where} is not a placeholder: a placeholder is "
                "{name} with a declared variable's name; write {{ and }} for literal braces"
            )
        else:
            found += ["".join(literal), Slot(match.group(1))]
            literal = []
    found.append("".join(literal) + text[position:])
    return [p for p in found if p != ""]


def fill(parts: list[str | Slot], values: Mapping[str, str]) -> str:
    """Plain substitution: a value is never parsed, so braces in it stay literal."""
    return "".join(values[p.name] if isinstance(p, Slot) else p for p in parts)


def slot_names(parts: list[str | Slot]) -> list[str]:
    """The placeholders' names in order of first appearance."""
    return list(dict.fromkeys(p.name for p in parts if isinstance(p, Slot)))


def has_controls(text: str, *, newline: bool = True) -> bool:
    """Control characters, other than a newline where `newline` allows it."""
    return any(unicodedata.category(c) == "Cc" and not (newline and c == "\n") for c in text)


# -- SMS segments ---------------------------------------------------------------------------


def segment_problems(
    parts: list[str | Slot],
    examples: Mapping[str, str],
    longest: Mapping[str, int],
    limit: int,
) -> list[str]:
    """The text must fit `limit` SMS segments filled with the variables' examples, and
    with every variable at its longest ("x" repeated: GSM-7, one septet each)."""
    fills = {
        "with the variables' examples": examples,
        "with every variable at its max_length": {k: "x" * n for k, n in longest.items()},
    }
    found: list[str] = []
    for case, values in fills.items():
        counted = segments(fill(parts, values))
        if counted.segments > limit:
            found.append(
                f"{case} the text takes {counted.segments} SMS segments ({counted.encoding}), "
                f"more than max_segments {limit}"
            )
    return found


# -- expected replies ----------------------------------------------------------------------


def reply_key(text: str) -> str:
    """A reply as compared: surrounding spaces and a trailing '.' or '!' dropped, inner
    spaces collapsed, any case (as core.consent.keyword_of, which drops inner spaces)."""
    return " ".join(text.split()).rstrip(".!").rstrip().casefold()


def reply_word_problem(word: object) -> str | None:
    """Why `word` cannot be an expected reply, if it cannot."""
    if not isinstance(word, str) or not 1 <= len(reply_key(word)) <= MAX_WORD_CHARS:
        return f"a word is text of 1-{MAX_WORD_CHARS} characters"
    if has_controls(word, newline=False):
        return "must not contain control characters"
    if keyword_of(word) is not None:
        return f"{word!r} is an SMS compliance keyword: the carriers act on it, not the business"
    return None
