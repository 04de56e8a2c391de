"""What a bot decides in a turn, whichever bot it is (the built-in engine or a
business's own over the webhook protocol): replies to send, fields learned, and how
the bot's part ends, if it does. The service applies it in one transaction."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Reply:
    text: str
    # Quick replies; native where the channel has them (core.rich), numbered elsewhere.
    suggestions: tuple[str, ...] = ()


class HandoffReason(enum.StrEnum):
    """Why a bot passed the conversation to a human: the escalation report's buckets."""

    CUSTOMER_ASKED = "customer_asked"
    FALLBACKS = "fallbacks"
    FLOW = "flow"
    VERIFICATION_FAILED = "verification_failed"
    LOOKUP_FAILED = "lookup_failed"
    BOT_UNAVAILABLE = "bot_unavailable"
    # A routine an agent handed to the bot finished: back to that agent.
    ROUTINE_DONE = "routine_done"
    # A supervisor moved the conversation from the bot to a queue.
    TAKEN_BY_STAFF = "taken_by_staff"


@dataclass(frozen=True)
class HandTo:
    """A human takes over. `detail` says more for the event and the desk (the external
    bot's error, the lookup that failed)."""

    reason: HandoffReason
    skill: str | None = None
    intent: str | None = None
    confidence: float | None = None
    detail: str | None = None
    # The customer's request taken down while humans are away (the queue is closed).
    out_of_hours: bool = False
    # The bot's own account for the agent; built from the context when None.
    summary: str | None = None


@dataclass(frozen=True)
class Finish:
    """The bot resolved it: the session closes without a human (contained)."""


@dataclass(frozen=True)
class BotAnswer:
    replies: tuple[Reply, ...] = ()
    # Fields learned this turn, merged into what the bot has collected.
    fields: Mapping[str, str] = field(default_factory=dict)
    end: HandTo | Finish | None = None
    # The customer proved who they are this turn (a step-up code): the conversation
    # becomes *verified* for the rest of the session.
    verified: bool = False
