"""Web chat visitors: starting or resuming a chat, writing, reading (DESIGN.md §6).

A visitor is a browser holding a visitor token. The token names one customer in one
inbox: an anonymous `web:<random id>` customer, or, when the business's page passed an
identity it signed, the `app:<their id>` customer, verified.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from threadline.adapters.identity_tokens import verified_claims
from threadline.adapters.passwords import new_token, token_hash
from threadline.adapters.repositories.events import StoredEvent
from threadline.adapters.stream import Signal
from threadline.core.conversations import Conversation
from threadline.core.customers import Identity
from threadline.core.errors import (
    Conflict,
    DuplicateExternalId,
    Forbidden,
    NotFound,
    Unauthenticated,
)
from threadline.core.events import ACTOR_CUSTOMER, EventType
from threadline.core.messages import DeliveryStatus, Message
from threadline.core.verification import Verification
from threadline.core.widgets import (
    SignedIdentity,
    Visitor,
    Widget,
    identity_from_claims,
    is_widget_key,
    phone_identities,
)
from threadline.service import inbound, outbound
from threadline.service.unit_of_work import UnitOfWork

# How long a browser keeps its thread without coming back. Customers return to a web
# chat days or weeks later (an order that ships, a refund that lands); each visit
# renews it.
VISITOR_TTL = timedelta(days=180)
# A page of history for the widget; older messages page back with `after_seq`.
HISTORY_LIMIT = 500


@dataclass(frozen=True)
class Started:
    token: str
    visitor: Visitor
    conversation_id: uuid.UUID | None
    display_name: str | None


async def widget_for(uow: UnitOfWork, key: str, origin: str | None) -> Widget:
    widget = await uow.widgets.by_key(key) if is_widget_key(key) else None
    if widget is None:
        raise NotFound("no such chat widget", code="unknown_widget")
    if not widget.allows(origin):
        raise Forbidden(
            f"this chat is not offered on {origin}: add it to the widget's allowed_origins",
            code="origin_not_allowed",
        )
    return widget


async def start(
    uow: UnitOfWork,
    key: str,
    *,
    origin: str | None,
    visitor_token: str | None,
    identity: str | None,
    name: str | None,
    now: datetime,
) -> Started:
    """Resume the visitor's chat, or start one.

    A signed identity decides who the visitor is, whatever token they hold. Without
    one, a valid anonymous token resumes its chat; a *verified* token does not: the
    page stopped vouching for the visitor (they signed out), so the next person at
    this browser must not see that customer's thread.
    """
    widget = await widget_for(uow, key, origin)
    if identity is not None:
        if widget.identity_secret is None:
            raise Unauthenticated(
                "this widget does not accept signed identities: set its identity secret",
                code="invalid_identity",
            )
        signed = identity_from_claims(verified_claims(identity, widget.identity_secret), now)
        customer_id = await signed_customer(uow, signed, "web", now)
        visitor = Visitor.signed(widget.inbox_id, customer_id, signed)
        if visitor_token is not None and await _resumes(uow, visitor_token, visitor, now):
            return await _started(uow, visitor_token, visitor)
        return await _issue(uow, visitor, now)
    if visitor_token is not None:
        found = await uow.widgets.visitor(token_hash(visitor_token), now)
        if (
            found is not None
            and found.inbox_id == widget.inbox_id
            and found.verification is Verification.ANONYMOUS
        ):
            await uow.widgets.extend_visitor(token_hash(visitor_token), now + VISITOR_TTL)
            await _name_if_unnamed(uow, found.customer_id, name)
            return await _started(uow, visitor_token, found)
    who = Identity("web", uuid.uuid4().hex)
    customer_id = await inbound.register_customer(uow, "web", who, _clean_name(name), now)
    return await _issue(
        uow, Visitor(widget.inbox_id, customer_id, who, Verification.ANONYMOUS), now
    )


async def authenticate(uow: UnitOfWork, token: str, now: datetime) -> Visitor:
    visitor = await uow.widgets.visitor(token_hash(token), now) if len(token) <= 200 else None
    if visitor is None:
        raise Unauthenticated("invalid or expired visitor token")
    return visitor


@dataclass(frozen=True)
class Thread:
    conversation: Conversation | None
    messages: list[Message]
    # Display names of the agents who wrote in `messages`.
    agent_names: dict[uuid.UUID, str]


async def thread(uow: UnitOfWork, visitor: Visitor, after_seq: int, now: datetime) -> Thread:
    """The visitor's messages after `after_seq`. Agents' messages the browser now has
    are delivered: for web chat, the widget is the delivery."""
    conv = await _conversation(uow, visitor)
    if conv is None:
        return Thread(None, [], {})
    if after_seq == 0:
        # A browser opening the chat: the latest of a long thread, not its first pages.
        found = await uow.messages.for_conversation(conv.id, limit=HISTORY_LIMIT)
    else:
        found = await uow.messages.after(conv.id, after_seq=after_seq, limit=HISTORY_LIMIT)
    if found:
        moved = await uow.messages.advance_outbound(
            conv.id,
            up_to_seq=found[-1].seq,
            before=(DeliveryStatus.QUEUED, DeliveryStatus.SENT),
            to=DeliveryStatus.DELIVERED,
            at=now,
        )
        for m in moved:
            outbound.record_status(uow, conv, m, DeliveryStatus.DELIVERED, now, ACTOR_CUSTOMER)
        delivered = {m.id for m in moved}
        found = [
            m.with_status(DeliveryStatus.DELIVERED, now) if m.id in delivered else m for m in found
        ]
    names = {}
    for agent_id in {m.sender_agent_id for m in found if m.sender_agent_id is not None}:
        agent = await uow.agents.get(agent_id)
        if agent is not None:
            names[agent_id] = agent.display_name
    return Thread(conv, found, names)


async def send(
    uow: UnitOfWork, visitor: Visitor, text: str, client_id: str, now: datetime
) -> tuple[Message, bool]:
    """Store the visitor's message; returns it and whether it is new. A retry with the
    same `client_id` gets the stored message back and changes nothing."""
    inbox = await uow.access.get_inbox(visitor.inbox_id)
    if inbox is None:
        raise Unauthenticated("this chat's inbox no longer exists")
    message = inbound.InboundMessage(
        address=visitor.identity.address,
        text=text,
        # Scoped to the visitor: a guessed client id cannot reach someone else's message.
        external_id=f"{visitor.customer_id}:{client_id}",
        identity_channel=visitor.identity.channel,
        proven=visitor.proof(now),
    )
    try:
        result = await inbound.ingest(uow, inbox, message, now)
    except DuplicateExternalId as duplicate:
        stored = await uow.messages.get(uuid.UUID(str(duplicate.details["message_id"])))
        conv = await _conversation(uow, visitor)
        if stored is None or conv is None or stored.conversation_id != conv.id:
            # Not this visitor's message, whatever its id says: name nothing of it.
            raise Conflict("this client_id was used for another message") from None
        return stored, False
    stored = await uow.messages.get(result.message_id)
    assert stored is not None
    return stored, True


async def read(uow: UnitOfWork, visitor: Visitor, up_to_seq: int, now: datetime) -> None:
    """The visitor has seen the thread up to `up_to_seq`: agents' messages are read."""
    conv = await _conversation(uow, visitor)
    if conv is None or not 1 <= up_to_seq <= conv.message_count:
        raise NotFound("no such message in your chat", up_to_seq=up_to_seq)
    moved = await uow.messages.advance_outbound(
        conv.id,
        up_to_seq=up_to_seq,
        before=(DeliveryStatus.QUEUED, DeliveryStatus.SENT, DeliveryStatus.DELIVERED),
        to=DeliveryStatus.READ,
        at=now,
    )
    for m in moved:
        outbound.record_status(uow, conv, m, DeliveryStatus.READ, now, ACTOR_CUSTOMER)


async def conversation_of(uow: UnitOfWork, visitor: Visitor) -> Conversation | None:
    return await _conversation(uow, visitor)


# -- internals ------------------------------------------------------------------------


async def _conversation(uow: UnitOfWork, visitor: Visitor) -> Conversation | None:
    found = await uow.conversations.for_customers(
        visitor.inbox_id, {visitor.customer_id}, for_update=False
    )
    return found.get(visitor.customer_id)


async def signed_customer(
    uow: UnitOfWork, signed: SignedIdentity, channel: str, now: datetime
) -> uuid.UUID:
    """The customer a business's signed identity names, met first through `channel`.

    They are `app:<sub>`, whichever of the business's pages or apps they signed in to.
    A verified phone number links them to that number's SMS and WhatsApp identities:
    one customer, whichever channel they write on. `app:<sub>` with no owner joins the
    customer who owns the number (who texted first); the number's identities with no
    owner join the customer. Two customers who both exist are never merged, here or
    anywhere: which one's history the other's conversations should join is a person's
    call, and a merge cannot be undone (docs/api.md, In-app chat).
    """
    plan = await _links(uow, signed)
    owner, unowned = plan.owner, list(plan.unowned)
    if owner is None:
        # New to us: the app identity (first, and unowned) makes the customer.
        owner = await inbound.register_customer(uow, channel, unowned.pop(0), signed.name, now)
    elif unowned and unowned[0].channel == "app":
        # Met by phone before, signed in now: the business's name for them, if none yet.
        await _name_if_unnamed(uow, owner, signed.name)
    for identity in unowned:
        await uow.customers.add_identity(owner, identity, now)
    return owner


async def settled_customer(uow: UnitOfWork, signed: SignedIdentity) -> uuid.UUID | None:
    """`signed_customer` without writing: the customer when all is linked already, else
    None (the caller then runs `signed_customer` in a write)."""
    plan = await _links(uow, signed)
    return plan.owner if not plan.unowned else None


@dataclass(frozen=True)
class _Links:
    # Who owns the app identity, else the phone's: None for a customer new to us.
    owner: uuid.UUID | None
    # The signed identity's own identities with no owner yet, the app identity first.
    unowned: tuple[Identity, ...]


async def _links(uow: UnitOfWork, signed: SignedIdentity) -> _Links:
    app = Identity("app", signed.subject)
    app_owner = await uow.customers.owner_of(app)
    phone = {i: await uow.customers.owner_of(i) for i in phone_identities(signed.phone)}
    phone_owners = {o for o in phone.values() if o is not None}
    owner = app_owner
    if owner is None and len(phone_owners) == 1:
        candidate = next(iter(phone_owners))
        known = (await uow.customers.identities([candidate]))[candidate]
        # Met by phone first: the app identity joins them, unless they are already
        # another of the business's users. Numbers are recycled; a verified phone
        # proves the number, not that two accounts are one person, and joining them
        # would show one the other's conversations.
        if not any(i.channel == "app" for i in known):
            owner = candidate
    unowned = [app] if app_owner is None else []
    if phone_owners <= {owner}:
        # The number's other identities follow only when no one else has any of them: a
        # number split between customers is for a person to sort out, not for us to pick.
        unowned += [i for i, o in phone.items() if o is None]
    return _Links(owner, tuple(unowned))


async def _resumes(uow: UnitOfWork, token: str, visitor: Visitor, now: datetime) -> bool:
    found = await uow.widgets.visitor(token_hash(token), now)
    if found is None or not found.same_as(visitor):
        return False
    await uow.widgets.extend_visitor(
        token_hash(token), now + VISITOR_TTL, verified_until=visitor.verified_until
    )
    return True


async def _name_if_unnamed(uow: UnitOfWork, customer_id: uuid.UUID, name: str | None) -> None:
    """A name typed into the pre-chat form after the chat began names the customer, once."""
    cleaned = _clean_name(name)
    customer = await uow.customers.get(customer_id) if cleaned else None
    if customer is not None and customer.display_name is None:
        await uow.customers.update(replace(customer, display_name=cleaned))


async def _issue(uow: UnitOfWork, visitor: Visitor, now: datetime) -> Started:
    token = new_token("visitor")
    await uow.widgets.add_visitor(token_hash(token), visitor, now, now + VISITOR_TTL)
    return await _started(uow, token, visitor)


async def _started(uow: UnitOfWork, token: str, visitor: Visitor) -> Started:
    conv = await _conversation(uow, visitor)
    customer = await uow.customers.get(visitor.customer_id)
    return Started(
        token,
        visitor,
        conv.id if conv else None,
        customer.display_name if customer else None,
    )


def _clean_name(name: str | None) -> str | None:
    cleaned = (name or "").strip()
    return cleaned[:128] or None


# What a visitor hears of their conversation, by event type: the rest (routing,
# timers, who holds it) is the contact centre's business.
_VISITOR_KINDS = {
    str(EventType.MESSAGE_RECEIVED): "message",
    str(EventType.MESSAGE_SENT): "message",
    str(EventType.READ): "read",
    str(EventType.CLOSED): "closed",
}


class VisitorAudience:
    """The live stream's filter for one visitor: their conversation's events, and the
    typing notices meant for them. A visitor who has not written yet has no
    conversation: its opening event names their customer and inbox, and from then on
    it is theirs (a replay from an earlier position learns it the same way)."""

    def __init__(self, visitor: Visitor, conversation_id: uuid.UUID | None) -> None:
        self._visitor = visitor
        self.conversation_id = conversation_id

    def events(self, event: StoredEvent) -> bool:
        if (
            self.conversation_id is None
            and event.type == EventType.CONVERSATION_OPENED
            and event.payload.get("customer_id") == str(self._visitor.customer_id)
            and event.payload.get("inbox_id") == str(self._visitor.inbox_id)
        ):
            self.conversation_id = event.conversation_id
        return event.conversation_id == self.conversation_id and event.type in _VISITOR_KINDS

    def signals(self, signal: Signal) -> bool:
        # agent_id None: a notice for the customer's side of the conversation.
        return signal.agent_id is None and signal.conversation_id == self.conversation_id


def visitor_event(event: StoredEvent) -> dict[str, Any]:
    frame: dict[str, Any] = {"seq": event.seq, "kind": _VISITOR_KINDS[event.type]}
    if event.type == EventType.READ:
        frame["agent_read_seq"] = event.payload["up_to_seq"]
    return frame
