"""Request and response bodies of provider connections and a conversation's channel."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from threadline.adapters.providers.base import Connection
from threadline.api.schemas import Request


class ConnectionIn(Request):
    provider: str = Field(description="twilio, whatsapp, messenger, rbm or apple")
    account: str = Field(
        min_length=1, max_length=128, description="The provider's account (see docs/channels/)"
    )
    address: str = Field(
        min_length=1,
        max_length=255,
        description="The business's address at the provider, which its webhooks name",
    )
    secret_name: str = Field(
        min_length=1,
        max_length=64,
        description="The environment holds THREADLINE_SECRET_<secret_name>_<PART>",
    )
    options: dict[str, Any] = Field(default_factory=dict)


class ConnectionOut(BaseModel):
    inbox_id: uuid.UUID
    provider: str
    account: str
    address: str
    secret_name: str
    options: dict[str, Any]

    @classmethod
    def of(cls, c: Connection) -> ConnectionOut:
        return cls(
            inbox_id=c.inbox_id,
            provider=c.provider,
            account=c.account,
            address=c.address,
            secret_name=c.secret_name,
            options=dict(c.options),
        )


class TemplateOut(BaseModel):
    name: str
    language: str
    text: str
    parameters: int


class ChannelStateOut(BaseModel):
    """What the desk needs before the agent writes: what the channel will take now."""

    channel: str
    provider: str | None
    opted_out: bool = Field(description="The customer sent STOP: nothing can be sent")
    opted_out_keyword: str | None = Field(
        default=None, description="The word the customer opted out with (STOP, QUIT…)"
    )
    window_open: bool = Field(description="Free text may be sent (no window, or inside it)")
    window_closes_at: datetime | None
    window_hours: float | None = Field(
        default=None, description="How long after the customer's message free text goes"
    )
    templates: list[TemplateOut]
    tags: list[str] = Field(description="Messenger message tags usable now")
    rich_replies: bool
