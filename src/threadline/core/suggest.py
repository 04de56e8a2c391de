""" "Did you mean": the known name a mistyped one most likely stands for.

Names are compared ignoring case ("Card_Fraud_Check" finds "card_fraud_check") with
difflib's ratio, whose default cutoff (0.6) is the one the rest of the project uses.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable

# Comparisons one call may make. Rows of an upload are checked one by one and each may
# name many unknown variables; past this many, the names are not a typo or two but
# another naming altogether, and 100,000 rows must not cost minutes of difflib.
PAIRS = 6


def closest(name: str, known: Iterable[str], *, cutoff: float = 0.6) -> str | None:
    """The known name closest to `name`, if one is close enough."""
    by_folded: dict[str, str] = {}
    for k in known:
        by_folded.setdefault(k.casefold(), k)
    found = difflib.get_close_matches(name.casefold(), by_folded, n=1, cutoff=cutoff)
    return by_folded[found[0]] if found else None


def misspellings(
    given: Iterable[str], wanted: Iterable[str], *, cutoff: float = 0.6, budget: int = PAIRS
) -> dict[str, str]:
    """Each given name that looks like a misspelling of a wanted one, to that one. A
    wanted name is claimed once, by the closest given name: two columns are never both
    told they mean it. Nothing when there are more than `budget` pairs to compare."""
    g, w = tuple(dict.fromkeys(given)), tuple(dict.fromkeys(wanted))
    if not g or not w or len(g) * len(w) > budget:
        return {}
    return dict(_pairs(g, w, cutoff))


def edits(a: str, b: str) -> int:
    """Levenshtein distance, ignoring case: the letters added, dropped or changed."""
    a, b = a.casefold(), b.casefold()
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


# An upload's rows tend to repeat one mistake: it is worked out once.
@functools.lru_cache(maxsize=1024)
def _pairs(
    given: tuple[str, ...], wanted: tuple[str, ...], cutoff: float
) -> tuple[tuple[str, str], ...]:
    scored: list[tuple[float, str, str]] = []
    matcher = difflib.SequenceMatcher()
    for g in given:
        matcher.set_seq2(g.casefold())  # the sequence difflib caches facts about
        for w in wanted:
            matcher.set_seq1(w.casefold())
            if (
                matcher.real_quick_ratio() >= cutoff
                and matcher.quick_ratio() >= cutoff
                and (ratio := matcher.ratio()) >= cutoff
            ):
                scored.append((ratio, g, w))
    found: dict[str, str] = {}
    claimed: set[str] = set()
    # Stable: among equal scores, the earlier given name, then the earlier wanted one.
    for _, g, w in sorted(scored, key=lambda s: -s[0]):
        if g not in found and w not in claimed:
            found[g] = w
            claimed.add(w)
    return tuple(found.items())
