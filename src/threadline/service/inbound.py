"""Customer messages coming in through an inbox (the API channel, later the adapters)."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from threadline.adapters.lexicons import shipped_classifier
from threadline.adapters.repositories.messages import StoredRef
from threadline.core.bots.fields import mask_secure
from threadline.core.classify import Classifier, MessageKind
from threadline.core.conversations import CloseReason, Conversation, ConversationState
from threadline.core.customers import Customer, Identity, make_identity
from threadline.core.errors import DomainError, DuplicateExternalId
from threadline.core.events import ACTOR_CUSTOMER, Event, EventType
from threadline.core.handoff import Handoff
from threadline.core.inboxes import Inbox
from threadline.core.messages import (
    Attachment,
    Message,
    clean_body,
    from_customer,
)
from threadline.core.pacing import ChannelTiming, Timings
from threadline.core.proactive.notification import Notification
from threadline.core.verification import Verification
from threadline.service.proactive import replies
from threadline.service.routing import OwnerOffer, release_slots, route_waiting
from threadline.service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class InboundMessage:
    address: str
    text: str
    external_id: str | None = None
    display_name: str | None = None
    # The channel of the customer's identity, when not the inbox's own: a web chat
    # visitor whose business signed their identity writes as `app:<their id>`.
    identity_channel: str | None = None
    # What the message proves of its sender beyond the channel (core.verification).
    proven: Verification | None = None
    # A bot (the business's own) passes the conversation on with this message.
    handoff: Handoff | None = None
    # Media the customer sent, by the provider's reference.
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class IngestResult:
    message_id: uuid.UUID
    conversation_id: uuid.UUID
    customer_id: uuid.UUID
    state: ConversationState
    assigned_agent_id: uuid.UUID | None


@dataclass(frozen=True)
class Arrival:
    """A message as it reached an inbox, authenticated already."""

    inbox: Inbox
    message: InboundMessage
    received_at: datetime


async def ingest(
    uow: UnitOfWork, inbox: Inbox, inbound: InboundMessage, now: datetime
) -> IngestResult:
    """Store a customer's message once, in their conversation, and route it.

    A message whose external id this inbox has already stored is refused with
    `DuplicateExternalId` (naming the stored message) and changes nothing.
    """
    [outcome] = await ingest_many(uow, [Arrival(inbox, inbound, now)])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


async def ingest_many(
    uow: UnitOfWork, arrivals: Sequence[Arrival], classifier: Classifier | None = None
) -> list[IngestResult | DomainError]:
    """`ingest` for many messages in one transaction, in order; one outcome each.

    Each message is classified against its conversation's last outbound message
    (`classifier`, the shipped lexicons when None): thanks and acknowledgements are
    stored without waking the agent, a "no" to "anything else?" closes the session.

    A refused message (invalid, or a duplicate external id, also within `arrivals`)
    gets its error as its outcome and writes nothing, so the others go on. Reads and
    writes are set-based: in the common case (each customer has a conversation here)
    the batch costs three look-ups per inbox (owners, conversations, stored external
    ids), one insert of all the messages and one update of all the conversations,
    whatever its size.
    """
    items: list[_Valid | DomainError] = []
    for arrival in arrivals:
        try:
            text = clean_body(arrival.message.text)
            channel = arrival.message.identity_channel or arrival.inbox.channel
            identity = make_identity(channel, arrival.message.address)
        except DomainError as refused:
            items.append(refused)
            continue
        items.append(_Valid(arrival, text, identity))
    batch = _Batch(classifier or shipped_classifier(), await uow.timings())
    await batch.load(uow, [item for item in items if isinstance(item, _Valid)])
    outcomes = [
        await batch.receive(uow, item) if isinstance(item, _Valid) else item for item in items
    ]
    # A slot back per conversation closed by its customer, and the owners offered their
    # returning conversations, then one routing pass for those agents' skills and the
    # queues these messages fed.
    skills = batch.queued_skills | await release_slots(uow, batch.freed, batch.offers)
    await replies.record_debt_talk(uow, batch.debt_talk)
    for offer in batch.offers:
        uow.collect(offer.conv)
    await uow.conversations.save_all(list(batch.touched.values()))
    # A concurrent transaction that stored one of these external ids since our check
    # makes this insert fail on the unique key; the transaction then runs again and
    # the check sees it.
    await uow.messages.add_all(batch.messages)
    assigned = {
        o.conv.id: o.conv.assigned_agent_id
        for o in batch.offers
        if o.conv.assigned_agent_id is not None
    }
    if skills:
        stored = zip(arrivals, outcomes, strict=True)
        now = max(a.received_at for a, o in stored if isinstance(o, IngestResult))
        routed = await route_waiting(uow, now, skills=skills)
        assigned |= {a.conversation_id: a.agent_id for a in routed}
    if assigned:
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, IngestResult) and outcome.conversation_id in assigned:
                outcomes[i] = dataclasses.replace(
                    outcome,
                    state=ConversationState.ASSIGNED,
                    assigned_agent_id=assigned[outcome.conversation_id],
                )
    return outcomes


@dataclass(frozen=True)
class _Valid:
    arrival: Arrival
    text: str
    identity: Identity


class _Batch:
    """What a batch knows and has changed. One customer may write from two addresses,
    or to two inboxes, in the same batch: conversations are keyed by inbox and
    customer, owners by channel and address, stored external ids by inbox."""

    def __init__(self, classifier: Classifier, timings: Timings) -> None:
        self.classifier = classifier
        self.timings = timings
        self.freed: list[uuid.UUID] = []
        self.owners: dict[tuple[str, str], uuid.UUID] = {}
        self.conversations: dict[tuple[uuid.UUID, uuid.UUID], Conversation] = {}
        self.stored: dict[tuple[uuid.UUID, str], StoredRef] = {}
        self.touched: dict[uuid.UUID, Conversation] = {}
        self.messages: list[Message] = []
        self.queued_skills: set[str] = set()
        self.offers: list[OwnerOffer] = []
        # The bot serving each inbox that has one, and the conversations whose bot
        # waits on a secure answer (stored masked).
        self.bots: dict[uuid.UUID, str] = {}
        self.secure: dict[uuid.UUID, str] = {}
        # Conversations with a customer message for their bot: the worker is nudged.
        self.for_bots: set[uuid.UUID] = set()
        # The notification each conversation's customer may be answering.
        self.notices: dict[uuid.UUID, Notification] = {}
        # The debts collections notices were recently sent about, per conversation.
        self.debt_talk = replies.DebtTalk({})

    async def load(self, uow: UnitOfWork, valid: list[_Valid]) -> None:
        by_inbox: dict[Inbox, list[_Valid]] = {}
        for item in valid:
            by_inbox.setdefault(item.arrival.inbox, []).append(item)
        # Inboxes in id order, each one's conversations in id order: one lock order for
        # every batch, so concurrent batches cannot deadlock.
        self.bots = await uow.bots.names_for(i.id for i in by_inbox)
        for inbox in sorted(by_inbox, key=lambda i: i.id):
            items = by_inbox[inbox]
            addresses: dict[str, set[str]] = {}
            for i in items:
                addresses.setdefault(i.identity.channel, set()).add(i.identity.address)
            customer_ids: set[uuid.UUID] = set()
            for channel, some in sorted(addresses.items()):
                owners = await uow.customers.owners_of(channel, some)
                self.owners.update(((channel, a), c) for a, c in owners.items())
                customer_ids.update(owners.values())
            found = await uow.conversations.for_customers(inbox.id, customer_ids, for_update=True)
            self.conversations.update(((inbox.id, c), conv) for c, conv in found.items())
            # After the locks: a concurrent delivery of the same message to the same
            # customer has committed by now, so this sees it and refuses the copy
            # instead of failing the batch on the unique key.
            ids = {e for i in items if (e := i.arrival.message.external_id) is not None}
            stored = await uow.messages.stored_external_ids(inbox.id, ids)
            self.stored.update(((inbox.id, ext), ref) for ext, ref in stored.items())
            with_bot = [conv.id for conv in found.values() if conv.state is ConversationState.BOT]
            first = min(i.arrival.received_at for i in items)
            self.notices.update(await replies.awaiting(uow, list(found.values()), first))
            self.secure.update(await uow.bots.secure_kinds(with_bot))
        if valid:
            first = min(i.arrival.received_at for i in valid)
            self.debt_talk = await replies.debt_talk(uow, self.conversations.values(), first)

    async def receive(self, uow: UnitOfWork, item: _Valid) -> IngestResult | DomainError:
        inbox, inbound, now = item.arrival.inbox, item.arrival.message, item.arrival.received_at
        ext = inbound.external_id
        if ext is not None and (ref := self.stored.get((inbox.id, ext))) is not None:
            return DuplicateExternalId(
                "a message with this external_id was already stored",
                message_id=str(ref.message_id),
                conversation_id=str(ref.conversation_id),
            )
        owner_key = (item.identity.channel, item.identity.address)
        customer_id = self.owners.get(owner_key)
        if customer_id is None:
            customer_id = await register_customer(
                uow, inbox.channel, item.identity, inbound.display_name, now
            )
            self.owners[owner_key] = customer_id
        message_id = uuid.uuid4()
        kind = MessageKind.SUBSTANTIVE  # a new conversation's first message is answered
        conv = self.conversations.get((inbox.id, customer_id))
        bot = self.bots.get(inbox.id)
        text = item.text
        with_bot_before = conv is not None and conv.state is ConversationState.BOT
        answer = None
        if conv is None:
            conv = new_conversation(
                inbox, customer_id, now, self.timings(inbox.channel), inbound.proven, bot=bot
            )
            seq = conv.receive_customer_message(
                message_id=message_id,
                now=now,
                new_session_id=conv.session_id,
                timing=self.timings(inbox.channel),
                proven=inbound.proven,
            )
            await uow.conversations.add(conv)
            self.conversations[(inbox.id, customer_id)] = conv
        else:
            previous_session, previous_state = conv.session_id, conv.state
            holder = (
                conv.assigned_agent_id if previous_state is ConversationState.ASSIGNED else None
            )
            if not with_bot_before:
                # With the bot, every message is the bot's to read: "no thanks" to its
                # "anything else?" is the bot's closing, not the workflow's.
                kind = self.classifier.classify_in(item.text, conv.last_outbound).kind
            if self.notices:
                answer = await replies.before(uow, self.notices, conv, item.text)
            if answer is not None and answer.kind is not None:
                kind = answer.kind
                if replies.redirect(answer, conv, now):
                    # Humans of the notification's queue answer this, not the bot.
                    bot = None
            seq = conv.receive_customer_message(
                message_id=message_id,
                now=now,
                new_session_id=uuid.uuid4(),
                timing=self.timings(conv.channel),
                kind=kind,
                proven=inbound.proven,
                bot=bot,
            )
            if conv.session_id != previous_session:
                await uow.conversations.add_session(conv)
                # A new session: the owner is preferred, as for any new work under P.
                self.offers.append(OwnerOffer(conv, now, "preferred", "reopened"))
            elif previous_state is ConversationState.INACTIVE and conv.reactivated:
                # Back to the owner up to their maximum load, else ahead of new work.
                self.offers.append(OwnerOffer(conv, now, "max", "reactivated"))
            if previous_state.is_open and not conv.state.is_open:  # "no" to "anything else?"
                reason = str(CloseReason.CUSTOMER_DECLINED_MORE_HELP)
                await uow.conversations.close_session(conv.session_id, now, reason)
                if holder is not None:
                    self.freed.append(holder)
            self.touched[conv.id] = conv
        if conv.state is ConversationState.BOT and inbound.handoff is not None:
            # The business's own bot, in front of Threadline's, hands over: a human
            # takes it from here, with the context it sent.
            conv.hand_off(
                inbound.handoff,
                now,
                actor=f"inbox:{inbox.id}",
                timing=self.timings(conv.channel),
                reason="flow",
                detail="the business's own bot handed over",
            )
            await uow.bots.end(conv.id)
            self.touched[conv.id] = conv
        elif conv.state is ConversationState.BOT:
            secure = self.secure.get(conv.id) if with_bot_before else None
            if secure is not None:
                # A card number or the like: the thread keeps it masked, the bot gets
                # the clear text aside, and forgets it once its lookup has run.
                text = mask_secure(secure, item.text)
                await uow.bots.mark_pending(conv.id, now, secure=(seq, item.text))
            elif with_bot_before:
                await uow.bots.mark_pending(conv.id, now)
            else:
                await uow.bots.begin(conv.id, now, read_seq=seq - 1)
            self.for_bots.add(conv.id)
        elif inbound.handoff is not None and conv.state.is_open:
            conv.hand_off(inbound.handoff, now, actor=f"inbox:{inbox.id}")
            self.touched[conv.id] = conv  # a new conversation was inserted without it
        if answer is not None and (
            freed := await replies.after(uow, answer, conv, now, self.debt_talk)
        ):
            self.freed.append(freed)
        self.debt_talk.message(conv.id, now, "customer_message")
        uow.collect(conv)
        self.messages.append(
            from_customer(
                conv,
                message_id,
                seq,
                text,
                now,
                kind=kind,
                external_id=ext,
                attachments=inbound.attachments,
            )
        )
        if ext is not None:
            self.stored[(inbox.id, ext)] = StoredRef(message_id, conv.id)
        if conv.state is ConversationState.QUEUED:
            self.queued_skills.add(conv.skill)
        return IngestResult(
            message_id=message_id,
            conversation_id=conv.id,
            customer_id=conv.customer_id,
            state=conv.state,
            assigned_agent_id=conv.assigned_agent_id,
        )


async def register_customer(
    uow: UnitOfWork, channel: str, identity: Identity, name: str | None, now: datetime
) -> uuid.UUID:
    """A customer first met through `channel`, known by `identity`."""
    customer = Customer(
        id=uuid.uuid4(),
        display_name=name,
        timezone=None,
        preferred_channel=channel,
        created_at=now,
    )
    await uow.customers.add(customer)
    await uow.customers.add_identity(customer.id, identity, now)
    uow.record(
        Event(
            EventType.CUSTOMER_CREATED,
            now,
            ACTOR_CUSTOMER,
            # No queue audience: agents meet the customer through the conversation.
            payload={"customer_id": str(customer.id), "identity": str(identity)},
        )
    )
    return customer.id


def new_conversation(
    inbox: Inbox,
    customer_id: uuid.UUID,
    now: datetime,
    timing: ChannelTiming,
    proven: Verification | None = None,
    bot: str | None = None,
) -> Conversation:
    """A customer's one persistent conversation with an inbox, opened now (with its
    bot first, when the inbox has one)."""
    return Conversation.open(
        id=uuid.uuid4(),
        customer_id=customer_id,
        inbox_id=inbox.id,
        channel=inbox.channel,
        skill=inbox.skill,
        session_id=uuid.uuid4(),
        now=now,
        timing=timing,
        verification=proven,
        bot=bot,
    )


async def customer_and_conversation(
    uow: UnitOfWork, inbox: Inbox, identity: Identity, name: str | None, now: datetime
) -> tuple[uuid.UUID, Conversation | None]:
    """The customer known by `identity` (registered now if new) and their conversation
    with `inbox`, locked, if they have one."""
    owners = await uow.customers.owners_of(identity.channel, {identity.address})
    customer_id = owners.get(identity.address)
    if customer_id is None:
        customer_id = await register_customer(uow, inbox.channel, identity, name, now)
    found = await uow.conversations.for_customers(inbox.id, {customer_id}, for_update=True)
    return customer_id, found.get(customer_id)
