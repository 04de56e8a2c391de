"""Figures per template over a period (notifications created in it): what was sent,
delivered, answered and deflected, and what the rules held back, by rule.

Rates are over what could have the outcome: delivery over sent, replies and deflection
over delivered (a message never delivered cannot be answered). A reply that ended the
matter without an agent (resolved, or passed to the business's webhook) is deflected.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from threadline.adapters.schema_proactive import notification_decisions as decisions
from threadline.adapters.schema_proactive import notification_templates as templates
from threadline.adapters.schema_proactive import notifications as t
from threadline.core.access import Principal, require_role
from threadline.core.agents import Role
from threadline.core.errors import InvalidInput
from threadline.core.proactive.notification import DEFLECTED, Decided, NotificationState
from threadline.service.unit_of_work import UnitOfWork


@dataclass
class TemplateFigures:
    template: str
    purpose: str
    notifications: int = 0
    pending: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    suppressed: int = 0
    replied: int = 0
    deflected: int = 0
    handed_off: int = 0
    deferrals: int = 0
    fell_back: int = 0
    suppressed_by_rule: dict[str, int] = field(default_factory=dict)
    deferred_by_rule: dict[str, int] = field(default_factory=dict)

    @property
    def delivery_rate(self) -> float | None:
        return self.delivered / self.sent if self.sent else None

    @property
    def reply_rate(self) -> float | None:
        return self.replied / self.delivered if self.delivered else None

    @property
    def deflection_rate(self) -> float | None:
        return self.deflected / self.delivered if self.delivered else None


async def report(
    uow: UnitOfWork, actor: Principal, since: datetime, until: datetime
) -> list[TemplateFigures]:
    require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    if until <= since:
        raise InvalidInput("until must be after since", field="until")
    names = {
        r.id: (r.name, r.purpose)
        for r in await uow.conn.execute(
            sa.select(templates.c.id, templates.c.name, templates.c.purpose)
        )
    }
    found: dict[object, TemplateFigures] = {}

    def of(template_id: object) -> TemplateFigures:
        if template_id not in found:
            name, purpose = names[template_id]
            found[template_id] = TemplateFigures(name, purpose)
        return found[template_id]

    in_period = (t.c.created_at >= since) & (t.c.created_at < until)
    rows = await uow.conn.execute(
        sa.select(
            t.c.template_id,
            t.c.state,
            t.c.rule,
            t.c.outcome,
            (t.c.sent_at.is_not(None)).label("was_sent"),
            (t.c.delivered_at.is_not(None)).label("was_delivered"),
            sa.func.count(),
        )
        .where(in_period)
        .group_by(
            t.c.template_id,
            t.c.state,
            t.c.rule,
            t.c.outcome,
            t.c.sent_at.is_not(None),
            t.c.delivered_at.is_not(None),
        )
    )
    for template_id, state, rule, outcome, was_sent, was_delivered, count in rows:
        f = of(template_id)
        f.notifications += count
        f.sent += count if was_sent else 0
        f.delivered += count if was_delivered else 0
        if state == NotificationState.PENDING:
            f.pending += count
        elif state == NotificationState.FAILED:
            f.failed += count
        elif state == NotificationState.SUPPRESSED:
            f.suppressed += count
            f.suppressed_by_rule[rule or "unknown"] = (
                f.suppressed_by_rule.get(rule or "unknown", 0) + count
            )
        if outcome is not None:
            f.replied += count
            f.deflected += count if outcome in DEFLECTED else 0
            f.handed_off += count if outcome == "handed_off" else 0
    d = decisions.c
    moves = await uow.conn.execute(
        sa.select(d.template_id, d.decision, d.rule, sa.func.count())
        .select_from(decisions.join(t, t.c.id == d.notification_id))
        .where(in_period, d.decision.in_([str(Decided.DEFERRED), str(Decided.FELL_BACK)]))
        .group_by(d.template_id, d.decision, d.rule)
    )
    by_rule: dict[object, dict[str, int]] = defaultdict(dict)
    for template_id, decision, rule, count in moves:
        f = of(template_id)
        if decision == Decided.FELL_BACK:
            f.fell_back += count
        else:
            f.deferrals += count
            by_rule[template_id][rule or "unknown"] = (
                by_rule[template_id].get(rule or "unknown", 0) + count
            )
    for template_id, counts in by_rule.items():
        found[template_id].deferred_by_rule = counts
    return sorted(found.values(), key=lambda f: f.template)
