"""Canned responses: texts an agent inserts by their shortcut (typing "/" in the desk)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from threadline.core.errors import InvalidInput
from threadline.core.messages import clean_body

_SHORTCUT = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class CannedResponse:
    id: uuid.UUID
    shortcut: str
    text: str
    created_at: datetime


def validate_shortcut(shortcut: str) -> str:
    cleaned = shortcut.strip().lower()
    if not _SHORTCUT.match(cleaned):
        raise InvalidInput(
            "a shortcut is 1-32 lower-case letters, digits, '-' or '_', starting with a "
            "letter or digit",
            field="shortcut",
        )
    return cleaned


def new_canned(id: uuid.UUID, shortcut: str, text: str, now: datetime) -> CannedResponse:
    return CannedResponse(id, validate_shortcut(shortcut), clean_body(text), now)
