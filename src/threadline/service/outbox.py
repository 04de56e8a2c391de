"""Outbound messages to providers: the rules they must pass, their outbox rows, and the
delivery reports that come back.

Platform rules are enforced here, before a message is stored, for agents, bots and the
API alike: a customer who opted out gets nothing more on that channel, and a channel's
messaging window decides what may be sent (core.windows).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from threadline.adapters.providers.base import Connection, Provider, StatusReport
from threadline.adapters.providers.registry import provider
from threadline.core.consent import ConsentState
from threadline.core.conversations import Conversation
from threadline.core.errors import Conflict, InvalidInput
from threadline.core.messages import DeliveryStatus, Message, advance_status
from threadline.core.outbox import UNCONFIRMED, OutboxItem
from threadline.core.rich import Template, clean_suggestions, render_template, with_numbered_options
from threadline.core.windows import check_window
from threadline.service.outbound import change_status
from threadline.service.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TemplateChoice:
    name: str
    language: str | None = None
    parameters: tuple[str, ...] = ()


@dataclass(frozen=True)
class Extras:
    """What an outbound message may carry besides its text."""

    template: TemplateChoice | None = None
    tag: str | None = None
    suggestions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Prepared:
    """A message that passed the channel's rules: the text the thread stores (what the
    customer will see) and what its outbox row must carry."""

    body: str
    connection: Connection | None
    payload: dict[str, Any] = field(default_factory=dict)


async def channel_of(uow: UnitOfWork, inbox_id: uuid.UUID) -> tuple[Connection, Provider] | None:
    conn = await uow.connections.for_inbox(inbox_id)
    return (conn, provider(conn.provider)) if conn else None


async def check_consent(uow: UnitOfWork, conv: Conversation) -> None:
    consent = await uow.consents.get(conv.customer_id, conv.channel)
    if consent is not None and consent.state is ConsentState.OPTED_OUT:
        raise Conflict(
            f"the customer has opted out of messages on {conv.channel} ({consent.source}); "
            "nothing can be sent there until they opt back in (START)",
            code="customer_opted_out",
            channel=conv.channel,
        )


def templates_of(conn: Connection | None) -> list[dict[str, str]]:
    """The approved templates an admin listed on the connection (names as approved at
    the provider), each {"name", "language", "text"} with {{1}}-style placeholders."""
    found = conn.options.get("templates", []) if conn else []
    return [t for t in found if isinstance(t, dict)]


def _template(conn: Connection | None, choice: TemplateChoice) -> Template:
    for t in templates_of(conn):
        if t["name"] == choice.name and choice.language in (None, t["language"]):
            text = render_template(t["text"], choice.parameters)
            return Template(t["name"], t["language"], choice.parameters, text)
    raise InvalidInput(
        f"no approved template {choice.name!r} on this inbox",
        field="template",
        code="unknown_template",
    )


async def prepare(
    uow: UnitOfWork, conv: Conversation, text: str, extras: Extras, now: datetime
) -> Prepared:
    """Checks an outbound message against the customer's consent and the channel's
    rules, and gives the text to store. Raises what the channel would refuse."""
    await check_consent(uow, conv)
    found = await channel_of(uow, conv.inbox_id)
    conn, prov = found if found else (None, None)
    check_window(
        prov.window if prov else None,
        conv.last_customer_message_at,
        now,
        template=extras.template is not None,
        tag=extras.tag,
    )
    suggestions = clean_suggestions(list(extras.suggestions))
    payload: dict[str, Any] = {}
    body = text
    if extras.template is not None:
        template = _template(conn, extras.template)
        body = template.text
        payload["template"] = {
            "name": template.name,
            "language": template.language,
            "parameters": list(template.parameters),
        }
    if extras.tag is not None:
        payload["tag"] = extras.tag
    if suggestions:
        if prov is not None and prov.rich_replies:
            payload["suggestions"] = list(suggestions)
        else:
            body = with_numbered_options(body, suggestions)
    return Prepared(body, conn, payload)


async def queue(uow: UnitOfWork, prepared: Prepared, message: Message, now: datetime) -> None:
    """An outbox row for a message to a provider, in the message's own transaction.
    Inboxes without a provider (the API channel, web chat) deliver their own way."""
    if prepared.connection is None:
        return
    await uow.outbox.add(
        OutboxItem.pending(uuid.uuid4(), message.id, message.inbox_id, now, prepared.payload)
    )


async def apply_report(
    uow: UnitOfWork, conn: Connection, report: StatusReport, now: datetime, actor: str
) -> Message | None:
    """A provider's delivery report. Reports come late, twice and out of order: a
    status only moves forward, and one for a message we do not know is ignored (a
    provider's test call, or a message sent from its console)."""
    if report.status is None:
        return None
    msg = None
    if report.reference is not None:
        msg = await uow.messages.get(report.reference, for_update=True)
    if msg is None and report.external_id:
        msg = await uow.messages.by_external_id(conn.inbox_id, report.external_id, for_update=True)
    if msg is None or msg.inbox_id != conn.inbox_id:
        log.info("status report for an unknown message %s; ignored", report.external_id)
        return None
    if msg.delivery_status is DeliveryStatus.RECEIVED:
        return None
    status = advance_status(msg.delivery_status, report.status)
    unconfirmed = _unconfirmed(msg)
    if unconfirmed:
        # We gave up on knowing; the provider now says what became of it, and its
        # word is final either way.
        status = report.status
    if status is msg.delivery_status and not unconfirmed:
        return msg
    error = (
        (report.error or "the provider reported it failed")
        if status is DeliveryStatus.FAILED
        else None
    )
    if msg.external_id is None and report.external_id:
        await uow.messages.set_external_id(msg.id, report.external_id)
    return await change_status(uow, msg, status, now, actor, error)


def _unconfirmed(msg: Message) -> bool:
    return (
        msg.delivery_status is DeliveryStatus.FAILED
        and msg.delivery_error is not None
        and msg.delivery_error.startswith(UNCONFIRMED)
    )
