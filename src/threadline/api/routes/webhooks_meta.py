"""Meta's webhooks: WhatsApp Cloud API and Messenger, one URL each.

GET is Meta's check of the URL (the verify token the admin typed into the app's
webhook settings); POST carries events, signed with X-Hub-Signature-256 by the Meta
app's secret. A body may batch events for several numbers or pages: each one it names
must be connected here, and the body must verify with the app secret of every one,
before anything in it is looked at further. The body is then parsed whole, and only a
well-formed body is acted on, so a refused body has stored nothing. Repeats (Meta
retries until it gets a 200) store nothing twice: messages are kept once per id and
statuses only move forward.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from threadline.adapters.providers import messenger, meta, whatsapp
from threadline.adapters.providers.base import (
    BadSignature,
    Connection,
    CustomerMessage,
    MalformedPayload,
    StatusReport,
)
from threadline.api import webhooks
from threadline.api.context import AppContext
from threadline.api.security import Ctx
from threadline.core.inboxes import Inbox
from threadline.service.unit_of_work import UnitOfWork
from threadline.service.watermarks import apply_receipt

router = APIRouter(tags=["webhooks"], prefix="/webhooks/meta", include_in_schema=True)

_HEADER = meta.SIGNATURE_HEADER

Mode = Annotated[str | None, Query(alias="hub.mode", max_length=64)]
VerifyToken = Annotated[str | None, Query(alias="hub.verify_token", max_length=512)]
Challenge = Annotated[str | None, Query(alias="hub.challenge", max_length=256)]


@dataclass(frozen=True)
class _Product:
    provider: str
    object_name: str
    # The business addresses a body names, each with the accounts it names it under
    # (empty where the body names no account).
    named: Callable[[Sequence[dict[str, Any]]], dict[str, set[str]]]
    parse: Callable[
        [Sequence[dict[str, Any]]], Sequence[CustomerMessage | StatusReport | messenger.Receipt]
    ]


_WHATSAPP = _Product(whatsapp.WhatsAppCloud.name, whatsapp.OBJECT, whatsapp.named, whatsapp.parse)
_MESSENGER = _Product(
    messenger.MessengerPage.name,
    messenger.OBJECT,
    lambda entries: {page: set() for page in messenger.named(entries)},
    messenger.parse,
)


@router.get("/whatsapp", response_class=PlainTextResponse)
async def whatsapp_verification(
    ctx: Ctx, mode: Mode = None, token: VerifyToken = None, challenge: Challenge = None
) -> Response:
    """Meta's check of the webhook URL: 200 with `hub.challenge` when `hub.verify_token`
    is the verify token of a WhatsApp connection here, else 403."""
    return await _verification(ctx, _WHATSAPP, mode, token, challenge)


@router.post("/whatsapp")
async def whatsapp_events(request: Request, ctx: Ctx) -> Response:
    """Customers' messages and the statuses of ours, for connected phone numbers."""
    return await _events(request, ctx, _WHATSAPP)


@router.get("/messenger", response_class=PlainTextResponse)
async def messenger_verification(
    ctx: Ctx, mode: Mode = None, token: VerifyToken = None, challenge: Challenge = None
) -> Response:
    """Meta's check of the webhook URL: 200 with `hub.challenge` when `hub.verify_token`
    is the verify token of a Messenger connection here, else 403."""
    return await _verification(ctx, _MESSENGER, mode, token, challenge)


@router.post("/messenger")
async def messenger_events(request: Request, ctx: Ctx) -> Response:
    """Customers' messages and postbacks, and receipts of ours, for connected pages."""
    return await _events(request, ctx, _MESSENGER)


async def _verification(
    ctx: AppContext, product: _Product, mode: str | None, token: str | None, challenge: str | None
) -> Response:
    names = await ctx.tx.read(lambda uow: _secret_names(uow, product.provider))
    known = [t for name in names if (t := ctx.secrets.get(name, "verify_token"))]
    if not meta.handshake_accepted(mode, token, known):
        raise BadSignature(
            f"hub.mode is not subscribe, or hub.verify_token is not the verify token of "
            f"any {product.provider} connection here",
            code="verification_failed",
        )
    if challenge is None or not _printable(challenge):
        raise MalformedPayload("hub.challenge is missing or not printable", field="hub.challenge")
    return PlainTextResponse(challenge, headers={"X-Content-Type-Options": "nosniff"})


def _printable(value: str) -> bool:
    """Meta sends a number; anything printable of a sane length is echoed, as text."""
    return 0 < len(value) <= 256 and all("\x21" <= ch <= "\x7e" for ch in value)


async def _events(request: Request, ctx: AppContext, product: _Product) -> Response:
    signature = webhooks.require_signature(request.headers.get(_HEADER), _HEADER)
    raw = await request.body()
    entries = meta.envelope(raw, product.object_name)
    named = product.named(entries)
    found: dict[str, tuple[Connection, Inbox]] = {}
    for address in sorted(named):
        found[address] = await webhooks.connection(ctx, product.provider, address)
    await _authenticate(ctx, product, raw, signature, [conn for conn, _ in found.values()])
    for address, accounts in named.items():
        if accounts - {found[address][0].account}:
            raise BadSignature(
                f"{address} is named under an account it is not connected with",
                code="unknown_account",
            )
    events = product.parse(entries)
    received = duplicates = receipts = 0
    reports: dict[str, list[StatusReport]] = {}
    for event in events:
        if isinstance(event, CustomerMessage):
            conn, inbox = found[event.business]
            outcome = await webhooks.deliver(ctx, conn, inbox, event)
            duplicates += outcome.duplicate
            received += not outcome.duplicate
        elif isinstance(event, StatusReport):
            reports.setdefault(event.business, []).append(event)
        elif isinstance(event, messenger.Receipt):
            await _receipt(ctx, found[event.business][0], event)
            receipts += 1
    for business, some in reports.items():
        await webhooks.report(ctx, found[business][0], some)
    statuses = receipts + sum(len(r) for r in reports.values())
    return JSONResponse({"received": received, "duplicates": duplicates, "statuses": statuses})


async def _receipt(ctx: AppContext, conn: Connection, receipt: messenger.Receipt) -> None:
    await ctx.tx.write(
        lambda uow: apply_receipt(
            uow,
            conn,
            receipt.sender,
            receipt.status,
            receipt.external_ids,
            receipt.up_to,
            ctx.now(),
        )
    )


async def _authenticate(
    ctx: AppContext,
    product: _Product,
    raw: bytes,
    signature: str,
    connections: list[Connection],
) -> None:
    """The body must verify with the app secret of every connection it names. A body
    naming none (say, only a template's review) has nothing for us, but is still
    answered 200 only if one of our apps signed it."""
    if connections:
        secrets = {webhooks.secret(ctx, conn, "app_secret") for conn in connections}
        if all(meta.signed_with(raw, signature, s) for s in secrets):
            return
    else:
        names = await ctx.tx.read(lambda uow: _secret_names(uow, product.provider))
        secrets = {s for name in names if (s := ctx.secrets.get(name, "app_secret"))}
        if any(meta.signed_with(raw, signature, s) for s in secrets):
            return
    raise BadSignature(f"the {_HEADER} does not match this body")


async def _secret_names(uow: UnitOfWork, provider: str) -> list[str]:
    """The secret names of every connection of a provider: the handshake, and a body
    naming no number or page, name no connection to take the secret of."""
    return await uow.connections.secret_names(provider)
