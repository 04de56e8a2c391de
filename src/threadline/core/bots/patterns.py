"""Regular expressions a flow's admin wrote, matched against what customers write.

Python's `re` backtracks without limit, so a pattern like `^(a+)+$` takes seconds, then
minutes, on a customer's 30 characters, and it holds the interpreter meanwhile: the
whole server stalls, not one conversation. The `regex` module (the same syntax) takes
a timeout; a match that runs out of time is treated as no match.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import regex  # type: ignore[import-untyped,unused-ignore]

# Far more than any sane pattern needs on a 4096-character message (microseconds), and
# short enough that a pathological one costs a customer a fallback, not the server.
MATCH_SECONDS = 0.05


class PatternError(ValueError):
    """Not a regular expression."""


@dataclass(frozen=True)
class Pattern:
    source: str
    compiled: Any


def compile_pattern(source: str, *, ignore_case: bool = False) -> Pattern:
    try:
        return Pattern(source, regex.compile(source, regex.IGNORECASE if ignore_case else 0))
    except regex.error as exc:
        raise PatternError(str(exc)) from exc


def search(pattern: Pattern, text: str) -> str | None:
    """The first match's text, or None (none, or none found in time)."""
    try:
        found = pattern.compiled.search(text, timeout=MATCH_SECONDS)
    except TimeoutError:
        return None
    return str(found[0]) if found else None


def fullmatch(pattern: Pattern, text: str) -> bool:
    try:
        return pattern.compiled.fullmatch(text, timeout=MATCH_SECONDS) is not None
    except TimeoutError:
        return False
