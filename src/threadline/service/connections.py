"""Connecting an inbox to its provider (admins): which provider, the account, the
business's address there, and the name under which the environment holds its secrets.

The secrets themselves never pass through the API or the database: an admin names
them, and the connection is refused until the server's environment has them, so a
connection that exists can always verify its webhooks.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from threadline.adapters.providers.base import Connection, Secrets
from threadline.adapters.providers.registry import provider
from threadline.core.access import Principal, require_role
from threadline.core.agents import Role
from threadline.core.consent import KeywordReplies
from threadline.core.errors import Conflict, InvalidInput, NotFound
from threadline.core.events import Event, EventType, actor_agent
from threadline.core.rich import placeholders, render_template
from threadline.service import inboxes
from threadline.service.unit_of_work import UnitOfWork

_SECRET_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]{1,512}$")
_OPTIONS = frozenset({"templates", "keyword_replies", "messaging_service_sid"})


async def get(uow: UnitOfWork, actor: Principal, inbox_id: uuid.UUID) -> Connection:
    require_role(actor, Role.ADMIN, Role.SUPERVISOR)
    await inboxes.existing(uow, inbox_id)
    conn = await uow.connections.for_inbox(inbox_id)
    if conn is None:
        raise NotFound("this inbox has no provider connection: PUT one", inbox_id=str(inbox_id))
    return conn


async def connect(
    uow: UnitOfWork,
    actor: Principal | None,
    inbox_id: uuid.UUID,
    wanted: Connection,
    secrets: Secrets,
    now: datetime,
) -> Connection:
    """Create or replace an inbox's connection. `actor` None: the command line."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    inbox = await inboxes.existing(uow, inbox_id)
    prov = provider(wanted.provider)
    if prov.channel != inbox.channel:
        raise InvalidInput(
            f"{prov.name} serves {prov.channel} inboxes; this inbox is {inbox.channel}",
            field="provider",
        )
    if not re.fullmatch(prov.account_pattern, wanted.account):
        raise InvalidInput(f"not a {prov.name} account id: {wanted.account!r}", field="account")
    if not re.fullmatch(prov.address_pattern, wanted.address):
        raise InvalidInput(
            f"not a {prov.name} business address: {wanted.address!r}", field="address"
        )
    if not _SECRET_NAME.match(wanted.secret_name):
        raise InvalidInput(
            "a secret name is a letter then up to 63 letters, digits or _", field="secret_name"
        )
    missing = secrets.missing(wanted.secret_name, prov.secret_parts)
    if missing:
        raise InvalidInput(
            f"set {', '.join(missing)} in the server's environment first",
            field="secret_name",
            code="secret_not_set",
            missing=missing,
        )
    options = clean_options(wanted.options, prov.options)
    taken = await uow.connections.by_address(prov.name, wanted.address)
    if taken is not None and taken.inbox_id != inbox_id:
        raise Conflict(
            f"{wanted.address} is already connected to another inbox",
            code="address_taken",
            inbox_id=str(taken.inbox_id),
        )
    conn = Connection(
        inbox_id, prov.name, wanted.account, wanted.address, wanted.secret_name, options
    )
    await uow.connections.put(conn, now)
    uow.record(
        Event(
            EventType.CONNECTION_UPDATED,
            now,
            actor_agent(actor.agent_id) if actor else "cli",
            payload={"inbox_id": str(inbox_id), "provider": prov.name, "address": conn.address},
        )
    )
    return conn


async def disconnect(uow: UnitOfWork, actor: Principal, inbox_id: uuid.UUID, now: datetime) -> None:
    require_role(actor, Role.ADMIN)
    await inboxes.existing(uow, inbox_id)
    if not await uow.connections.remove(inbox_id):
        raise NotFound("this inbox has no provider connection", inbox_id=str(inbox_id))
    uow.record(
        Event(
            EventType.CONNECTION_UPDATED,
            now,
            actor_agent(actor.agent_id),
            payload={"inbox_id": str(inbox_id), "provider": None},
        )
    )


def clean_options(options: Mapping[str, Any], used: frozenset[str]) -> dict[str, Any]:
    """The options an admin gave, checked; only those the provider uses."""
    unknown = set(options) - (_OPTIONS & used)
    if unknown:
        raise InvalidInput(
            f"options {sorted(unknown)} mean nothing here; this provider takes "
            f"{sorted(_OPTIONS & used) or 'none'}",
            field="options",
        )
    out: dict[str, Any] = {}
    if "templates" in options:
        out["templates"] = _templates(options["templates"])
    if "keyword_replies" in options:
        replies = options["keyword_replies"]
        fields = set(KeywordReplies.__dataclass_fields__)
        if (
            not isinstance(replies, dict)
            or not set(replies) <= fields
            or not all(isinstance(v, str) and 1 <= len(v.strip()) <= 480 for v in replies.values())
        ):
            raise InvalidInput(
                f"keyword_replies maps {sorted(fields)} to texts of 1-480 characters",
                field="options.keyword_replies",
            )
        out["keyword_replies"] = {k: v.strip() for k, v in replies.items()}
    for name in ("messaging_service_sid",):
        if name in options:
            value = options[name]
            if not isinstance(value, str) or not re.fullmatch(r"MG[0-9a-f]{32}", value):
                raise InvalidInput(
                    f"{name} is a Twilio Messaging Service SID (MG and 32 hex digits)",
                    field=f"options.{name}",
                )
            out[name] = value
    return out


def _templates(found: Any) -> list[dict[str, str]]:
    if not isinstance(found, list) or len(found) > 200:
        raise InvalidInput("templates is a list of at most 200", field="options.templates")
    out = []
    seen = set()
    for i, t in enumerate(found):
        where = f"options.templates[{i}]"
        if not isinstance(t, dict) or set(t) != {"name", "language", "text"}:
            raise InvalidInput("a template is {name, language, text}", field=where)
        if not all(isinstance(v, str) for v in t.values()):
            raise InvalidInput("a template's fields are strings", field=where)
        if not _TEMPLATE_NAME.match(t["name"]):
            raise InvalidInput(
                "a template name is lower-case letters, digits and _", field=f"{where}.name"
            )
        if not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", t["language"]):
            raise InvalidInput("a language is like en or en_US", field=f"{where}.language")
        if not 1 <= len(t["text"]) <= 1024:
            raise InvalidInput("a template's text is 1-1024 characters", field=f"{where}.text")
        count = len(placeholders(t["text"]))
        render_template(t["text"], tuple("x" for _ in range(count)))  # numbered 1..n
        if (t["name"], t["language"]) in seen:
            raise InvalidInput("a template name and language appear twice", field=where)
        seen.add((t["name"], t["language"]))
        out.append({"name": t["name"], "language": t["language"], "text": t["text"]})
    return out
