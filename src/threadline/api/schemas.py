"""Request and response bodies. Requests forbid unknown fields, so a typo is an error."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from threadline.adapters.repositories.events import StoredEvent
from threadline.core.agents import MAX_CONCURRENCY, Agent, AgentStatus, Role
from threadline.core.classify import MessageKind, OutboundContext
from threadline.core.conversations import Conversation, ConversationState, WaitingOn
from threadline.core.customers import Identity
from threadline.core.handoff import Handoff
from threadline.core.inboxes import Inbox
from threadline.core.messages import MAX_BODY_CHARS, DeliveryStatus, Direction, Message, SenderType
from threadline.core.verification import Verification
from threadline.service.channels import ChannelSettings
from threadline.service.conversations import ConversationSummary
from threadline.service.customers import CustomerView

Channel = Literal["api", "web", "app", "sms", "whatsapp", "messenger", "rcs", "apple"]
Skill = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY_CHARS)]
Concurrency = Annotated[int, Field(ge=1, le=MAX_CONCURRENCY)]


def _has_nul(value: object) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class Request(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: object) -> object:
        # PostgreSQL text cannot hold U+0000 and no person types it; refusing it here
        # keeps both databases storing the same thing.
        if _has_nul(value):
            raise ValueError("NUL characters are not allowed")
        return value


# -- auth --------------------------------------------------------------------------


class LoginIn(Request):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class AgentOut(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    role: Role
    skills: list[str]
    preferred_concurrency: int
    max_load: int
    status: AgentStatus
    status_since: datetime
    active_count: int

    @classmethod
    def of(cls, a: Agent) -> AgentOut:
        return cls(
            id=a.id,
            username=a.username,
            display_name=a.display_name,
            role=a.role,
            skills=sorted(a.skills),
            preferred_concurrency=a.preferred_concurrency,
            max_load=a.max_load,
            status=a.status,
            status_since=a.status_since,
            active_count=a.active_count,
        )


class LoginOut(BaseModel):
    token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a scheme name, not a secret
    expires_at: datetime
    agent: AgentOut


# -- agents ------------------------------------------------------------------------


class AgentCreate(Request):
    username: Annotated[str, StringConstraints(min_length=2, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=8, max_length=256)]
    display_name: Annotated[str, StringConstraints(max_length=128)] | None = None
    role: Role = Role.AGENT
    skills: Annotated[list[Skill], Field(max_length=50)] = ["general"]
    preferred_concurrency: Concurrency = 3
    max_load: Concurrency = 5


class AgentPatch(Request):
    display_name: Annotated[str, StringConstraints(min_length=1, max_length=128)] | None = None
    role: Role | None = None
    skills: Annotated[list[Skill], Field(max_length=50)] | None = None
    preferred_concurrency: Concurrency | None = None
    max_load: Concurrency | None = None


class StatusIn(Request):
    status: AgentStatus


# -- channel settings --------------------------------------------------------------

# Strict: JSON true is not 1.0. The cross-field rules and lower bounds are the core's
# (core.pacing.ChannelTiming), which names the offending setting.
Seconds = Annotated[float, Field(strict=True, gt=0, allow_inf_nan=False)]
Factor = Annotated[float, Field(strict=True, gt=0, le=100, allow_inf_nan=False)]


class ChannelSettingsPatch(Request):
    """Durations in seconds. Checked together: floor ≤ ceiling, inactive_min ≤
    inactive_max, durations at most 7 days (close_after 30 days)."""

    default_pace: Seconds | None = None
    k: Factor | None = None
    floor: Seconds | None = None
    ceiling: Seconds | None = None
    m: Factor | None = None
    inactive_min: Seconds | None = None
    inactive_max: Seconds | None = None
    close_after: Seconds | None = None
    alpha: Annotated[float, Field(strict=True, gt=0, le=1, allow_inf_nan=False)] | None = None


class ChannelSettingsOut(BaseModel):
    channel: str
    default_pace: float = Field(description="Assumed reply latency of a new customer (s).")
    k: float = Field(description="respond_by = received_at + clamp(k·pace, floor, ceiling).")
    floor: float
    ceiling: float = Field(description="The channel's response-window target (s).")
    m: float = Field(description="Inactive after clamp(m·pace, inactive_min, inactive_max).")
    inactive_min: float
    inactive_max: float
    close_after: float = Field(description="An inactive conversation closes after this (s).")
    alpha: float = Field(description="Weight of the newest reply latency in the pace.")
    customised: bool = Field(description="False: the shipped defaults apply.")
    updated_at: datetime | None
    updated_by: uuid.UUID | None

    @classmethod
    def of(cls, s: ChannelSettings) -> ChannelSettingsOut:
        return cls(
            channel=s.channel,
            **s.timing.as_dict(),
            customised=s.customised,
            updated_at=s.updated_at,
            updated_by=s.updated_by,
        )


# -- customers ---------------------------------------------------------------------


class IdentityIO(Request):
    channel: Channel
    address: Annotated[str, StringConstraints(min_length=1, max_length=255)]

    @classmethod
    def of(cls, i: Identity) -> IdentityIO:
        return cls.model_validate({"channel": i.channel, "address": i.address})


class CustomerCreate(Request):
    display_name: Annotated[str, StringConstraints(max_length=128)] | None = None
    timezone: Annotated[str, StringConstraints(max_length=64)] | None = None
    preferred_channel: Channel | None = None
    identities: Annotated[list[IdentityIO], Field(max_length=20)] = []


class CustomerOut(BaseModel):
    id: uuid.UUID
    display_name: str | None
    timezone: str | None
    preferred_channel: str | None
    created_at: datetime
    identities: list[IdentityIO]

    @classmethod
    def of(cls, view: CustomerView) -> CustomerOut:
        c = view.customer
        return cls(
            id=c.id,
            display_name=c.display_name,
            timezone=c.timezone,
            preferred_channel=c.preferred_channel,
            created_at=c.created_at,
            identities=[IdentityIO.of(i) for i in view.identities],
        )


# -- conversations -----------------------------------------------------------------


class HandoffIO(BaseModel):
    """What a bot learned before passing the conversation to a human."""

    bot: str | None = Field(default=None, max_length=64, description="Which bot handed over.")
    intent: str | None = Field(default=None, max_length=64)
    confidence: float | None = Field(default=None, ge=0, le=1)
    fields: dict[str, Annotated[str, StringConstraints(max_length=500)]] = Field(
        default_factory=dict, max_length=30, description="What it collected, by name."
    )
    summary: str | None = Field(default=None, max_length=2000)

    @classmethod
    def of(cls, h: Handoff) -> HandoffIO:
        return cls(
            bot=h.bot,
            intent=h.intent,
            confidence=h.confidence,
            fields=dict(h.fields),
            summary=h.summary,
        )


class ConversationOut(BaseModel):
    id: uuid.UUID
    customer_id: uuid.UUID
    inbox_id: uuid.UUID
    channel: str
    queue: str
    state: ConversationState
    waiting_on: WaitingOn
    respond_by: datetime | None
    assigned_agent_id: uuid.UUID | None
    owner_agent_id: uuid.UUID | None
    session_seq: int
    opened_at: datetime
    updated_at: datetime
    last_customer_message_at: datetime | None
    last_outbound_at: datetime | None
    inactive_since: datetime | None = Field(
        description="When it went inactive (its slot freed, its owner kept); null if active."
    )
    reactivated: bool = Field(
        description="Reactivated and waiting in the queue, where it goes ahead of new work."
    )
    last_outbound: OutboundContext = Field(
        description="What the last agent or bot message asked of the customer, which "
        "decides how their reply is read: none, statement, awaits_answer or "
        "closing_question."
    )
    verification: Verification = Field(
        description="How sure we are of who the customer is this session: anonymous, "
        "identified (by their channel address) or verified. Disclose account details only "
        "when verified."
    )
    agent_read_seq: int = Field(
        description="The holding agent has read the thread up to this message seq."
    )
    handoff: HandoffIO | None = Field(
        description="What a bot handed over with it this session: intent, fields, summary."
    )

    @classmethod
    def of(cls, c: Conversation) -> ConversationOut:
        return cls(
            id=c.id,
            customer_id=c.customer_id,
            inbox_id=c.inbox_id,
            channel=c.channel,
            queue=c.skill,
            state=c.state,
            waiting_on=c.waiting_on,
            respond_by=c.respond_by,
            assigned_agent_id=c.assigned_agent_id,
            owner_agent_id=c.owner_agent_id,
            session_seq=c.session_seq,
            opened_at=c.opened_at,
            updated_at=c.updated_at,
            last_customer_message_at=c.last_customer_message_at,
            last_outbound_at=c.last_outbound_at,
            last_outbound=c.last_outbound,
            inactive_since=c.inactive_since,
            reactivated=c.reactivated,
            verification=c.verification,
            agent_read_seq=c.agent_read_seq,
            handoff=HandoffIO.of(c.handoff) if c.handoff else None,
        )


# The list shows the start of the last message; the thread shows it all.
PREVIEW_CHARS = 140


class LastMessageOut(BaseModel):
    direction: Direction
    sender_type: SenderType
    sender_agent_id: uuid.UUID | None
    preview: str = Field(description=f"The first {PREVIEW_CHARS} characters, as text.")
    created_at: datetime


class ConversationSummaryOut(ConversationOut):
    customer_name: str | None
    last_message: LastMessageOut | None
    unread: int = Field(description="Customer messages after the holding agent's read marker.")

    @classmethod
    def of_summary(cls, s: ConversationSummary) -> ConversationSummaryOut:
        last = s.last_message
        return cls(
            **ConversationOut.of(s.conversation).model_dump(),
            customer_name=s.customer_name,
            unread=s.unread,
            last_message=LastMessageOut(
                direction=last.direction,
                sender_type=last.sender_type,
                sender_agent_id=last.sender_agent_id,
                preview=last.body[:PREVIEW_CHARS],
                created_at=last.created_at,
            )
            if last is not None
            else None,
        )


class AttachmentOut(BaseModel):
    content_type: str
    url: str | None = None
    media_id: str | None = None
    caption: str | None = None


class MessageOut(BaseModel):
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int = Field(description="Position in the conversation's thread, from 1")
    session_id: uuid.UUID
    direction: Direction
    sender_type: SenderType
    sender_agent_id: uuid.UUID | None
    text: str
    external_id: str | None
    delivery_status: DeliveryStatus
    created_at: datetime
    status_updated_at: datetime
    kind: MessageKind | None = Field(
        description="Inbound messages: closing (a 'no' to 'anything else?', which closed "
        "the session), ineffectual (thanks or acknowledgement: shown, but the agent is "
        "not waited on) or substantive. Null for outbound messages."
    )
    delivery_error: str | None = Field(
        default=None, description="Outbound: why the channel did not deliver it"
    )
    attachments: list[AttachmentOut] = Field(
        default_factory=list, description="Inbound media, by the provider's reference"
    )

    @classmethod
    def of(cls, m: Message) -> MessageOut:
        return cls(
            id=m.id,
            conversation_id=m.conversation_id,
            seq=m.seq,
            session_id=m.session_id,
            direction=m.direction,
            sender_type=m.sender_type,
            sender_agent_id=m.sender_agent_id,
            text=m.body,
            external_id=m.external_id,
            delivery_status=m.delivery_status,
            created_at=m.created_at,
            status_updated_at=m.status_updated_at,
            kind=m.kind,
            delivery_error=m.delivery_error,
            attachments=[AttachmentOut(**a.as_dict()) for a in m.attachments],
        )


class SessionOut(BaseModel):
    id: uuid.UUID
    seq: int
    opened_at: datetime
    closed_at: datetime | None
    close_reason: str | None


class EventOut(BaseModel):
    seq: int
    type: str
    occurred_at: datetime
    actor: str
    conversation_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    queue: str | None
    payload: dict[str, Any]

    @classmethod
    def of(cls, e: StoredEvent) -> EventOut:
        return cls(**e.__dict__)


class ConversationDetailOut(BaseModel):
    conversation: ConversationOut
    customer: CustomerOut
    sessions: list[SessionOut]
    messages: list[MessageOut]
    events: list[EventOut]


class TemplateIn(Request):
    name: str = Field(min_length=1, max_length=512, pattern=r"^[a-z0-9_]+$")
    language: str | None = Field(default=None, min_length=2, max_length=15)
    parameters: list[Annotated[str, Field(min_length=1, max_length=1024)]] = Field(
        default_factory=list, max_length=20
    )


class SendIn(Request):
    # Before `text`, so that text's validator sees whether a template was given.
    template: TemplateIn | None = Field(
        default=None,
        description="An approved template of the inbox (WhatsApp): the only kind of "
        "message its channel takes more than 24 h after the customer last wrote",
    )
    text: Text | None = Field(
        default=None,
        validate_default=True,
        description="The message; omitted when `template` is given",
    )
    tag: str | None = Field(
        default=None,
        max_length=32,
        description="A Messenger message tag (e.g. HUMAN_AGENT, ACCOUNT_UPDATE), needed "
        "more than 24 h after the customer last wrote",
    )
    suggestions: list[str] = Field(
        default_factory=list,
        max_length=10,
        description="Suggested replies: chips, quick replies or a list where the channel "
        "has them, numbered options in the text elsewhere",
    )

    @field_validator("text")
    @classmethod
    def _text_or_template(cls, text: str | None, info: ValidationInfo) -> str | None:
        has_template = info.data.get("template") is not None
        if text is None and not has_template:
            raise ValueError("text is required (or a template)")
        if text is not None and has_template:
            raise ValueError("give text or a template, not both")
        return text


class TransferIn(Request):
    to_agent_id: uuid.UUID | None = None
    to_queue: Skill | None = None


# -- inboxes and the API channel ---------------------------------------------------


class InboxCreate(Request):
    name: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    channel: Channel = "api"
    queue: Skill = "general"


class InboxOut(BaseModel):
    id: uuid.UUID
    name: str
    channel: str
    queue: str
    created_at: datetime

    @classmethod
    def of(cls, i: Inbox) -> InboxOut:
        return cls(id=i.id, name=i.name, channel=i.channel, queue=i.skill, created_at=i.created_at)


class InboxTokenOut(BaseModel):
    inbox: InboxOut
    token: str = Field(description="Shown once; store it in the business's back end.")


class ChannelCustomer(Request):
    address: Annotated[str, StringConstraints(min_length=1, max_length=255)] = Field(
        description="The customer's id on this inbox's channel (phone number, your customer id…)"
    )
    name: Annotated[str, StringConstraints(max_length=128)] | None = None


class ChannelMessageIn(Request):
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = Field(
        default=None,
        description="Your id for the message; the same id again is refused with 409.",
    )
    customer: ChannelCustomer
    text: Text
    handoff: HandoffIO | None = Field(
        default=None,
        description="Your bot passes the conversation to a human with this message: what "
        "it learned is shown to the agent above the thread for the rest of the session.",
    )


class ChannelMessageOut(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    state: ConversationState
    assigned_agent_id: uuid.UUID | None


class OutboundOut(BaseModel):
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    to: str
    text: str
    created_at: datetime


class DeliveryReportIn(Request):
    status: Literal["sent", "delivered", "read", "failed"]
