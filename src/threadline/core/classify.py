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

    # Nothing the customer is replying to: nothing sent yet, or the customer has written
    # something substantive since. Every message is then answered.
    NONE = "none"
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
    # Words that negate what follows them in the same clause: "no entiendo", "nada
    # claro", "thanks for nothing" are not thanks, whatever their words' phrases say.
    negators: tuple[str, ...] = ()


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


# Marks that end a clause: "no, thanks" is two clauses, "no good" one.
_CLAUSE_ENDS = frozenset(",.;:!…\n")
# Apostrophes as phones type them (U+2019 and kin) are the ASCII one.
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def clauses(text: str) -> list[list[str]]:
    """Words (folded) and emoji, clause by clause; other punctuation dropped."""
    out: list[list[str]] = [[]]
    word: list[str] = []

    def end_word() -> None:
        if word:
            folded = _fold("".join(word).replace("'", ""))
            if folded:
                out[-1].append(folded)
            word.clear()

    for char in _MODIFIERS.sub("", normalise(text.translate(_APOSTROPHES))):
        if char.isalnum() or char == "'":
            word.append(char)
            continue
        end_word()
        if char in _CLAUSE_ENDS:
            if out[-1]:
                out.append([])
        elif not char.isspace() and unicodedata.category(char) == "So":
            out[-1].append(char)
    end_word()
    return [clause for clause in out if clause]


def tokens(text: str) -> list[str]:
    """Words (folded) and emoji, in order; punctuation dropped."""
    return [token for clause in clauses(text) for token in clause]


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
        self._negators = frozenset(
            folded for lex in lexicons for n in lex.negators for folded in tokens(n)
        )
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
        cover = self._cover_message(message)
        if cover is None:
            return Classification(MessageKind.SUBSTANTIVE, "says something new")
        strongest, acknowledges = cover
        if context is OutboundContext.CLOSING_QUESTION and strongest >= _Role.DONE:
            return Classification(MessageKind.CLOSING, "a negative answer to a closing question")
        if strongest is _Role.NEGATIVE:
            return Classification(MessageKind.SUBSTANTIVE, "a no that is not to a closing question")
        if strongest is _Role.DONE and not acknowledges:
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

    def _cover_message(self, message: str) -> tuple[_Role, bool] | None:
        """(the strongest role, whether an acknowledgement is among them) of the phrases
        covering every clause of `message`, or None when some clause has no covering."""
        parts = clauses(message)
        if not parts:
            return None
        strongest, acknowledges = _Role.FILLER, False
        for clause in parts:
            cover = self._cover(clause)
            if cover is None:
                return None
            strongest = max(strongest, cover[1])
            acknowledges = acknowledges or cover[2]
        return strongest, acknowledges

    def _cover(self, words: list[str]) -> tuple[int, _Role, bool] | None:
        """The fewest phrases covering one clause exactly, as (count, strongest role,
        has an acknowledgement), or None. Dynamic programming, not greedy: "no that's
        all i needed" is "no" + "that's all i needed", though "no that's all" is a
        phrase too. Thanks right after a negator are negated, not thanks ("no
        entiendo", "nada claro", "no good"), and a negator cannot follow a filler
        ("thanks for nothing")."""
        # best[end][ends_with_negator]: the covering of words[:end] so far.
        best: list[dict[bool, tuple[int, _Role, bool, bool]]] = [{} for _ in range(len(words) + 1)]
        best[0][False] = (0, _Role.FILLER, False, False)  # (+ last phrase was a filler)
        for end in range(1, len(words) + 1):
            for size in range(1, min(self._longest, end) + 1):
                phrase = tuple(words[end - size : end])
                role = self._phrases.get(phrase)
                if role is None:
                    continue
                for negated, (count, strongest, acks, after_filler) in best[end - size].items():
                    if negated and role is _Role.ACKNOWLEDGEMENT:
                        continue
                    if after_filler and phrase[0] in self._negators:
                        continue
                    ends_negated = phrase[-1] in self._negators
                    candidate = (
                        count + 1,
                        max(strongest, role),
                        acks or role is _Role.ACKNOWLEDGEMENT,
                        role is _Role.FILLER,
                    )
                    current = best[end].get(ends_negated)
                    if current is None or candidate[0] < current[0]:
                        best[end][ends_negated] = candidate
        finals = sorted(best[len(words)].values())
        if not finals:
            return None
        count, strongest, acks, _ = finals[0]
        return count, strongest, acks


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
