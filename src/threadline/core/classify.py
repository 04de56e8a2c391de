"""What an inbound message means for the workflow (DESIGN.md §5): closing, ineffectual or
substantive, given the last outbound message.

A false *ineffectual* leaves a customer unanswered, so the rules favour precision: a
message is ineffectual or closing only when every word of it is accounted for by the
lexicons (thanks, acknowledgements, polite sign-offs, "nothing more" answers). Anything
else, a question mark, a digit, a link or one unknown word, makes it substantive.

The lexicons are data (`Lexicon`, one per language, loaded by the shell); all of them
apply to every message, since customers mix languages ("ok gracias").
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


class MessageKind(enum.StrEnum):
    CLOSING = "closing"
    INEFFECTUAL = "ineffectual"
    SUBSTANTIVE = "substantive"


class OutboundContext(enum.StrEnum):
    """What the conversation's last outbound message asked of the customer: all a
    reply's classification needs to know about it, so a conversation keeps this
    instead of the text."""

    NONE = "none"  # nothing sent yet: a first message is always answered
    STATEMENT = "statement"
    AWAITS_ANSWER = "awaits_answer"  # a question, or "reply YES to confirm"
    CLOSING_QUESTION = "closing_question"  # "anything else I can help with?"


@dataclass(frozen=True)
class Lexicon:
    """One language's rules. Phrases are matched word by word after normalisation
    (lower case, accents and punctuation removed, repeated letters folded), so
    "Thanksss!!" matches "thanks" and "más" matches "mas"."""

    language: str
    # Regular expressions over the normalised outbound message that mark it as a
    # closing question ("anything else I can help with?").
    closing_questions: tuple[str, ...]
    # Plain refusals: a closing answer after a closing question, substantive elsewhere
    # (a "no" answers something the agent asked).
    negatives: tuple[str, ...]
    # "Nothing more" phrases: closing after a closing question, an acknowledgement
    # anywhere else ("that's all, thanks" after "your refund is issued").
    done: tuple[str, ...]
    # Thanks and acknowledgements.
    acknowledgements: tuple[str, ...]
    # Words that add nothing on their own: sign-offs, intensifiers, laughter.
    fillers: tuple[str, ...]
    # Emoji that acknowledge (👍 🙏); any other emoji is content.
    emoji: tuple[str, ...] = ()
    # Regular expressions over the normalised outbound message that ask the customer
    # to answer or act without a question mark ("reply YES to confirm"): an "ok" to
    # those is an answer, as to a question.
    requests: tuple[str, ...] = ()


@dataclass(frozen=True)
class Classification:
    kind: MessageKind
    reason: str


class _Role(enum.IntEnum):
    # Ordered by weight: a message's covering is described by the strongest role used.
    FILLER = 0
    ACKNOWLEDGEMENT = 1
    DONE = 2
    NEGATIVE = 3


# Emoji variation selectors, skin tones and joiners carry no meaning of their own.
_MODIFIERS = re.compile("[\ufe0e\ufe0f\u200d\U0001f3fb-\U0001f3ff]")
_LINK_OR_NUMBER = re.compile(r"\d|@|https?:|www\.")
_REPEATS = re.compile(r"(.)\1+")


def _asks(text: str) -> bool:
    return "?" in text or "¿" in text


def _fold(word: str) -> str:
    return _REPEATS.sub(r"\1", word)


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def normalise(text: str) -> str:
    """Lower case, accents removed: the form closing-question patterns match."""
    return _strip_accents(text.casefold())


def tokens(text: str) -> list[str]:
    """Words (folded) and emoji, in order; punctuation dropped."""
    out: list[str] = []
    word: list[str] = []
    for char in _MODIFIERS.sub("", normalise(text)):
        if char.isalnum() or char == "'":
            word.append(char)
            continue
        if word:
            out.append(_fold("".join(word).replace("'", "")))
            word = []
        if not char.isspace() and unicodedata.category(char) == "So":
            out.append(char)
    if word:
        out.append(_fold("".join(word).replace("'", "")))
    return [t for t in out if t]


class Classifier:
    def __init__(self, lexicons: Sequence[Lexicon]) -> None:
        if not lexicons:
            raise ValueError("a classifier needs at least one lexicon")
        self.languages = tuple(lex.language for lex in lexicons)
        self._closing = [re.compile(p) for lex in lexicons for p in lex.closing_questions]
        self._requests = [re.compile(p) for lex in lexicons for p in lex.requests]
        phrases: dict[tuple[str, ...], _Role] = {}
        for lex in lexicons:
            for role, group in (
                (_Role.FILLER, lex.fillers),
                (_Role.ACKNOWLEDGEMENT, lex.acknowledgements),
                (_Role.DONE, lex.done),
                (_Role.NEGATIVE, lex.negatives),
            ):
                for phrase in group:
                    key = tuple(tokens(phrase))
                    if key:
                        phrases[key] = max(role, phrases.get(key, role))
            for symbol in lex.emoji:
                for key in {tuple(tokens(symbol)), (_MODIFIERS.sub("", symbol),)}:
                    if key and key[0]:
                        phrases[key] = max(_Role.ACKNOWLEDGEMENT, phrases.get(key, _Role.FILLER))
        self._phrases = phrases
        self._longest = max((len(k) for k in phrases), default=1)

    def is_closing_question(self, outbound: str) -> bool:
        """A question whether the customer needs anything more. An invitation without
        a question mark ("let me know if there is anything else") is not one: the
        customer's "that's all, thanks" then acknowledges, it does not answer."""
        text = normalise(outbound)
        return _asks(outbound) and any(p.search(text) for p in self._closing)

    def awaits_answer(self, outbound: str) -> bool:
        """Whether the outbound message waits for the customer's answer or action."""
        text = normalise(outbound)
        return _asks(outbound) or any(p.search(text) for p in self._requests)

    def context_of(self, outbound: str | None) -> OutboundContext:
        if outbound is None or not outbound.strip():
            return OutboundContext.NONE
        if self.is_closing_question(outbound):
            return OutboundContext.CLOSING_QUESTION
        if self.awaits_answer(outbound):
            return OutboundContext.AWAITS_ANSWER
        return OutboundContext.STATEMENT

    def classify(self, message: str, *, after: str | None) -> Classification:
        """`after` is the last outbound message of the conversation, None if none."""
        return self.classify_in(message, self.context_of(after))

    def classify_in(self, message: str, context: OutboundContext) -> Classification:
        if _asks(message):
            return Classification(MessageKind.SUBSTANTIVE, "asks a question")
        if _LINK_OR_NUMBER.search(message.casefold()):
            return Classification(MessageKind.SUBSTANTIVE, "carries a number or a link")
        roles = self._cover(tokens(message))
        if roles is None:
            return Classification(MessageKind.SUBSTANTIVE, "says something new")
        strongest = max(roles, default=_Role.FILLER)
        if context is OutboundContext.CLOSING_QUESTION and strongest >= _Role.DONE:
            return Classification(MessageKind.CLOSING, "a negative answer to a closing question")
        if strongest is _Role.NEGATIVE:
            return Classification(MessageKind.SUBSTANTIVE, "answers no to a question")
        if strongest is _Role.DONE and _Role.ACKNOWLEDGEMENT not in roles:
            # "nothing" after "your parcel was delivered" may well mean "nothing came".
            return Classification(MessageKind.SUBSTANTIVE, "says nothing came or is needed")
        if context is OutboundContext.NONE:
            return Classification(MessageKind.SUBSTANTIVE, "opens the conversation")
        if context is OutboundContext.AWAITS_ANSWER:
            # "ok" to "shall I cancel it?" is a decision the agent must act on.
            return Classification(MessageKind.SUBSTANTIVE, "answers the agent's question")
        if strongest is _Role.FILLER:
            return Classification(MessageKind.SUBSTANTIVE, "no acknowledgement in it")
        return Classification(MessageKind.INEFFECTUAL, "thanks or acknowledgement only")

    def _cover(self, words: list[str]) -> list[_Role] | None:
        """The roles of the fewest phrases that cover `words` exactly, or None when no
        covering exists. Dynamic programming, not greedy: "no that's all i needed" is
        "no" + "that's all i needed", though "no that's all" is a phrase too."""
        if not words:
            return None
        best: list[list[_Role] | None] = [None] * (len(words) + 1)
        best[0] = []
        for end in range(1, len(words) + 1):
            for size in range(1, min(self._longest, end) + 1):
                before = best[end - size]
                role = self._phrases.get(tuple(words[end - size : end]))
                if before is None or role is None:
                    continue
                current = best[end]
                if current is None or len(before) + 1 < len(current):
                    best[end] = [*before, role]
        return best[len(words)]


def evaluate(
    classifier: Classifier, rows: Iterable[tuple[str, str, MessageKind]]
) -> dict[str, dict[str, float | int]]:
    """Precision and recall per kind over labelled (after, message, label) rows."""
    counts = {kind: {"tp": 0, "fp": 0, "fn": 0, "support": 0} for kind in MessageKind}
    for after, message, label in rows:
        predicted = classifier.classify(message, after=after or None).kind
        counts[label]["support"] += 1
        if predicted is label:
            counts[label]["tp"] += 1
        else:
            counts[predicted]["fp"] += 1
            counts[label]["fn"] += 1
    report: dict[str, dict[str, float | int]] = {}
    for kind, c in counts.items():
        predicted_total = c["tp"] + c["fp"]
        report[str(kind)] = {
            "support": c["support"],
            "predicted": predicted_total,
            "precision": round(c["tp"] / predicted_total, 4) if predicted_total else 1.0,
            "recall": round(c["tp"] / c["support"], 4) if c["support"] else 1.0,
        }
    return report
