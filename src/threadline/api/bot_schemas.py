"""Request and response bodies of bots, business hours and the bot report."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from threadline.api.schemas import Request
from threadline.core.bots.config import InboxBot
from threadline.core.bots.flow import Flow
from threadline.core.bots.hours import BusinessHours, hours_to_json
from threadline.core.bots.report import BotReport


class BotIn(Request):
    kind: Literal["builtin", "external"] = Field(
        description="builtin: Threadline's virtual agent runs `flow`; external: your bot "
        "at `url` answers over the webhook protocol (docs/bots-protocol.md)."
    )
    flow: str | None = Field(
        default=None,
        max_length=262_144,
        description="The flow, as YAML (docs/bots.md). Mistakes are reported with their line.",
    )
    url: str | None = Field(default=None, max_length=2048)
    timeout_seconds: float | None = Field(
        default=None, description="How long the external bot may take to answer (0.5-30 s)."
    )
    secret_name: str | None = Field(
        default=None,
        max_length=64,
        description="The environment holds THREADLINE_SECRET_<secret_name>_BOT_KEY, which "
        "signs the bot's requests (required for an external bot).",
    )


class BotOut(BaseModel):
    inbox_id: uuid.UUID
    kind: str
    name: str
    updated_at: datetime
    url: str | None
    timeout_seconds: float | None
    secret_name: str | None
    flow: str | None
    intents: list[str] = Field(description="The flow's intents (built-in bots).")
    routines: list[str] = Field(description="Routines an agent can hand a conversation to.")

    @classmethod
    def of(cls, bot: InboxBot, flow: Flow | None) -> BotOut:
        return cls(
            inbox_id=bot.inbox_id,
            kind=str(bot.kind),
            name=bot.name,
            updated_at=bot.updated_at,
            url=bot.url,
            timeout_seconds=bot.timeout_seconds,
            secret_name=bot.secret_name,
            flow=bot.flow,
            intents=[i.name for i in flow.intents] if flow else [],
            routines=sorted(flow.routines) if flow else [],
        )


class HoursIn(Request):
    timezone: str = Field(max_length=64, examples=["Europe/Madrid"])
    weekly: dict[str, list[str]] = Field(
        description='Opening intervals per day: {"mon": ["08:00-20:00"], "sat": ["09:00-14:00"]}'
    )
    holidays: list[str] = Field(default_factory=list, description="Closed dates, YYYY-MM-DD.")


class HoursOut(BaseModel):
    queue: str
    timezone: str
    weekly: dict[str, list[str]]
    holidays: list[str]
    open_now: bool
    reopens_at: datetime | None = Field(description="When it next opens, if closed now.")

    @classmethod
    def of(
        cls, queue: str, hours: BusinessHours, open_now: bool, reopens_at: datetime | None
    ) -> HoursOut:
        data = hours_to_json(hours)
        return cls(
            queue=queue,
            timezone=data["timezone"],
            weekly=data["weekly"],
            holidays=data["holidays"],
            open_now=open_now,
            reopens_at=reopens_at,
        )


class HandToBotIn(Request):
    routine: str = Field(min_length=1, max_length=64, description="A routine of the bot's flow.")


class ConversationBotOut(BaseModel):
    bot: str | None = Field(description="The bot of the conversation's inbox, if any.")
    kind: str | None
    routines: list[str] = Field(description="Routines you can hand the conversation to.")


class WaitsOut(BaseModel):
    count: int
    mean_seconds: float | None
    p50_seconds: float | None
    p90_seconds: float | None
    unanswered: int


class BotReportOut(BaseModel):
    since: datetime
    until: datetime
    episodes: int = Field(description="Bot sessions begun in the period (not agents' routines).")
    ended: int
    contained: int
    escalated: int
    abandoned: int
    closed_by_staff: int
    containment_rate: float | None
    escalation_rate: float | None
    reasons: dict[str, int] = Field(description="Escalations by reason.")
    routines: int
    routines_returned: int
    first_human_response: WaitsOut

    @classmethod
    def of(cls, r: BotReport) -> BotReportOut:
        w = r.first_human_response
        return cls(
            since=r.since,
            until=r.until,
            episodes=r.episodes,
            ended=r.ended,
            contained=r.contained,
            escalated=r.escalated,
            abandoned=r.abandoned,
            closed_by_staff=r.closed_by_staff,
            containment_rate=r.containment_rate,
            escalation_rate=r.escalation_rate,
            reasons=r.reasons,
            routines=r.routines,
            routines_returned=r.routines_returned,
            first_human_response=WaitsOut(
                count=w.count,
                mean_seconds=w.mean,
                p50_seconds=w.p50,
                p90_seconds=w.p90,
                unanswered=w.unanswered,
            ),
        )
