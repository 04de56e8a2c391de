"""Which bot serves an inbox."""

from __future__ import annotations

import enum
import uuid
from dataclasses import dataclass
from datetime import datetime

# The part of THREADLINE_SECRET_<NAME>_BOT_KEY after the name: the key that signs a
# bot's outgoing requests (the external bot's webhook, a flow's lookups).
SECRET_PART = "BOT_KEY"  # noqa: S105 (a name, not a secret)


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
