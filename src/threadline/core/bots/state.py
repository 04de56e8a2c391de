"""Where the built-in bot is in its flow for one conversation, kept between messages.

Stored as JSON with the conversation (one row per conversation with a bot), so a
restart, or another process, picks the flow up where it was.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from threadline.core.bots.outcome import HandoffReason, HandTo


class Awaiting(enum.StrEnum):
    # What the customer wants (an intent), or nothing yet.
    REQUEST = "request"
    # The answer to the current `ask` step.
    ANSWER = "answer"
    # A step-up code.
    CODE = "code"
    # The answer to "anything else?".
    ANYTHING_ELSE = "anything_else"
    # Humans are away: what the customer needs, taken down for them.
    REQUEST_FOR_LATER = "request_for_later"


@dataclass(frozen=True)
class PendingCode:
    """A step-up code sent and not yet entered. Only its digest is kept: the code
    itself lives in the customer's messages elsewhere, never in our database."""

    digest: str
    salt: str
    expires_at: datetime
    tries_left: int
    # Where it went, masked, for "I've sent a code to …".
    sent_to: str

    def matches(self, code: str) -> bool:
        return hmac.compare_digest(self.digest, code_digest(self.salt, code))


def code_digest(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


@dataclass(frozen=True)
class BotState:
    greeted: bool = False
    awaiting: Awaiting = Awaiting.REQUEST
    intent: str | None = None
    confidence: float | None = None
    # A routine an agent handed over (agent to bot), run instead of an intent.
    routine: str | None = None
    step: int = 0
    # What the customer told the bot and what lookups found; secure answers masked.
    fields: Mapping[str, str] = field(default_factory=dict)
    # Secure answers in clear, held only until the lookup that needs them has run.
    secure: Mapping[str, str] = field(default_factory=dict)
    # Messages in a row the bot did not understand.
    fallbacks: int = 0
    code: PendingCode | None = None
    verified: bool = False
    # A handoff waiting for the customer's request while humans are away.
    later: HandTo | None = None

    def with_fields(self, **values: str) -> BotState:
        return replace(self, fields={**self.fields, **values})

    def as_json(self) -> dict[str, Any]:
        return {
            "greeted": self.greeted,
            "awaiting": str(self.awaiting),
            "intent": self.intent,
            "confidence": self.confidence,
            "routine": self.routine,
            "step": self.step,
            "fields": dict(self.fields),
            "secure": dict(self.secure),
            "fallbacks": self.fallbacks,
            "code": _code_json(self.code),
            "verified": self.verified,
            "later": _hand_to_json(self.later),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BotState:
        code = data.get("code")
        later = data.get("later")
        return cls(
            greeted=bool(data.get("greeted")),
            awaiting=Awaiting(data.get("awaiting", Awaiting.REQUEST)),
            intent=data.get("intent"),
            confidence=data.get("confidence"),
            routine=data.get("routine"),
            step=int(data.get("step", 0)),
            fields=dict(data.get("fields") or {}),
            secure=dict(data.get("secure") or {}),
            fallbacks=int(data.get("fallbacks", 0)),
            code=(
                PendingCode(
                    code["digest"],
                    code["salt"],
                    datetime.fromisoformat(code["expires_at"]),
                    int(code["tries_left"]),
                    code["sent_to"],
                )
                if code
                else None
            ),
            verified=bool(data.get("verified")),
            later=(
                HandTo(
                    HandoffReason(later["reason"]),
                    skill=later.get("skill"),
                    intent=later.get("intent"),
                    confidence=later.get("confidence"),
                    detail=later.get("detail"),
                    out_of_hours=True,
                )
                if later
                else None
            ),
        )


def _code_json(code: PendingCode | None) -> dict[str, Any] | None:
    if code is None:
        return None
    return {
        "digest": code.digest,
        "salt": code.salt,
        "expires_at": code.expires_at.isoformat(),
        "tries_left": code.tries_left,
        "sent_to": code.sent_to,
    }


def _hand_to_json(hand: HandTo | None) -> dict[str, Any] | None:
    if hand is None:
        return None
    return {
        "reason": str(hand.reason),
        "skill": hand.skill,
        "intent": hand.intent,
        "confidence": hand.confidence,
        "detail": hand.detail,
    }
