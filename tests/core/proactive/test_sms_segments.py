"""SMS segments counted as carriers count them."""

from __future__ import annotations

import pytest

from threadline.core.proactive.sms import segments


@pytest.mark.parametrize(
    ("text", "encoding", "units", "count"),
    [
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 306, "GSM-7", 306, 2),
        ("a" * 307, "GSM-7", 307, 3),
        ("€" * 80, "GSM-7", 160, 1),  # an extension character takes two septets
        ("€" * 81, "GSM-7", 162, 2),
        ("ü" * 160, "GSM-7", 160, 1),  # in the basic alphabet
        ("ú" * 70, "UCS-2", 70, 1),  # not in it: the whole text is UCS-2
        ("ú" * 71, "UCS-2", 71, 2),
        ("a" * 69 + "🙂", "UCS-2", 71, 2),  # an emoji is two UTF-16 units
        ("", "GSM-7", 0, 1),
    ],
)
def test_segments_follow_the_gsm_and_ucs2_limits(
    text: str, encoding: str, units: int, count: int
) -> None:
    found = segments(text)
    assert (found.encoding, found.units, found.segments) == (encoding, units, count)
