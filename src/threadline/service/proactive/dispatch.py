"""The dispatcher: due notifications are decided on (core.proactive.decide) and sent,
deferred or suppressed, a round at a time, each round one transaction.

Sending is writing: the message into the customer's thread (on the sending inbox) and
its outbox row, in the transaction that marks the notification sent. The outbox then
delivers it exactly once, with retries; a process that dies mid-round leaves nothing
half-done, and the round is decided again after the restart. Facts are read for the
whole round at once (customers, addresses, consent, what was sent in the caps' periods),
and what this round sends counts at once toward the caps of the rows after it.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from threadline.adapters.repositories.notifications import Sent
from threadline.core.conversations import Conversation
from threadline.core.customers import Customer, Identity
from threadline.core.errors import InvalidInput
from threadline.core.inboxes import Inbox
from threadline.core.messages import Message, SenderType, to_customer
from threadline.core.outbox import OutboxItem
from threadline.core.proactive.caps import REG_F_AFTER_CONVERSATION, REG_F_PERIOD
from threadline.core.proactive.decide import ChannelFacts, Decision, Facts, Outcome, decide
from threadline.core.proactive.notification import Notification
from threadline.core.proactive.policy import NOTIFIABLE, Policy
from threadline.core.proactive.purposes import ConsentRecord
from threadline.core.proactive.quiet import zone
from threadline.core.proactive.templates import Rendered, choose_variant, render
from threadline.service.outbox import channel_of, templates_of
from threadline.service.proactive.setup import Template, policy_of, template_by_id
from threadline.service.unit_of_work import UnitOfWork

# A round's size: large enough that reading its facts is a few set-based queries, small
# enough that a round's transaction stays short (a second at most on SQLite).
ROUND = 500
# Channels whose inbox cannot send without a provider connection (the API channel's
# business collects its messages; an app's SDK fetches them).
_NEED_CONNECTION = frozenset({"sms", "whatsapp", "messenger", "rcs", "apple"})


@dataclass
class _Sender:
    inbox: Inbox | None
    unusable: str | None
    connected: bool = False
    approved: set[tuple[str, str]] = field(default_factory=set)


async def dispatch_due(uow: UnitOfWork, now: datetime, limit: int = ROUND) -> int:
    """Decides on up to `limit` due notifications; returns how many it took."""
    due = await uow.notifications.due(now, limit)
    if not due:
        return 0
    round_ = await _Round.load(uow, due, now)
    for n in due:
        await round_.decide_on(uow, n, now)
    await round_.finish(uow)
    return len(due)


class _Round:
    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.templates: dict[uuid.UUID, Template] = {}
        self.customers: dict[uuid.UUID, Customer] = {}
        self.identities: dict[uuid.UUID, list[Identity]] = {}
        self.consent: dict[uuid.UUID, list[ConsentRecord]] = defaultdict(list)
        self.sent: dict[uuid.UUID, list[Sent]] = defaultdict(list)
        self.debts: dict[tuple[uuid.UUID, str], list[datetime]] = {}
        self.senders: dict[str, _Sender] = {}
        self.conversations: dict[tuple[uuid.UUID, uuid.UUID], Conversation] = {}
        self.new_conversations: list[Conversation] = []
        self.touched: dict[uuid.UUID, Conversation] = {}
        self.messages: list[Message] = []
        self.outbox: list[OutboxItem] = []
        self.changed: list[Notification] = []

    @classmethod
    async def load(cls, uow: UnitOfWork, due: list[Notification], now: datetime) -> _Round:
        r = cls(await policy_of(uow))
        for template_id in {n.template_id for n in due}:
            r.templates[template_id] = await template_by_id(uow, template_id)
        ids = list({n.customer_id for n in due})
        r.customers = await uow.customers.many(ids)
        r.identities = await uow.customers.identities(ids)
        for record in await uow.outreach.consent_history(ids):
            r.consent[record.customer_id].append(record)
        longest = max(
            [REG_F_PERIOD, REG_F_AFTER_CONVERSATION, *(c.cap.period for c in r.policy.caps)]
        )
        for sent in await uow.notifications.sent_to(ids, now - longest):
            r.sent[sent.customer_id].append(sent)
        r.debts = await uow.outreach.debt_conversations(ids, now - REG_F_AFTER_CONVERSATION)
        r.senders = await _senders(uow, r.policy)
        for channel, sender in r.senders.items():
            if sender.inbox is None or channel not in {c for n in due for c in r.order(n)}:
                continue
            found = await uow.conversations.for_customers(sender.inbox.id, ids, for_update=True)
            r.conversations.update(((sender.inbox.id, c), conv) for c, conv in found.items())
        return r

    def order(self, n: Notification) -> list[str]:
        """The channels to try, in order: the one asked for, or the customer's
        preferred one, then the business's fallback order."""
        if n.channel is not None:
            return [n.channel]
        customer = self.customers.get(n.customer_id)
        preferred = customer.preferred_channel if customer else None
        first = [preferred] if preferred in NOTIFIABLE else []
        return list(dict.fromkeys([*first, *self.policy.fallback]))

    def facts(self, n: Notification, template: Template) -> Facts:
        t = template.template
        sent = [s for s in self._sent_before(n) if s.purpose is n.purpose]
        channels = []
        for channel in self.order(n):
            channels.append(
                ChannelFacts(
                    channel,
                    unusable=self._unusable(n, template, channel),
                    consent=tuple(self.consent[n.customer_id]),
                    sent=tuple(s.at for s in sent if s.channel == channel),
                )
            )
        customer = self.customers.get(n.customer_id)
        where = n.timezone or (customer.timezone if customer else None)
        debt = n.debt_reference
        return Facts(
            purpose=t.purpose,
            zone=zone(where or self.policy.default_timezone),
            region=n.region,
            channels=tuple(channels),
            expires_at=n.expires_at,
            sent_anywhere=tuple(s.at for s in sent),
            # Regulation F counts attempts: its own failed one included.
            debt_attempts=tuple(
                s.at for s in self.sent[n.customer_id] if debt and s.debt_reference == debt
            ),
            debt_conversations=tuple(self.debts.get((n.customer_id, debt), []) if debt else ()),
        )

    def _sent_before(self, n: Notification) -> list[Sent]:
        """What the customer was sent that counts toward the caps of `n`: not `n`'s own
        attempt on a channel that then failed (the customer never got it), or its
        fallback would be held back by the very message it replaces."""
        found = list(self.sent[n.customer_id])
        if n.failed_channels and n.sent_at is not None:
            for i, s in enumerate(found):
                if (s.channel, s.at, s.purpose) == (n.sent_channel, n.sent_at, n.purpose):
                    del found[i]
                    break
        return found

    def _unusable(self, n: Notification, template: Template, channel: str) -> str | None:
        if channel in n.failed_channels:
            return "channel_failed"
        # The customer's side first: that they have no address on a channel says more
        # about them than how the business's inboxes are set up there.
        addresses = [i for i in self.identities.get(n.customer_id, []) if i.channel == channel]
        if not addresses:
            return "no_address"
        if len(addresses) > 1:
            return "several_addresses"
        sender = self.senders.get(channel)
        if sender is None or sender.unusable is not None:
            return sender.unusable if sender else "no_sender"
        variant = choose_variant(template.template, n.language, channel)
        if variant is None:
            return "no_variant"
        # WhatsApp refuses a template it has not approved: a connection that lists its
        # approved templates lets that be known before sending.
        approved = (variant.provider_template or "", variant.language) in sender.approved
        if channel == "whatsapp" and sender.approved and not approved:
            return "template_not_approved"
        return None

    async def decide_on(self, uow: UnitOfWork, n: Notification, now: datetime) -> None:
        template = self.templates[n.template_id]
        decision = decide(self.facts(n, template), self.policy, now)
        over = [{"channel": c, "rule": rule} for c, rule in decision.passed_over]
        if decision.outcome is Outcome.DEFER:
            assert decision.until is not None
            assert decision.rule is not None
            n.defer(decision.until, decision.rule, now, passed_over=over)
        elif decision.outcome is Outcome.SUPPRESS:
            rule = decision.rule or "no_channel"
            failed = any(why == "channel_failed" for _, why in decision.passed_over)
            if failed and rule != "expired":
                # It was tried, and no channel is left: a delivery failure, not a rule.
                # (A channel that failed because the customer opted out meanwhile is
                # passed over for the opt-out, and the notification is suppressed.)
                n.give_up("all_channels_failed", now, passed_over=over)
            else:
                n.suppress(rule, now, until=decision.until, passed_over=over)
        else:
            await self._send(uow, n, template, decision, now, over)
        self.changed.append(n)

    async def _send(
        self,
        uow: UnitOfWork,
        n: Notification,
        template: Template,
        decision: Decision,
        now: datetime,
        over: list[dict[str, str]],
    ) -> None:
        channel = decision.channel
        assert channel is not None
        sender = self.senders[channel]
        assert sender.inbox is not None
        variant = choose_variant(template.template, n.language, channel)
        assert variant is not None
        try:
            rendered = render(template.template, variant, n.variables, channel=channel)
        except InvalidInput as bad:
            # The values make it too long for the template's SMS limit: sending it cut
            # short, or as a wall of segments, is not what the business approved.
            n.suppress(bad.code, now, passed_over=over, error=bad.message)
            return
        conv = await self._conversation(uow, sender.inbox, n.customer_id, now)
        message_id = uuid.uuid4()
        seq = conv.record_notification(message_id, now)
        uow.collect(conv)
        self.messages.append(
            to_customer(conv, message_id, seq, rendered.text, now, sender_type=SenderType.SYSTEM)
        )
        if sender.connected:
            self.outbox.append(self._outbox_item(n, message_id, conv, rendered, now))
        t = template.template
        n.send(
            channel,
            inbox_id=sender.inbox.id,
            conversation_id=conv.id,
            message_id=message_id,
            reply_until=now + self.policy.reply_window,
            now=now,
            passed_over=over,
            language=rendered.language,
            segments=rendered.segments,
        )
        self.sent[n.customer_id].append(
            Sent(n.customer_id, t.purpose, channel, now, n.debt_reference)
        )

    def _outbox_item(
        self,
        n: Notification,
        message_id: uuid.UUID,
        conv: Conversation,
        rendered: Rendered,
        now: datetime,
    ) -> OutboxItem:
        payload: dict[str, Any] = {"notification": str(n.id)}
        if rendered.provider_template is not None:
            payload["template"] = {
                "name": rendered.provider_template,
                "language": rendered.language,
                "parameters": list(rendered.parameters),
            }
        if rendered.tag is not None:
            payload["tag"] = rendered.tag
        if n.purpose in self.policy.basis.survives_channel_opt_out:
            # Sent under the business's basis despite a channel-wide STOP (the decision
            # said so): the outbox's own opt-out check must let it through.
            payload["survives_opt_out"] = True
        return OutboxItem.pending(uuid.uuid4(), message_id, conv.inbox_id, now, payload)

    async def _conversation(
        self, uow: UnitOfWork, inbox: Inbox, customer_id: uuid.UUID, now: datetime
    ) -> Conversation:
        key = (inbox.id, customer_id)
        conv = self.conversations.get(key)
        if conv is None:
            conv = Conversation.for_notification(
                id=uuid.uuid4(),
                customer_id=customer_id,
                inbox_id=inbox.id,
                channel=inbox.channel,
                skill=inbox.skill,
                session_id=uuid.uuid4(),
                now=now,
                timing=(await uow.timings())(inbox.channel),
            )
            self.conversations[key] = conv
            self.new_conversations.append(conv)
        else:
            self.touched[conv.id] = conv
        return conv

    async def finish(self, uow: UnitOfWork) -> None:
        # New threads are inserted as they are now, with their notifications counted.
        for conv in self.new_conversations:
            await uow.conversations.add(conv, session=False)
        await uow.conversations.save_all(list(self.touched.values()))
        await uow.messages.add_all(self.messages)
        for item in self.outbox:
            await uow.outbox.add(item)
        await uow.notifications.save_all(self.changed)
        await uow.notifications.record(r for n in self.changed for r in n.records)
        for n in self.changed:
            n.records.clear()


async def _senders(uow: UnitOfWork, policy: Policy) -> dict[str, _Sender]:
    """The inbox that sends on each channel, or why none can."""
    by_channel: dict[str, list[Inbox]] = defaultdict(list)
    for inbox in await uow.access.list_inboxes():
        by_channel[inbox.channel].append(inbox)
    found: dict[str, _Sender] = {}
    for channel in NOTIFIABLE:
        named = policy.senders.get(channel)
        candidates = by_channel.get(channel, [])
        if named is not None:
            candidates = [i for i in candidates if i.name == named]
        if not candidates:
            found[channel] = _Sender(None, "no_sender")
            continue
        if len(candidates) > 1:
            found[channel] = _Sender(None, "several_senders")
            continue
        [inbox] = candidates
        connection = await channel_of(uow, inbox.id)
        if connection is None and channel in _NEED_CONNECTION:
            found[channel] = _Sender(None, "sender_not_connected")
            continue
        approved = {
            (t.get("name", ""), t.get("language", ""))
            for t in templates_of(connection[0] if connection else None)
        }
        found[channel] = _Sender(inbox, None, connected=connection is not None, approved=approved)
    return found
