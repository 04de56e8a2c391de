"""How many SMS segments a text costs, as carriers count them (3GPP TS 23.038).

A text in the GSM 7-bit alphabet fits 160 characters in one message and 153 per part
once split (the rest carries the concatenation header); the extension characters
(€, [, ], {, }, \\, ^, ~, |, and form feed) take two. Any other character switches the
whole text to UCS-2: 70 code units in one message, 67 per part, where a character
outside the Basic Multilingual Plane (most emoji) is two units.
"""

from __future__ import annotations

from dataclasses import dataclass

_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENSION = frozenset("\f^{}\\[~]|€")


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    units: int  # septets or UTF-16 code units
    segments: int


def segments(text: str) -> Segments:
    if all(c in _GSM_BASIC or c in _GSM_EXTENSION for c in text):
        units = sum(2 if c in _GSM_EXTENSION else 1 for c in text)
        return Segments("GSM-7", units, _count(units, single=160, part=153))
    units = len(text.encode("utf-16-le")) // 2
    return Segments("UCS-2", units, _count(units, single=70, part=67))


def _count(units: int, *, single: int, part: int) -> int:
    if units <= single:
        return 1
    return -(-units // part)
