"""What the fake provider remembers: the messages it accepted and what it learned on the way.

All of it lives in memory and is shared by the HTTP control API and the in-process handle.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Provider = Literal["twilio", "whatsapp", "messenger", "rbm", "apple"]
PROVIDERS: tuple[Provider, ...] = ("twilio", "whatsapp", "messenger", "rbm", "apple")


@dataclass(frozen=True)
class SentMessage:
    """One outbound message the fake accepted, in a shape common to every provider."""

    provider: Provider
    id: str
    to: str
    from_: str | None
    text: str | None
    at: datetime
    template: dict[str, Any] | None = None
    tag: str | None = None
    suggestions: list[str] | None = None
    media: list[str] = field(default_factory=list)
    idempotency_key: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    """The request as the provider parsed it (JSON body, or the form for Twilio)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "id": self.id,
            "to": self.to,
            "from": self.from_,
            "text": self.text,
            "template": self.template,
            "tag": self.tag,
            "suggestions": self.suggestions,
            "media": self.media,
            "idempotency_key": self.idempotency_key,
            "at": self.at.isoformat(),
            "payload": self.payload,
        }


@dataclass(frozen=True)
class CachedResponse:
    status_code: int
    body: bytes
    media_type: str | None


@dataclass
class FakeState:
    sent: list[SentMessage] = field(default_factory=list)
    # (provider, Idempotency-Key) -> the first successful answer, replayed verbatim.
    answers: dict[tuple[Provider, str], CachedResponse] = field(default_factory=dict)
    key_locks: dict[tuple[Provider, str], asyncio.Lock] = field(default_factory=dict)
    # Recipient address -> the error code its deliveries fail with (None: the provider's
    # usual one), so failure callbacks can be tested.
    undeliverable: dict[str, int | None] = field(default_factory=dict)
    # Learned from inbound webhooks, as a real provider knows them from its own records.
    whatsapp_numbers: dict[str, str] = field(default_factory=dict)
    """phone_number_id -> display_phone_number."""
    messenger_pages: dict[str, str] = field(default_factory=dict)
    """PSID -> the page it belongs to."""
    rbm_message_ids: set[str] = field(default_factory=set)
    apple_message_ids: set[str] = field(default_factory=set)

    def record(self, message: SentMessage) -> None:
        self.sent.append(message)

    def messages(self, provider: Provider | None = None) -> list[SentMessage]:
        return [m for m in self.sent if provider is None or m.provider == provider]

    @contextlib.asynccontextmanager
    async def key_lock(self, provider: Provider, key: str) -> AsyncIterator[None]:
        """Serialises requests that carry the same key, so two concurrent retries of one
        send cannot both go through."""
        lock = self.key_locks.setdefault((provider, key), asyncio.Lock())
        async with lock:
            yield

    def reset(self) -> None:
        """Forget everything tests did; credentials (accounts, issued tokens) stay."""
        self.sent.clear()
        self.answers.clear()
        self.key_locks.clear()
        self.undeliverable.clear()
        self.whatsapp_numbers.clear()
        self.messenger_pages.clear()
        self.rbm_message_ids.clear()
        self.apple_message_ids.clear()
