"""Loading the classifier's lexicons: the ones shipped in `threadline/lexicons/`, then
any `*.toml` in a configured directory, which add languages or replace shipped ones."""

from __future__ import annotations

import functools
import re
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from threadline.core.classify import Classifier, Lexicon, normalise, tokens

_LISTS = (
    "closing_questions",
    "requests",
    "negatives",
    "done",
    "acknowledgements",
    "fillers",
    "negators",
)
_PATTERNS = ("closing_questions", "requests")


class LexiconError(ValueError):
    """A lexicon file that cannot be used; the message names the file and the key."""


def parse_lexicon(text: str, source: str) -> Lexicon:
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LexiconError(f"{source}: not valid TOML: {exc}") from exc
    language = data.get("language")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]+)?", language):
        raise LexiconError(f"{source}: 'language' must be a language code such as \"en\"")
    unknown = set(data) - {"language", "emoji", *_LISTS}
    if unknown:
        raise LexiconError(f"{source}: unknown keys {sorted(unknown)}")
    lists: dict[str, tuple[str, ...]] = {}
    for key in (*_LISTS, "emoji"):
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise LexiconError(f"{source}: '{key}' must be a list of non-empty strings")
        lists[key] = tuple(value)
    for key in ("negatives", "done", "acknowledgements", "fillers", "negators", "emoji"):
        for phrase in lists[key]:
            if not tokens(phrase):
                raise LexiconError(
                    f"{source}: {key}: {phrase!r} has no words or emoji, so it can never match"
                )
    for key in _PATTERNS:
        for pattern in lists[key]:
            literal = re.sub(r"\\.", "", pattern)  # escapes such as \S may be upper case
            if literal != normalise(literal):
                raise LexiconError(
                    f"{source}: {key}: {pattern!r} must be lower case without accents: "
                    "it is matched against the message normalised that way"
                )
            try:
                re.compile(pattern)
            except re.error as exc:
                raise LexiconError(
                    f"{source}: {key}: bad regular expression {pattern!r}: {exc}"
                ) from exc
    return Lexicon(
        language=language,
        closing_questions=lists["closing_questions"],
        negatives=lists["negatives"],
        done=lists["done"],
        acknowledgements=lists["acknowledgements"],
        fillers=lists["fillers"],
        emoji=lists["emoji"],
        requests=lists["requests"],
        negators=lists["negators"],
    )


def load_lexicons(extra_dir: Path | None = None) -> list[Lexicon]:
    by_language: dict[str, Lexicon] = {}
    shipped = resources.files("threadline") / "lexicons"
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".toml"):
            lexicon = parse_lexicon(entry.read_text("utf-8"), f"threadline/lexicons/{entry.name}")
            by_language[lexicon.language] = lexicon
    if extra_dir is not None:
        if not extra_dir.is_dir():
            raise LexiconError(f"{extra_dir}: not a directory")
        for path in sorted(extra_dir.glob("*.toml")):
            try:
                text = path.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise LexiconError(f"{path}: cannot be read: {exc}") from exc
            lexicon = parse_lexicon(text, str(path))
            by_language[lexicon.language] = lexicon
    return list(by_language.values())


def load_classifier(extra_dir: Path | None = None) -> Classifier:
    return Classifier(load_lexicons(extra_dir))


@functools.cache
def shipped_classifier() -> Classifier:
    """The classifier with the shipped lexicons only, built once per process."""
    return load_classifier()
