"""The business asks for notifications: one, or a batch of thousands. Each good one
becomes a pending row, decided on by the dispatcher when due; each bad row of an upload
is answered with its problem, and the good rows proceed.

A request names each recipient's `reference` (its own id for the row) to be safe to
repeat: a reference already stored for the same template and customer creates nothing
new, so a business that lost the answer to an upload can send the same upload again. A
reference stored for another template or customer is refused (reference_in_use): the
request would otherwise be answered with someone else's notification and never sent.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from threadline.adapters.repositories.notifications import Batch, Referenced
from threadline.core.access import Principal, require_role
from threadline.core.errors import Conflict, DomainError, InvalidInput
from threadline.core.proactive.notification import Notification
from threadline.core.proactive.policy import NOTIFIABLE
from threadline.core.proactive.purposes import Purpose
from threadline.core.proactive.templates import check_values
from threadline.core.proactive.upload import Parsed, Recipient, RowError, match_columns, refusal
from threadline.service.proactive.setup import SENDERS, Template, template_named
from threadline.service.unit_of_work import UnitOfWork

# A notification scheduled further ahead is a mistake (and its expiry could run past
# the end of the calendar).
MAX_AHEAD = timedelta(days=366)


@dataclass(frozen=True)
class Accepted:
    row: int
    notification_id: uuid.UUID
    # Already there under its reference: nothing new was created for this row.
    existing: bool


@dataclass(frozen=True)
class BatchResult:
    batch_id: uuid.UUID
    rows: int
    accepted: list[Accepted]
    errors: list[RowError]


async def create_one(
    uow: UnitOfWork, actor: Principal, template_name: str, recipient: Recipient, now: datetime
) -> tuple[Notification, bool]:
    """One notification; returns it and whether it was there already (its reference
    repeated). Bad input is refused as a whole, with the field named."""
    require_role(actor, *SENDERS)
    template = await template_named(uow, template_name)
    result = await _create(uow, template, [recipient], now, batch_id=None)
    if result.errors:
        error = result.errors[0]
        if error.field == "reference":
            # The one row error _create finds for a parsed request: the reference is
            # another notification's (_repeat).
            raise Conflict(error.message, code="reference_in_use", field="reference")
        raise refusal(result.errors)
    [accepted] = result.accepted
    found = await uow.notifications.get(accepted.notification_id)
    assert found is not None
    return found, accepted.existing


async def create_batch(
    uow: UnitOfWork, actor: Principal, template_name: str, parsed: Parsed, now: datetime
) -> BatchResult:
    """A batch of `parsed`'s recipients. Its errors are the rows' (and the CSV header's,
    reported once at row HEADER_ROW); a header that lacks a variable refuses it whole."""
    require_role(actor, *SENDERS)
    template = await template_named(uow, template_name)
    t = template.template
    parsed = match_columns(parsed, t.name, [v.name for v in t.variables])
    batch_id = uuid.uuid4()
    # The batch row first: its notifications refer to it.
    rows = parsed.rows
    await uow.notifications.add_batch(
        Batch(batch_id, template.stored.id, f"agent:{actor.agent_id}", now, rows, 0, [])
    )
    result = await _create(uow, template, list(parsed.recipients), now, batch_id=batch_id)
    errors = sorted([*parsed.errors, *result.errors], key=lambda e: e.row)
    await uow.notifications.finish_batch(
        batch_id, len(result.accepted), [_error_doc(e) for e in errors]
    )
    return BatchResult(batch_id, rows, result.accepted, errors)


def _error_doc(e: RowError) -> dict[str, Any]:
    return {"row": e.row, "field": e.field, "message": e.message, "suggestion": e.suggestion}


@dataclass(frozen=True)
class _Created:
    accepted: list[Accepted]
    errors: list[RowError]


async def _create(
    uow: UnitOfWork,
    template: Template,
    recipients: Sequence[Recipient],
    now: datetime,
    *,
    batch_id: uuid.UUID | None,
) -> _Created:
    t = template.template
    ids = {r.customer_id for r in recipients if r.customer_id is not None}
    known = await uow.customers.existing(ids)
    by_identity: dict[tuple[str, str], uuid.UUID] = {}
    channels: dict[str, set[str]] = {}
    for r in recipients:
        if r.identity is not None:
            channels.setdefault(r.identity.channel, set()).add(r.identity.address)
    for channel, addresses in channels.items():
        owners = await uow.customers.owners_of(channel, addresses)
        by_identity.update(((channel, a), c) for a, c in owners.items())
    stored = await uow.notifications.existing_references(
        r.reference for r in recipients if r.reference is not None
    )
    accepted: list[Accepted] = []
    errors: list[RowError] = []
    new: list[Notification] = []
    for r in recipients:
        try:
            customer_id = _customer(r, known, by_identity)
            found = stored.get(r.reference) if r.reference is not None else None
            if found is not None:
                accepted.append(_repeat(r, found, template, customer_id))
                continue
            values = check_values(t, r.variables)
            _check(r, t.purpose)
            if r.send_at is not None and r.send_at - now > MAX_AHEAD:
                raise InvalidInput("send_at: at most a year ahead", field="send_at")
        except DomainError as bad:
            errors.extend(_row_errors(r.row, bad))
            continue
        due = r.send_at or now
        n = Notification(
            id=uuid.uuid4(),
            template_id=template.stored.id,
            purpose=t.purpose,
            customer_id=customer_id,
            variables=values,
            due_at=due,
            created_at=now,
            updated_at=now,
            batch_id=batch_id,
            reference=r.reference,
            language=r.language,
            channel=r.channel,
            timezone=r.timezone,
            region=r.region,
            debt_reference=r.debt_reference,
            expires_at=due + t.expires_after if t.expires_after is not None else None,
        )
        new.append(n)
        accepted.append(Accepted(r.row, n.id, existing=False))
        if r.reference is not None:
            # A repeat later in the same upload is the same row.
            stored[r.reference] = Referenced(n.id, n.template_id, n.customer_id)
    await uow.notifications.add_all(new)
    return _Created(accepted, errors)


def _repeat(
    r: Recipient, found: Referenced, template: Template, customer_id: uuid.UUID
) -> Accepted:
    """A reference already stored: the same request again (nothing new is made), or a
    reference used for another notification, which is refused rather than answered with
    that one, since what this request asks for would then silently never be sent."""
    if found.template_id == template.stored.id and found.customer_id == customer_id:
        return Accepted(r.row, found.id, existing=True)
    raise Conflict(
        f"reference {r.reference!r} is already used by notification {found.id}, "
        "for another template or customer; give this one a reference of its own",
        code="reference_in_use",
        field="reference",
        notification_id=str(found.id),
    )


def _customer(
    r: Recipient, known: set[uuid.UUID], by_identity: dict[tuple[str, str], uuid.UUID]
) -> uuid.UUID:
    if r.customer_id is not None:
        if r.customer_id not in known:
            raise InvalidInput(f"no customer {r.customer_id}", field="customer_id")
        return r.customer_id
    assert r.identity is not None
    found = by_identity.get((r.identity.channel, r.identity.address))
    if found is None:
        raise InvalidInput(f"no customer has the address {r.identity}", field="channel_address")
    return found


def _check(r: Recipient, purpose: Purpose) -> None:
    if purpose is Purpose.COLLECTIONS and r.debt_reference is None:
        # Regulation F's limits are per debt: without the debt they cannot be applied.
        raise InvalidInput(
            "a collections notification names the debt it is about", field="debt_reference"
        )
    if r.channel is not None and r.channel not in NOTIFIABLE:
        raise InvalidInput(
            f"notifications are not sent on {r.channel}; one of {sorted(NOTIFIABLE)}",
            field="channel",
        )


def _row_errors(row: int, error: DomainError) -> list[RowError]:
    """One RowError per problem, as a row's own problems are reported (the values are
    checked whole, and a misspelt name is best told apart from a missing value)."""
    problems = error.details.get("problems")
    if isinstance(problems, list) and problems:
        return [
            RowError(row, p["field"], f"{p['field']}: {p['message']}", p.get("suggestion"))
            for p in problems
        ]
    found, suggestion = error.details.get("field"), error.details.get("suggestion")
    return [
        RowError(
            row,
            str(found) if found is not None else None,
            error.message,
            str(suggestion) if suggestion is not None else None,
        )
    ]
