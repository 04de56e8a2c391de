"""Which bot serves an inbox, and the conversation's time with it, as stored."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from threadline.core.bots.state import BotState


class BotKind(enum.StrEnum):
    # The virtual agent running a flow written as YAML (core.bots.flow).
    BUILTIN = "builtin"
    # The business's own bot, called over the webhook protocol (core.bots.protocol).
    EXTERNAL = "external"


@dataclass(frozen=True)
class InboxBot:
    inbox_id: uuid.UUID
    kind: BotKind
    # The sender agents see ("Acme assistant"); a flow's own name for built-in bots.
    name: str
    updated_at: datetime
    # The flow's YAML source (built-in), validated when it was set.
    flow: str | None = None
    # The external bot's endpoint and how long it may take to answer.
    url: str | None = None
    timeout_seconds: float | None = None
    # Names the THREADLINE_SECRET_<NAME>_BOT_KEY that signs the bot's requests (the
    # external bot's webhook, a flow's lookups and code deliveries).
    secret_name: str | None = None


@dataclass(frozen=True)
class BotSession:
    """A conversation's time with a bot, as the bot worker reads and writes it."""

    conversation_id: uuid.UUID
    state: BotState
    # The thread's last customer message the bot has answered.
    read_seq: int
    pending: bool
    version: int
    attempts: int = 0
    routine: str | None = None
    lease_until: datetime | None = None
    secure_kind: str | None = None
    # Clear secure answers by message number, until the bot has read them.
    secure_input: Mapping[str, str] = field(default_factory=dict)
