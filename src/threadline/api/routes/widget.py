"""The web chat widget's API: public by widget key, then by visitor token.

The chat panel runs in an iframe served by Threadline, so these calls are same-origin;
only the launcher's look (`/config`) is fetched from the business's page, and that is
public and harmless to share, so it alone allows any origin.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, StringConstraints

from threadline.adapters.stream import Signal
from threadline.api.schemas import Request, Text
from threadline.api.security import Ctx
from threadline.core.messages import DeliveryStatus, Direction, Message
from threadline.core.verification import Verification
from threadline.core.widgets import Visitor
from threadline.service import visitors

router = APIRouter(tags=["web chat"], prefix="/widget")

_visitor_bearer = HTTPBearer(
    auto_error=False, scheme_name="VisitorToken", description="From POST /widget/{key}/sessions"
)


async def current_visitor(
    ctx: Ctx,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_visitor_bearer)],
) -> Visitor:
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            401, "a visitor token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    token = credentials.credentials
    return await ctx.tx.read(lambda uow: visitors.authenticate(uow, token, ctx.now()))


CurrentVisitor = Annotated[Visitor, Depends(current_visitor)]
Origin = Annotated[str | None, Header(max_length=300)]


class WidgetConfigOut(BaseModel):
    title: str
    greeting: str
    accent_color: str


class SessionIn(Request):
    visitor_token: Annotated[str, StringConstraints(max_length=200)] | None = None
    identity: Annotated[str, StringConstraints(max_length=4096)] | None = Field(
        default=None,
        description="An HS256 JWT the business signed with the widget's identity secret: "
        "claims sub (the customer's id) and exp (at most 24 h ahead), optional name, email.",
    )
    name: Annotated[str, StringConstraints(max_length=128)] | None = None


class SessionOut(BaseModel):
    visitor_token: str
    customer_id: uuid.UUID
    conversation_id: uuid.UUID | None
    verification: Verification
    display_name: str | None


class WidgetMessageOut(BaseModel):
    id: uuid.UUID
    seq: int
    session_id: uuid.UUID = Field(
        description="Changes when the chat was closed and the visitor wrote again."
    )
    direction: Direction
    sender: Literal["you", "agent", "bot", "system"]
    sender_name: str | None
    text: str
    created_at: datetime
    status: DeliveryStatus
    client_id: str | None


class ThreadOut(BaseModel):
    messages: list[WidgetMessageOut]
    agent_read_seq: int = Field(description="The agent has read your messages up to this seq.")
    state: Literal["open", "closed"] | None
    event_seq: int = Field(description="The stream position to resume live updates from.")


class WidgetSendIn(Request):
    text: Text
    client_id: Annotated[
        str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    ] = Field(description="Unique per message: a retry with the same id is stored once.")


class WidgetReadIn(Request):
    up_to_seq: int = Field(ge=1, le=2**31 - 1)


class WidgetTypingIn(Request):
    typing: bool


@router.get("/{key}/config", response_model=WidgetConfigOut)
async def widget_config(
    key: str, ctx: Ctx, response: Response, origin: Origin = None
) -> WidgetConfigOut:
    """The launcher's look, read by the loader script on the business's page."""
    widget = await ctx.tx.read(lambda uow: visitors.widget_for(uow, key, origin))
    # Public, and what the page shows anyway: any allowed page may read it.
    response.headers["access-control-allow-origin"] = (
        origin if origin and widget.allowed_origins else "*"
    )
    response.headers["vary"] = "origin"
    look = widget.look
    return WidgetConfigOut(title=look.title, greeting=look.greeting, accent_color=look.accent_color)


@router.post("/{key}/sessions", response_model=SessionOut)
async def start_session(
    key: str,
    body: SessionIn,
    ctx: Ctx,
    origin: Origin = None,
    sec_fetch_site: Annotated[str | None, Header(max_length=32)] = None,
) -> SessionOut:
    """Start or resume a visitor's chat. Keep the returned token in the browser: it is
    the visitor's thread, and a signed identity makes it a verified customer's."""
    if sec_fetch_site == "same-origin":
        # Our own chat panel: where it may be embedded is its frame-ancestors' business.
        origin = None
    started = await ctx.tx.write(
        lambda uow: visitors.start(
            uow,
            key,
            origin=origin,
            visitor_token=body.visitor_token,
            identity=body.identity,
            name=body.name,
            now=ctx.now(),
        )
    )
    return SessionOut(
        visitor_token=started.token,
        customer_id=started.visitor.customer_id,
        conversation_id=started.conversation_id,
        verification=started.visitor.verification,
        display_name=started.display_name,
    )


@router.get("/messages", response_model=ThreadOut)
async def thread(
    ctx: Ctx, visitor: CurrentVisitor, after_seq: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0
) -> ThreadOut:
    # The stream position first: anything committed after it is replayed from there.
    event_seq = await ctx.tx.read(lambda uow: uow.events.head())
    found = await ctx.tx.write(lambda uow: visitors.thread(uow, visitor, after_seq, ctx.now()))
    conv = found.conversation
    return ThreadOut(
        messages=[_message_out(m, visitor, found.agent_names) for m in found.messages],
        agent_read_seq=conv.agent_read_seq if conv else 0,
        state=None if conv is None else ("open" if conv.state.is_open else "closed"),
        event_seq=event_seq,
    )


@router.post(
    "/messages",
    response_model=WidgetMessageOut,
    status_code=201,
    responses={200: {"model": WidgetMessageOut, "description": "Sent before: the stored message"}},
)
async def send(
    body: WidgetSendIn, ctx: Ctx, visitor: CurrentVisitor, response: Response
) -> WidgetMessageOut:
    """201 with the new message; 200 with the stored one when `client_id` was sent before."""
    message, new = await ctx.tx.write(
        lambda uow: visitors.send(uow, visitor, body.text, body.client_id, ctx.now())
    )
    if not new:
        response.status_code = 200
    return _message_out(message, visitor, {})


@router.post("/read", status_code=204, response_class=Response)
async def read(body: WidgetReadIn, ctx: Ctx, visitor: CurrentVisitor) -> Response:
    await ctx.tx.write(lambda uow: visitors.read(uow, visitor, body.up_to_seq, ctx.now()))
    return Response(status_code=204)


@router.post("/typing", status_code=204, response_class=Response)
async def typing(body: WidgetTypingIn, ctx: Ctx, visitor: CurrentVisitor) -> Response:
    """Shown live on the agent's desk; nothing is stored."""
    conv = await ctx.tx.read(lambda uow: visitors.conversation_of(uow, visitor))
    if conv is not None and conv.holder is not None:
        frame = {"type": "typing", "conversation_id": str(conv.id), "typing": body.typing}
        ctx.stream.signal(Signal(conv.id, conv.holder, frame))
    return Response(status_code=204)


def _message_out(m: Message, visitor: Visitor, names: dict[uuid.UUID, str]) -> WidgetMessageOut:
    prefix = f"{visitor.customer_id}:"
    client_id = (
        m.external_id[len(prefix) :] if m.external_id and m.external_id.startswith(prefix) else None
    )
    sender = "you" if m.direction is Direction.INBOUND else str(m.sender_type)
    return WidgetMessageOut(
        id=m.id,
        seq=m.seq,
        session_id=m.session_id,
        direction=m.direction,
        sender=sender,
        sender_name=names.get(m.sender_agent_id) if m.sender_agent_id else None,
        text=m.body,
        created_at=m.created_at,
        status=m.delivery_status,
        client_id=client_id,
    )
