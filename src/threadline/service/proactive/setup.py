"""What admins set up for outreach: the policy and the templates."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from threadline.adapters.repositories.outreach import StoredTemplate
from threadline.core.access import Principal, require_role
from threadline.core.agents import Role
from threadline.core.errors import InvalidInput, NotFound
from threadline.core.proactive.policy import (
    NOTIFIABLE,
    Policy,
    parse_policy,
    policy_to_doc,
    refusal,
)
from threadline.core.proactive.templates import (
    NotificationTemplate,
    parse_template,
    template_to_doc,
)
from threadline.core.suggest import closest
from threadline.service.unit_of_work import UnitOfWork

MANAGERS = (Role.ADMIN,)
SENDERS = (Role.SUPERVISOR, Role.ADMIN)
# The names parse_template allows.
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


async def policy_of(uow: UnitOfWork) -> Policy:
    """The policy in force: the defaults until an admin sets one."""
    document = await uow.outreach.policy()
    return parse_policy(document) if document is not None else Policy()


async def get_policy(uow: UnitOfWork, actor: Principal) -> dict[str, Any]:
    require_role(actor, *SENDERS)
    return policy_to_doc(await policy_of(uow))


async def put_policy(
    uow: UnitOfWork, actor: Principal, document: object, now: datetime
) -> dict[str, Any]:
    require_role(actor, *MANAGERS)
    # Every problem at once: the senders are checked against the inboxes even when the
    # document has other problems (those of its senders that are well formed).
    named = _named_senders(document)
    wrong = await _sender_problems(uow, named)
    try:
        policy = parse_policy(document)
    except InvalidInput as bad:
        if not wrong:
            raise
        listed = bad.details.get("problems")
        found = (
            list(listed)
            if isinstance(listed, list)
            else [{"field": str(bad.details.get("field", "policy")), "message": bad.message}]
        )
        raise refusal([*found, *wrong]) from None
    if wrong:
        raise refusal(wrong)
    stored = policy_to_doc(policy)
    await uow.outreach.put_policy(stored, now, f"agent:{actor.agent_id}")
    return stored


def _named_senders(document: object) -> dict[str, str]:
    """The well-formed entries of a policy document's `senders` (parse_policy reports
    the others)."""
    senders = document.get("senders") if isinstance(document, dict) else None
    if not isinstance(senders, dict):
        return {}
    return {
        channel: name.strip()
        for channel, name in senders.items()
        if channel in NOTIFIABLE and isinstance(name, str) and name.strip()
    }


async def _sender_problems(uow: UnitOfWork, senders: dict[str, str]) -> list[dict[str, str]]:
    """Each named sender is an inbox on its channel: a name that matches none would
    leave every notification on that channel suppressed as `no_sender`."""
    if not senders:
        return []
    inboxes = await uow.access.list_inboxes()
    problems: list[dict[str, str]] = []
    for channel, name in sorted(senders.items()):
        on_channel = sorted(i.name for i in inboxes if i.channel == channel)
        if name in on_channel:
            continue
        elsewhere = sorted(i.channel for i in inboxes if i.name == name)
        if elsewhere:
            why = f"the inbox {name!r} is on {', '.join(elsewhere)}, not {channel}"
        elif on_channel:
            why = f"no inbox named {name!r}; the {channel} inboxes: {', '.join(on_channel)}"
        else:
            why = f"no inbox named {name!r}, and no inbox on {channel} yet"
        problems.append({"field": f"senders.{channel}", "message": why})
    return problems


@dataclass(frozen=True)
class Template:
    stored: StoredTemplate
    template: NotificationTemplate


def _parsed(stored: StoredTemplate) -> Template:
    return Template(stored, parse_template(stored.document))


async def template_named(uow: UnitOfWork, name: str) -> Template:
    """The template `name`, or unknown_template with the stored name it most likely
    misspells, if any ("did you mean", `suggestion`)."""
    # A name no template may have (parse_template's rule) is not looked up: it names
    # none, and PostgreSQL would refuse a NUL in it outright.
    stored = await uow.outreach.template_named(name) if _NAME.fullmatch(name) else None
    if stored is not None:
        return _parsed(stored)
    unknown = f"no notification template named {name!r}"
    near = closest(name, [t.name for t in await uow.outreach.templates()])
    if near is None:
        raise NotFound(unknown, code="unknown_template")
    raise NotFound(f"{unknown}; did you mean {near!r}?", code="unknown_template", suggestion=near)


async def template_by_id(uow: UnitOfWork, template_id: uuid.UUID) -> Template:
    stored = await uow.outreach.template(template_id)
    assert stored is not None  # a foreign key guarantees it
    return _parsed(stored)


async def list_templates(uow: UnitOfWork, actor: Principal) -> list[Template]:
    require_role(actor, *SENDERS)
    return [_parsed(t) for t in await uow.outreach.templates()]


async def get_template(uow: UnitOfWork, actor: Principal, name: str) -> Template:
    require_role(actor, *SENDERS)
    return await template_named(uow, name)


async def put_template(
    uow: UnitOfWork, actor: Principal, name: str, document: object, now: datetime
) -> Template:
    """Creates or replaces the template `name`, validated whole before anything is
    stored. Notifications not yet sent use the new text when they go."""
    require_role(actor, *MANAGERS)
    if not isinstance(document, dict):
        raise InvalidInput("a template is a JSON object", field="template")
    if document.get("name", name) != name:
        raise InvalidInput("the name in the body differs from the one in the path", field="name")
    template = parse_template({**document, "name": name})
    existing = await uow.outreach.template_named(name)
    stored = StoredTemplate(
        id=existing.id if existing else uuid.uuid4(),
        name=name,
        purpose=template.purpose,
        document=template_to_doc(template),
        version=existing.version + 1 if existing else 1,
        created_at=existing.created_at if existing else now,
        updated_at=now,
    )
    if existing is not None and existing.purpose is not template.purpose:
        # Caps, consent and figures count by purpose: a template's history must stay
        # under the purpose it was sent for.
        raise InvalidInput(
            f"this template is for {existing.purpose}; make a new template for {template.purpose}",
            field="purpose",
        )
    await uow.outreach.put_template(stored)
    return Template(stored, template)


def require_sender(actor: Principal) -> None:
    """Notifications and their records: supervisors and admins (and the business's
    own systems, through an agent account with one of those roles)."""
    require_role(actor, *SENDERS)
