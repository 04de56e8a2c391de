"""What every provider adapter takes and gives: the normalized shapes and the protocol."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar, Protocol

import httpx

from threadline.core.errors import DomainError, Forbidden
from threadline.core.messages import Attachment, DeliveryStatus
from threadline.core.outbox import Rejected, Retry, SendOutcome, Unknown
from threadline.core.rich import Template
from threadline.core.windows import WindowRule


class MalformedPayload(DomainError):
    """A webhook body that is not what the provider sends: 400, nothing stored."""

    code = "malformed_payload"


class BadSignature(Forbidden):
    """Missing or wrong signature: 403, nothing stored or even looked at further."""

    code = "bad_signature"


@dataclass(frozen=True)
class Connection:
    """An inbox's account at its provider (the channel_connections row)."""

    inbox_id: uuid.UUID
    provider: str
    # The provider's account (Twilio AccountSid, Meta app, RBM partner, Apple CSP id).
    account: str
    # The business's address there, which webhooks name: a phone number, a WhatsApp
    # phone number id, a page id, an RBM agent id, an Apple business id.
    address: str
    # The environment holds THREADLINE_SECRET_<SECRET_NAME>_<PART> for each part.
    secret_name: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CustomerMessage:
    business: str  # the connection's address the provider delivered it to
    sender: str  # the customer's address on the channel
    text: str
    external_id: str
    name: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True)
class StatusReport:
    business: str
    # The provider's id of one of our messages, or None where only `reference` is known.
    external_id: str | None
    status: DeliveryStatus | None  # None: a status Threadline does not track (queued…)
    error: str | None = None
    # Our own message id, where the provider echoes it back to us.
    reference: uuid.UUID | None = None


@dataclass(frozen=True)
class ConsentReport:
    """The platform says the customer opted out of (or back in to) the business's
    messages, apart from any message of theirs (RBM's UNSUBSCRIBE and SUBSCRIBE)."""

    business: str
    sender: str
    opted_out: bool
    external_id: str


Inbound = CustomerMessage | StatusReport


@dataclass(frozen=True)
class OutboundRequest:
    message_id: uuid.UUID
    to: str
    text: str
    idempotency_key: str
    suggestions: tuple[str, ...] = ()
    template: Template | None = None
    tag: str | None = None
    # Where the provider should report this message's delivery (Twilio takes it per
    # message), carrying our message id so a report can never miss its message.
    status_callback: str | None = None


@dataclass(frozen=True)
class ProviderUrls:
    """Provider API base URLs (settings), so tests and the demo use the fake provider."""

    twilio: str
    meta: str
    meta_version: str
    rbm: str
    rbm_token: str
    apple: str


class Secrets:
    """The provider secrets the environment holds, by connection secret name and part."""

    def __init__(self, values: Mapping[str, str]) -> None:
        self._values = {k.upper(): v for k, v in values.items()}

    def get(self, name: str, part: str) -> str | None:
        return self._values.get(f"{name}_{part}".upper())

    def missing(self, name: str, parts: tuple[str, ...]) -> list[str]:
        return [f"THREADLINE_SECRET_{name}_{p}".upper() for p in parts if not self.get(name, p)]

    def require(self, name: str, part: str) -> str:
        value = self.get(name, part)
        if not value:
            raise LookupError(f"THREADLINE_SECRET_{name}_{part}".upper())
        return value


class Provider(Protocol):
    name: ClassVar[str]
    channel: ClassVar[str]
    # The secret parts a connection needs in the environment.
    secret_parts: ClassVar[tuple[str, ...]]
    # Repeats of an idempotency key are dropped by the provider, so a send whose outcome
    # is unknown may be repeated.
    idempotent: ClassVar[bool]
    # Suggested replies are shown as the platform's own; else written into the text.
    rich_replies: ClassVar[bool]
    window: ClassVar[WindowRule | None]
    # What the provider's account ids and the business's addresses look like.
    account_pattern: ClassVar[str]
    address_pattern: ClassVar[str]
    # Where its status callbacks come, for a provider that takes a callback URL with
    # each message (Twilio); None where callbacks go to the app-wide webhook.
    status_path: ClassVar[str | None]
    # Carrier messaging (SMS, RCS): STOP, START and HELP are compliance keywords.
    keywords: ClassVar[bool]
    # The connection options it uses (service.connections checks each).
    options: ClassVar[frozenset[str]]

    async def send(
        self,
        http: httpx.AsyncClient,
        urls: ProviderUrls,
        conn: Connection,
        secrets: Secrets,
        request: OutboundRequest,
        now: datetime,
    ) -> SendOutcome: ...


async def post(http: httpx.AsyncClient, url: str, **kwargs: Any) -> httpx.Response | SendOutcome:
    """One POST, with transport failures sorted by whether the request can have been
    taken: a refused connection cannot have been, a timeout after sending may have."""
    try:
        return await http.post(url, **kwargs)
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        return Retry(f"provider unreachable: {type(exc).__name__}")
    except httpx.TimeoutException as exc:
        return Unknown(f"no answer from the provider in time ({type(exc).__name__})")
    except httpx.TransportError as exc:
        return Unknown(f"connection to the provider failed mid-request ({type(exc).__name__})")


def refused(response: httpx.Response, error: str) -> SendOutcome:
    """A provider's error answer. 429 and 503 say the request was not taken: retry.
    Other 5xx (500, 502, 504) may come after the provider took it, or from a gateway in
    front of it: unknown, repeated only where the provider drops repeats. 4xx: final."""
    if response.status_code in (429, 503):
        return Retry(error, after=retry_after(response))
    if response.status_code >= 500:
        return Unknown(error)
    return Rejected(error)


def retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
        date = parsedate_to_datetime(response.headers.get("date", value))
    except (TypeError, ValueError):
        return None
    return max(timedelta(0), when - date)


def json_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def text_for(body: str, attachments: tuple[Attachment, ...]) -> str:
    """A message's text for the thread: its own, else a line per attachment, so a
    photo sent without words still reads as something in the desk and the classifier."""
    if body.strip():
        return body
    return "\n".join(f"[{a.content_type}]" for a in attachments)
