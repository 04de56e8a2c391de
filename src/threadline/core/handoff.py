"""What a bot hands a human along with the conversation (DESIGN.md §2; issue 6).

The agent must not have to ask again what the customer told the bot: the intent the bot
recognised, the fields it collected, and a summary travel with the conversation for the
rest of the session and sit above the thread on the desk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from threadline.core.errors import InvalidInput

MAX_FIELDS = 30
MAX_NAME = 64
MAX_VALUE = 500
MAX_SUMMARY = 2000


@dataclass(frozen=True)
class Handoff:
    bot: str | None = None
    intent: str | None = None
    # The bot's confidence in `intent`, 0-1.
    confidence: float | None = None
    fields: Mapping[str, str] = field(default_factory=dict)
    summary: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "bot": self.bot,
            "intent": self.intent,
            "confidence": self.confidence,
            "fields": dict(self.fields),
            "summary": self.summary,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Handoff:
        return cls(
            data.get("bot"),
            data.get("intent"),
            data.get("confidence"),
            dict(data.get("fields") or {}),
            data.get("summary"),
        )


def make_handoff(
    *,
    bot: str | None,
    intent: str | None,
    confidence: float | None,
    fields: Mapping[str, str],
    summary: str | None,
) -> Handoff:
    if confidence is not None and not (math.isfinite(confidence) and 0 <= confidence <= 1):
        raise InvalidInput("confidence is a number from 0 to 1", field="handoff.confidence")
    if len(fields) > MAX_FIELDS:
        raise InvalidInput(f"at most {MAX_FIELDS} fields", field="handoff.fields")
    cleaned = {}
    for name, value in fields.items():
        key = name.strip()
        if not 1 <= len(key) <= MAX_NAME or len(value) > MAX_VALUE or "\x00" in key + value:
            raise InvalidInput(
                f"a field is a name of 1-{MAX_NAME} characters and a value of at most {MAX_VALUE}",
                field="handoff.fields",
            )
        cleaned[key] = value.strip()
    handoff = Handoff(
        _text(bot, MAX_NAME, "handoff.bot"),
        _text(intent, MAX_NAME, "handoff.intent"),
        confidence,
        cleaned,
        _text(summary, MAX_SUMMARY, "handoff.summary"),
    )
    if handoff == Handoff():
        raise InvalidInput("a handoff says something: an intent, fields or a summary")
    return handoff


def _text(value: str | None, limit: int, name: str) -> str | None:
    if value is None:
        return None
    cleaned = value.strip()
    if len(cleaned) > limit or "\x00" in cleaned:
        raise InvalidInput(f"{name.split('.')[-1]} is at most {limit} characters", field=name)
    return cleaned or None
