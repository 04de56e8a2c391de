"""What the customer wants: a flow's intent recognised from their words, and whether
they are asking for a person.

Recognition works offline with nothing downloaded: an intent's patterns (regular
expressions an admin writes) win outright; otherwise a small classifier trained at
start-up from the flow's example phrases gives each intent a probability. The classifier
also learns an *out-of-scope* class from a shipped list of generic off-topic phrases
("tell me a joke", "hola", "asdf"), so a message that is about none of the intents falls
back instead of being forced into the nearest one: a wrong confident answer costs the
customer more than "sorry, could you say it another way?".

Measured on tests/data/bots/intents_labelled.tsv (tests/core/bots/test_intent_accuracy.py).
scikit-learn is imported when the first recognizer is trained, not with this module: it
takes about a second to import, and most of the core never needs it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from threadline.core.bots.patterns import Pattern, PatternError, compile_pattern, search
from threadline.core.errors import InvalidInput

if TYPE_CHECKING:
    from threadline.core.bots.flow import Intent

# The classifier's label for off-topic messages. Intent names are [a-z][a-z0-9_]*, so a
# name starting with "_" can never collide with one.
OUT_OF_SCOPE = "_out_of_scope"

# Generic messages a shop's, a bank's or a clinic's assistant is not for, in English and
# Spanish: chit-chat, greetings and acknowledgements alone, general knowledge, keyboard
# mashing. Deliberately generic (no domain words like "order" or "account"), so they never
# pull a real request away from a flow's intents. Phrases equal to one of the flow's own
# examples are dropped at training, so a flow can claim "hola" as an intent.
OUT_OF_SCOPE_PHRASES: tuple[str, ...] = (
    # Chit-chat and small talk.
    "what's the weather",
    "will it rain today",
    "tell me a joke",
    "say something funny",
    "how are you",
    "how are you doing today",
    "who are you",
    "are you a real person or a bot",
    "are you human",
    "do you like music",
    "what's your favourite colour",
    "sing me a song",
    "i'm bored",
    "you are funny",
    "what is love",
    "do you have feelings",
    "what do you think about politics",
    "who will win the election",
    "what's the score of the game",
    "who is the best footballer",
    "recommend a movie",
    "what should i have for dinner",
    "write an essay about dogs",
    "what is the meaning of it all",
    "how tall is the eiffel tower",
    "what is the square root of 16",
    "how many legs does a spider have",
    "what year is it",
    "what time is it in tokyo",
    "where do you live",
    "are you married",
    "I like turtles",
    "my cat is sleeping",
    "can you help me with my homework",
    "what's the news today",
    # Greetings, thanks and acknowledgements on their own.
    "hello",
    "hi",
    "hey there",
    "good afternoon",
    "good evening",
    "thank you",
    "thanks a lot",
    "ok",
    "okay cool",
    "great",
    "yes",
    "yeah",
    "no",
    "nope",
    "no thanks",
    "bye",
    "see you",
    "haha",
    "hmm",
    # Keyboard mashing and noise.
    "asdf",
    "qwerty",
    "aaaaa",
    "zzz",
    "test",
    "testing 123",
    "...",
    "kjhgf",
    "lkjlkj",
    "blah blah",
    # Spanish.
    "hola",
    "buenos días",
    "buenas noches",
    "qué tal",
    "cómo estás",
    "muchas gracias",
    "vale gracias",
    "de acuerdo",
    "sí",
    "no gracias",
    "adiós",
    "hasta luego",
    "jaja",
    "qué tiempo hará mañana",
    "va a llover",
    "cuéntame algo gracioso",
    "eres un robot",
    "cómo te llamas",
    "cuántos años tienes",
    "quién ganó el partido",
    "qué película me recomiendas",
    "qué hago de cenar",
    "cuál es la capital de italia",
    "cuánto es dos más dos",
    "estoy aburrido",
    "me gusta el fútbol",
    "ayúdame con los deberes",
    "prueba",
    "dónde vives",
)

# How closely the logistic regression fits the examples. Lower smooths the probabilities,
# so near misses fall under the threshold instead of being answered; 10 with the demo
# flow's threshold (0.4) answered no out-of-scope row and one in-scope row wrongly on the
# labelled set, where 30 or 100 gained nothing and 3 needed a lower threshold.
_C = 10.0
# The out-of-scope class has about 100 phrases against a flow's 25-40 per intent; weighting
# classes by their size keeps that prior from pulling short real requests into a fallback
# (fewer fallbacks at the same wrong-answer rate on the labelled set).
_CLASS_WEIGHT = "balanced"
# newton-cg to this tolerance converges in a handful of steps (a 50 ms fit for 20 intents
# of 30 examples), where lbfgs takes 4-5 times as long for probabilities that differ in
# the third decimal.
_TOLERANCE = 1e-3
# A newton-cg fit is deterministic; fixed anyway so the same flow always trains the same
# model should the solver change.
_RANDOM_STATE = 0
# Character 2-4 grams inside word boundaries: robust to typos ("adress", "oder") and to
# inflections ("devolver", "devolución") with a few dozen examples per intent.
_CHAR_NGRAMS = (2, 4)
# Words and word pairs: "change address" and "address is wrong" share characters, but
# the words and pairs that carry the meaning separate intents that look alike.
_WORD_NGRAMS = (1, 2)

_SPACES = re.compile(r"\s+")


@dataclass(frozen=True)
class Recognition:
    """`intent` None is a fallback. `confidence` is 1.0 for a pattern, else the
    classifier's probability for the most likely intent of the flow (reported even when
    it is not enough, so the handoff can show how close it was)."""

    intent: str | None
    confidence: float
    by: Literal["pattern", "classifier", "none"]


def _normalise(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


class Recognizer:
    """A flow's trained recognizer. Build with `Recognizer.train`; immutable after."""

    def __init__(
        self,
        patterns: Sequence[tuple[str, Pattern]],
        model: Any,
        threshold: float,
    ) -> None:
        self._patterns = tuple(patterns)
        # An sklearn pipeline, or None when no intent has examples (patterns only).
        self._model = model
        self._threshold = threshold

    @classmethod
    def train(
        cls, intents: Sequence[Intent], *, threshold: float, language: str = "en"
    ) -> Recognizer:
        """Trains on the intents' examples plus the out-of-scope phrases (about 0.1 s for
        20 intents of 30 examples, once scikit-learn is imported). `language` is the
        flow's; the features and shipped phrases cover English and Spanish together,
        since customers mix them, so it changes nothing yet."""
        del language
        if not 0.0 <= threshold <= 1.0:
            raise InvalidInput("the threshold is between 0 and 1", field="threshold")
        patterns: list[tuple[str, Pattern]] = []
        texts: list[str] = []
        labels: list[str] = []
        for intent in intents:
            for pattern in intent.patterns:
                try:
                    patterns.append((intent.name, compile_pattern(pattern, ignore_case=True)))
                except PatternError as exc:
                    raise InvalidInput(
                        f"intent {intent.name}: pattern {pattern!r} is not a valid regular "
                        f"expression ({exc})",
                        field="patterns",
                        intent=intent.name,
                    ) from exc
            for example in intent.examples:
                if cleaned := _normalise(example):
                    texts.append(cleaned)
                    labels.append(intent.name)
        if not texts:
            return cls(patterns, None, threshold)
        claimed = {text.casefold() for text in texts}
        for phrase in OUT_OF_SCOPE_PHRASES:
            if phrase.casefold() not in claimed:
                texts.append(phrase)
                labels.append(OUT_OF_SCOPE)
        return cls(patterns, _fit(texts, labels), threshold)

    def recognize(self, text: str) -> Recognition:
        """The customer's intent: the first intent (in flow order) with a pattern found
        in the text, else the classifier's most likely class if it is an intent of the
        flow with at least the threshold's probability, else a fallback."""
        cleaned = _normalise(text)
        if not cleaned:
            return Recognition(None, 0.0, "none")
        for name, pattern in self._patterns:
            if search(pattern, cleaned) is not None:
                return Recognition(name, 1.0, "pattern")
        if self._model is None:
            return Recognition(None, 0.0, "none")
        probabilities = self._model.predict_proba([cleaned])[0]
        # Highest first; equal probabilities by name, so ties are decided the same way
        # every time.
        ranked = sorted(
            zip((float(p) for p in probabilities), self._model.classes_, strict=True),
            key=lambda pair: (-pair[0], str(pair[1])),
        )
        top = str(ranked[0][1])
        confidence = next((p for p, name in ranked if name != OUT_OF_SCOPE), 0.0)
        if top == OUT_OF_SCOPE or confidence < self._threshold:
            return Recognition(None, confidence, "none")
        return Recognition(top, confidence, "classifier")


def _fit(texts: list[str], labels: list[str]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer  # type: ignore[import-untyped]
    from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
    from sklearn.pipeline import FeatureUnion, Pipeline  # type: ignore[import-untyped]
    from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]

    common = {"sublinear_tf": True, "lowercase": True, "strip_accents": "unicode"}
    features = FeatureUnion(
        [
            ("chars", TfidfVectorizer(analyzer="char_wb", ngram_range=_CHAR_NGRAMS, **common)),
            ("words", TfidfVectorizer(analyzer="word", ngram_range=_WORD_NGRAMS, **common)),
        ]
    )
    model = Pipeline(
        [
            ("features", features),
            (
                "classify",
                LogisticRegression(
                    C=_C,
                    class_weight=_CLASS_WEIGHT,
                    solver="newton-cg",
                    tol=_TOLERANCE,
                    max_iter=200,
                    random_state=_RANDOM_STATE,
                ),
            ),
        ]
    )
    # One thread: for a model this small, BLAS threads only contend with each other and
    # with the server (several times slower on a busy two-core machine).
    with threadpool_limits(limits=1):
        model.fit(texts, labels)
    return model


# -- asking for a person ------------------------------------------------------------------

# Words that ask for a person wherever they appear in a message, in English and Spanish.
# Whole words only: "humanity", "agentic", "management" or "personal" do not count. Some
# false positives are accepted because a needless handoff costs less than trapping a
# customer who asked for a person: "my travel agent booked it", "my agent number", "your
# customer service is slow" and "recursos humanos" all hand over.
_PERSON_WORDS: tuple[str, ...] = (
    "agent",
    "agents",
    "human",
    "humans",
    "representative",
    "representatives",
    "rep",
    "operator",
    "operators",
    "real person",
    "live person",
    "live chat",
    "customer service",
    "someone real",
    "somebody real",
    "agente",
    "agentes",
    "humano",
    "humanos",
    "humana",
    "representante",
    "representantes",
    "operador",
    "operadora",
    "operadores",
    "persona real",
    "persona de verdad",
    "alguien real",
    "asesor",
    "asesora",
    "atencion al cliente",
    "servicio al cliente",
)
# "Someone" and "a person" alone are too common to count ("someone stole my parcel", "a
# gift for a person I know"): they ask for a person after a verb that asks to be put in
# touch, or as the whole message ("someone please").
_CONTACT_VERBS: tuple[str, ...] = (
    "talk to",
    "talk with",
    "speak to",
    "speak with",
    "chat with",
    "chat to",
    "connect me to",
    "connect me with",
    "put me through to",
    "transfer me to",
    "pass me to",
    "get me",
    "hablar con",
    "hablo con",
    "pasame con",
    "pasarme con",
    "paseme con",
    "pasadme con",
    "ponme con",
    "pongame con",
    "comunicarme con",
    "comunicame con",
    "chatear con",
)
_SOMEONE: tuple[str, ...] = (
    "someone",
    "somebody",
    "anyone",
    "anybody",
    "a person",
    "person",
    "alguien",
    "una persona",
    "persona",
)
# Words a whole-message "someone" may come with: "someone please", "persona por favor".
_POLITE: frozenset[str] = frozenset({"please", "pls", "plz", "now", "por", "favor", "porfa"})

_NOT_WORD = re.compile(r"[\W_]+")


def _words(text: str) -> str:
    """Lower case without accents or punctuation, words separated by one space, padded
    with a space each side so a phrase is found as whole words with `in`."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return f" {_NOT_WORD.sub(' ', bare).strip()} "


_PERSON_PHRASES: tuple[str, ...] = tuple(
    _words(p) for p in (*_PERSON_WORDS, *(f"{v} {s}" for v in _CONTACT_VERBS for s in _SOMEONE))
)
_WHOLE_MESSAGE: frozenset[str] = frozenset(_words(s) for s in _SOMEONE)


def asks_for_human(text: str, extra: Sequence[str] = ()) -> bool:
    """Whether the customer asks to talk to a person ("agent", "human please", "quiero
    hablar con un agente"). `extra` phrases, the flow's own, count as whole words the
    same way, regardless of case and accents."""
    words = _words(text)
    if words.isspace():
        return False
    phrases = (*_PERSON_PHRASES, *(w for w in map(_words, extra) if not w.isspace()))
    if any(phrase in words for phrase in phrases):
        return True
    kept = " ".join(w for w in words.split() if w not in _POLITE)
    return f" {kept} " in _WHOLE_MESSAGE
