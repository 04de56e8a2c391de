"""Configuring an inbox's web chat widget (admins)."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, replace
from datetime import datetime

from threadline.core.access import Principal, require_role
from threadline.core.agents import Role
from threadline.core.errors import InvalidInput, NotFound
from threadline.core.events import Event, EventType, actor_agent
from threadline.core.inboxes import Inbox
from threadline.core.widgets import Widget, WidgetLook, validate_look, validate_origins
from threadline.service import inboxes
from threadline.service.unit_of_work import UnitOfWork

# Channels whose customers chat through the widget.
WIDGET_CHANNELS = frozenset({"web"})


async def _web_inbox(uow: UnitOfWork, inbox_id: uuid.UUID) -> Inbox:
    inbox = await inboxes.existing(uow, inbox_id)
    if inbox.channel not in WIDGET_CHANNELS:
        raise InvalidInput(
            f"a widget belongs to a web inbox; this one is {inbox.channel!r}", field="inbox_id"
        )
    return inbox


async def get(uow: UnitOfWork, actor: Principal, inbox_id: uuid.UUID) -> Widget:
    require_role(actor, Role.ADMIN)
    await _web_inbox(uow, inbox_id)
    widget = await uow.widgets.for_inbox(inbox_id)
    if widget is None:
        raise NotFound("this inbox has no widget yet: PUT one", inbox_id=str(inbox_id))
    return widget


async def configure(
    uow: UnitOfWork,
    actor: Principal | None,
    inbox_id: uuid.UUID,
    look: WidgetLook,
    allowed_origins: list[str],
    now: datetime,
) -> Widget:
    """Create or update the widget; its key stays the same once made (it is in pages)."""
    if actor is not None:
        require_role(actor, Role.ADMIN)
    await _web_inbox(uow, inbox_id)
    look = validate_look(look.title, look.greeting, look.accent_color)
    origins = validate_origins(allowed_origins)
    existing = await uow.widgets.for_inbox(inbox_id)
    if existing is None:
        widget = Widget(inbox_id, f"wk_{secrets.token_urlsafe(18)}", look, origins, None, now)
    else:
        widget = replace(existing, look=look, allowed_origins=origins, updated_at=now)
    await uow.widgets.save(widget)
    _record(uow, actor, widget, now, identity_secret_rotated=False)
    return widget


@dataclass(frozen=True)
class WidgetChange:
    """What an operator changes of a widget; None keeps the current (or default) value."""

    title: str | None = None
    greeting: str | None = None
    accent_color: str | None = None
    allowed_origins: list[str] | None = None


async def configure_by_name(
    uow: UnitOfWork, inbox_name: str, change: WidgetChange, now: datetime
) -> Widget:
    """The operator's CLI: create or change the widget of the inbox called `inbox_name`."""
    found = [i for i in await uow.access.list_inboxes() if i.name == inbox_name.strip()]
    if not found:
        raise NotFound(f"no inbox named {inbox_name!r}")
    current = await uow.widgets.for_inbox(found[0].id)
    look = current.look if current else WidgetLook()
    look = WidgetLook(
        change.title if change.title is not None else look.title,
        change.greeting if change.greeting is not None else look.greeting,
        change.accent_color if change.accent_color is not None else look.accent_color,
    )
    origins = (
        change.allowed_origins
        if change.allowed_origins is not None
        else list(current.allowed_origins if current else ())
    )
    return await configure(uow, None, found[0].id, look, origins, now)


async def rotate_identity_secret(
    uow: UnitOfWork, actor: Principal | None, inbox_id: uuid.UUID, now: datetime
) -> str:
    """A new secret for signing visitors' identities; the old one stops working."""
    widget = await get(uow, actor, inbox_id) if actor else await uow.widgets.for_inbox(inbox_id)
    if widget is None:
        raise NotFound("this inbox has no widget yet: PUT one", inbox_id=str(inbox_id))
    secret = secrets.token_urlsafe(32)
    widget = replace(widget, identity_secret=secret, updated_at=now)
    await uow.widgets.save(widget)
    _record(uow, actor, widget, now, identity_secret_rotated=True)
    return secret


def _record(
    uow: UnitOfWork,
    actor: Principal | None,
    widget: Widget,
    now: datetime,
    *,
    identity_secret_rotated: bool,
) -> None:
    uow.record(
        Event(
            EventType.WIDGET_UPDATED,
            now,
            actor_agent(actor.agent_id) if actor else "system",
            payload={
                "inbox_id": str(widget.inbox_id),
                "allowed_origins": list(widget.allowed_origins),
                "identity_secret_rotated": identity_secret_rotated,
            },
        )
    )
