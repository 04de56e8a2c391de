"""In-app chat (channel "app"): a business's own app talks to Threadline for its
signed-in customer.

The app's back end signs the customer's identity (a JWT: `sub` their id, `exp`), and
the app presents it with every call, with the inbox's public app key. Nothing else
authenticates the customer: Threadline issues no session of its own, so signing the
customer out of the app ends the chat there too. Once the identity is verified, the
customer is a web chat visitor whose identity is signed (service.visitors): the same
thread, sending, receipts and live stream.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from secrets import token_urlsafe

from threadline.adapters.identity_tokens import (
    ALGORITHMS,
    MIN_SECRET_BYTES,
    SIGNATURE_MISMATCH,
    check_form,
    rsa_public_key,
    verified_claims,
)
from threadline.adapters.providers.base import Secrets
from threadline.core.access import Principal, require_role
from threadline.core.agents import Role
from threadline.core.errors import InvalidInput, NotFound, Unauthenticated, Unavailable
from threadline.core.events import Event, EventType, actor_agent
from threadline.core.widgets import (
    AppChannel,
    SignedIdentity,
    Visitor,
    identity_from_claims,
    is_app_key,
)
from threadline.service import inboxes
from threadline.service.unit_of_work import UnitOfWork
from threadline.service.visitors import settled_customer, signed_customer

CHANNEL = "app"
# THREADLINE_SECRET_<NAME>_IDENTITY_SECRET holds an HS256 inbox's secret.
SECRET_PART = "identity_secret"  # noqa: S105 (a name)
_SECRET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")


@dataclass(frozen=True)
class Signing:
    """How an admin says the business signs: HS256 with a secret the environment holds
    under `secret_name`, or RS256 with its public key."""

    algorithm: str
    secret_name: str | None = None
    public_key: str | None = None


# -- admins ---------------------------------------------------------------------------


async def get(uow: UnitOfWork, actor: Principal, inbox_id: uuid.UUID) -> AppChannel:
    require_role(actor, Role.ADMIN)
    await _app_inbox(uow, inbox_id)
    found = await uow.app_channels.for_inbox(inbox_id)
    if found is None:
        raise NotFound("this inbox's app is not set up yet: PUT it", inbox_id=str(inbox_id))
    return found


async def configure(
    uow: UnitOfWork,
    actor: Principal | None,
    inbox_id: uuid.UUID,
    wanted: Signing,
    secrets: Secrets,
    now: datetime,
) -> AppChannel:
    """Set how an app inbox's identities are signed. The key is made once and kept: it
    is built into the app, and apps in people's pockets update slowly."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    await _app_inbox(uow, inbox_id)
    signing = _checked(wanted, secrets)
    existing = await uow.app_channels.for_inbox(inbox_id)
    channel = AppChannel(
        inbox_id,
        existing.key if existing else f"ak_{token_urlsafe(18)}",
        signing.algorithm,
        signing.secret_name,
        signing.public_key,
        now,
    )
    await uow.app_channels.save(channel)
    uow.record(
        Event(
            EventType.CONNECTION_UPDATED,
            now,
            actor_agent(actor.agent_id) if actor else "cli",
            payload={
                "inbox_id": str(inbox_id),
                "provider": CHANNEL,
                "algorithm": channel.algorithm,
            },
        )
    )
    return channel


def _checked(wanted: Signing, secrets: Secrets) -> Signing:
    if wanted.algorithm not in ALGORITHMS:
        raise InvalidInput(f"algorithm is one of {', '.join(ALGORITHMS)}", field="algorithm")
    if wanted.algorithm == "RS256":
        if wanted.secret_name is not None or not wanted.public_key:
            raise InvalidInput("RS256 takes a public_key and no secret_name", field="public_key")
        return Signing("RS256", public_key=rsa_public_key(wanted.public_key))
    name = wanted.secret_name
    if wanted.public_key is not None or name is None or not _SECRET_NAME.match(name):
        raise InvalidInput(
            "HS256 takes a secret_name (a letter, then up to 63 letters, digits or _) "
            "and no public_key",
            field="secret_name",
        )
    variable = f"THREADLINE_SECRET_{name}_{SECRET_PART}".upper()
    value = secrets.get(name, SECRET_PART)
    if not value:
        raise InvalidInput(
            f"set {variable} in the server's environment first",
            field="secret_name",
            code="secret_not_set",
            missing=[variable],
        )
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise InvalidInput(
            f"{variable} is shorter than {MIN_SECRET_BYTES} bytes: use a random secret",
            field="secret_name",
            code="secret_too_short",
        )
    return Signing("HS256", secret_name=name)


async def _app_inbox(uow: UnitOfWork, inbox_id: uuid.UUID) -> None:
    inbox = await inboxes.existing(uow, inbox_id)
    if inbox.channel != CHANNEL:
        raise InvalidInput(
            f"in-app chat belongs to an app inbox; this one is {inbox.channel!r}",
            field="inbox_id",
        )


# -- customers ------------------------------------------------------------------------


async def verify(
    uow: UnitOfWork, secrets: Secrets, key: str, token: str, now: datetime
) -> tuple[uuid.UUID, SignedIdentity]:
    """The inbox `key` names and the identity `token` proves for it, or Unauthenticated:
    code `identity_expired` when a fresh identity would do, else `invalid_identity`."""
    check_form(token)
    channel = await uow.app_channels.by_key(key) if is_app_key(key) else None
    if channel is None:
        # Said as of a signature that does not verify: a caller cannot tell a key that
        # names no inbox from a token signed with the wrong key.
        raise Unauthenticated(SIGNATURE_MISMATCH, code="invalid_identity")
    claims = verified_claims(token, _verifying_key(channel, secrets), channel.algorithm)
    return channel.inbox_id, identity_from_claims(claims, now, expired_code="identity_expired")


async def known_visitor(
    uow: UnitOfWork, secrets: Secrets, key: str, token: str, now: datetime
) -> Visitor | None:
    """The verified customer, when they need nothing written (known, linked): the
    common case, served by a read. None: run `admitted_visitor` in a write."""
    inbox_id, signed = await verify(uow, secrets, key, token, now)
    customer_id = await settled_customer(uow, signed)
    return None if customer_id is None else Visitor.signed(inbox_id, customer_id, signed)


async def admitted_visitor(
    uow: UnitOfWork, secrets: Secrets, key: str, token: str, now: datetime
) -> Visitor:
    """The verified customer, made known (and linked to their verified phone's
    identities) on their first call."""
    inbox_id, signed = await verify(uow, secrets, key, token, now)
    customer_id = await signed_customer(uow, signed, CHANNEL, now)
    return Visitor.signed(inbox_id, customer_id, signed)


def _verifying_key(channel: AppChannel, secrets: Secrets) -> str:
    if channel.algorithm == "RS256" and channel.public_key:
        return channel.public_key
    secret = secrets.get(channel.secret_name or "", SECRET_PART)
    if not secret or len(secret.encode()) < MIN_SECRET_BYTES:
        # The environment lost the secret since the inbox was set up: an operator's fix.
        raise Unavailable(
            "this app's identity secret is not set on the server",
            code="channel_not_configured",
        )
    return secret
