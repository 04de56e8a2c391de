"""Messaging windows: when a platform lets a business write to a customer freely.

WhatsApp and Messenger open a 24-hour window with each customer message. Inside it any
message may be sent; outside it WhatsApp takes only pre-approved templates and Messenger
only messages carrying a tag that says why (the human-agent tag stretches the window to
seven days). The rules are data a channel adapter supplies; the check is here, so every
channel's rule is enforced the same way for agents, bots and the API.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from threadline.core.errors import Conflict, InvalidInput


@dataclass(frozen=True)
class WindowRule:
    window: timedelta
    # Outside the window: an approved template may be sent.
    templates_outside: bool = False
    # Outside the window: a message with one of these tags may be sent, each within its
    # own longer window since the customer's last message (None: any time).
    tags: dict[str, timedelta | None] = field(default_factory=dict)


def check_window(
    rule: WindowRule | None,
    last_customer_message_at: datetime | None,
    now: datetime,
    *,
    template: bool,
    tag: str | None,
) -> None:
    """Refuses what the channel would refuse, before it is stored or sent."""
    if tag is not None and (rule is None or tag not in rule.tags):
        allowed = sorted(rule.tags) if rule else []
        raise InvalidInput(
            f"this channel takes no message tag {tag!r}"
            + (f"; one of {allowed}" if allowed else ""),
            field="tag",
        )
    if template and (rule is None or not rule.templates_outside):
        raise InvalidInput("this channel has no message templates", field="template")
    if rule is None or template:
        return
    since = None if last_customer_message_at is None else now - last_customer_message_at
    if since is not None and since <= rule.window:
        return
    if tag is not None:
        limit = rule.tags[tag]
        if limit is None or (since is not None and since <= limit):
            return
        raise Conflict(
            f"the {tag} tag allows messages up to {_hours(limit)} after the customer's "
            "last message",
            code="window_closed",
        )
    if rule.templates_outside:
        raise Conflict(
            f"more than {_hours(rule.window)} since the customer last wrote: only an approved "
            "template can be sent until they write again",
            code="template_required",
            window_hours=rule.window / timedelta(hours=1),
        )
    raise Conflict(
        f"more than {_hours(rule.window)} since the customer last wrote: a message tag is "
        f"required ({', '.join(sorted(rule.tags))})",
        code="message_tag_required",
        tags=sorted(rule.tags),
    )


def window_open(rule: WindowRule | None, last: datetime | None, now: datetime) -> bool:
    return rule is None or (last is not None and now - last <= rule.window)


def _hours(span: timedelta) -> str:
    hours = span / timedelta(hours=1)
    return f"{hours:g} hours" if hours < 48 else f"{hours / 24:g} days"
