"""The steps every provider webhook route shares: read the raw body (signatures are
over the exact bytes), find the connection, take its secret, and hand what the
provider said to the service layer.

Order matters for what an unsigned caller can learn: a request without a signature is
refused before anything is looked up. One with a made-up signature is looked up (the
connection's secret is what it must match), so it learns whether the number it names
is connected (404) or not (403): numbers are public, the secrets are what matter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from fastapi import Request

from threadline.adapters.providers.base import (
    BadSignature,
    Connection,
    ConsentReport,
    CustomerMessage,
    StatusReport,
)
from threadline.adapters.providers.registry import provider
from threadline.api.context import AppContext
from threadline.core.consent import KeywordReplies, keyword_of
from threadline.core.errors import DuplicateExternalId, Unavailable
from threadline.core.inboxes import Inbox
from threadline.service import webhooks
from threadline.service.compliance import handle_keyword, record_consent
from threadline.service.inbound import InboundMessage

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivered:
    """What became of a customer message: stored, or a provider's retry of one."""

    duplicate: bool


def require_signature(value: str | None, header: str) -> str:
    if not value:
        raise BadSignature(f"the {header} header is missing", header=header)
    return value


async def connection(ctx: AppContext, provider: str, business: str) -> tuple[Connection, Inbox]:
    return await ctx.tx.read(lambda uow: webhooks.connection(uow, provider, business))


def secret(ctx: AppContext, conn: Connection, part: str) -> str:
    value = ctx.secrets.get(conn.secret_name, part)
    if not value:
        # The operator's mistake, not the provider's: 503 makes the provider retry
        # the webhook later, by when the setting may be there.
        log.error("THREADLINE_SECRET_%s_%s is not set", conn.secret_name.upper(), part.upper())
        raise Unavailable(
            "this inbox's provider secret is not configured on the server",
            code="channel_not_configured",
        )
    return value


def public_url(ctx: AppContext, request: Request) -> str:
    """The URL the provider called, as it signed it: behind a proxy this process sees
    another, so THREADLINE_PUBLIC_URL names the public origin."""
    base = ctx.settings.public_url
    if not base:
        return str(request.url)
    query = request.url.query
    return base.rstrip("/") + request.url.path + (f"?{query}" if query else "")


async def deliver(
    ctx: AppContext, conn: Connection, inbox: Inbox, message: CustomerMessage
) -> Delivered:
    """A customer message into its conversation, once per provider message id; on
    carrier messaging (SMS, RCS) a compliance keyword changes the customer's consent
    instead (service.compliance)."""
    inbound = InboundMessage(
        address=message.sender,
        text=message.text,
        external_id=message.external_id,
        display_name=message.name,
        attachments=message.attachments,
    )
    keyword = keyword_of(message.text) if provider(conn.provider).keywords else None
    if keyword is not None:
        replies = KeywordReplies(**conn.options.get("keyword_replies", {}))
        outcome = await ctx.tx.write(
            lambda uow: handle_keyword(uow, inbox, inbound, keyword, ctx.now(), replies)
        )
        ctx.outbox.nudge()
        return Delivered(outcome.duplicate)
    try:
        await ctx.ingest.ingest(inbox, inbound, ctx.now())
    except DuplicateExternalId:
        return Delivered(duplicate=True)
    return Delivered(duplicate=False)


async def report(ctx: AppContext, conn: Connection, reports: list[StatusReport]) -> None:
    if reports:
        await ctx.tx.write(lambda uow: webhooks.apply_reports(uow, conn, reports, ctx.now()))


async def consent(ctx: AppContext, inbox: Inbox, found: ConsentReport) -> None:
    source = "UNSUBSCRIBE" if found.opted_out else "SUBSCRIBE"
    await ctx.tx.write(
        lambda uow: record_consent(uow, inbox, found.sender, found.opted_out, source, ctx.now())
    )
