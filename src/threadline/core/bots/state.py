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


class Awaiting(enum.StrEnum):
    # What the customer wants (an intent), or nothing yet.
    REQUEST = "request"
    # The answer to the current `ask` step.
    ANSWER = "answer"
    # A step-up code.
    CODE = "code"
    # The answer to "anything else?".
    ANYTHING_ELSE = "anything_else"


@dataclass(frozen=True)
class PendingCode:
    """A step-up code sent and not yet entered. Only a salted digest is kept, so the
    code is not readable in the row; six digits are few enough to recover from it by
    trying them all, so what protects a code is its few tries and short life."""

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
    # The address on file the customer proved theirs with a code: a later step-up to
    # the same address is skipped, to any other is not.
    verified_to: str | None = None
    # The version of the flow this state is a place in (its bot's update time): a
    # changed flow starts its conversations afresh rather than at a step that moved.
    flow: str | None = None

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
            "verified_to": self.verified_to,
            "flow": self.flow,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> BotState:
        code = data.get("code")
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
            verified_to=data.get("verified_to"),
            flow=data.get("flow"),
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
