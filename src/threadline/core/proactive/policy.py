"""The business's outreach policy: the rules every notification is checked against.

One document per business, edited by admins (`PUT /api/v1/proactive/policy`): quiet
hours per purpose and per region, frequency caps per purpose and channel, the purposes
it may send without an opt-in, the order of channels to fall back through, which inbox
sends on each channel, and the zone to assume when a recipient's is unknown.

Windows per purpose *replace* the default (a business may alert fraud at 07:00 if its
counsel agrees), except that collections may never be wider than Regulation F's
08:00-21:00. Windows per region only ever narrow: a state's stricter hours intersect
whatever the purpose allows.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from typing import Any, TypeGuard

from threadline.core.customers import CHANNELS
from threadline.core.errors import InvalidInput
from threadline.core.proactive.caps import Cap
from threadline.core.proactive.purposes import Basis, Purpose
from threadline.core.proactive.quiet import DEFAULT_WINDOW, ContactWindow, zone

# Every channel a notification can be sent on: not the web chat, whose visitors are
# reachable only while their page is open.
NOTIFIABLE = frozenset(CHANNELS - {"web"})
# Any channel: a cap under this key counts messages on every channel together.
ALL_CHANNELS = "*"
# How long after a notification its expected replies are recognised, unless the
# template says otherwise: a "NO" a week after a fraud alert is not an answer to it.
DEFAULT_REPLY_WINDOW = timedelta(days=3)
REGION = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
_HHMM = re.compile(r"^([01]\d|2[0-4]):([0-5]\d)$")


@dataclass(frozen=True)
class CapRule:
    purpose: Purpose
    channel: str  # a channel, or ALL_CHANNELS
    cap: Cap


@dataclass(frozen=True)
class Policy:
    window: ContactWindow = DEFAULT_WINDOW
    windows_by_purpose: Mapping[Purpose, ContactWindow] = field(default_factory=dict)
    windows_by_region: Mapping[str, ContactWindow] = field(default_factory=dict)
    caps: tuple[CapRule, ...] = ()
    basis: Basis = field(default_factory=Basis)
    fallback: tuple[str, ...] = ("sms", "whatsapp", "rcs", "messenger", "apple", "app", "api")
    # The inbox (by name) that sends on a channel, when the channel has several.
    senders: Mapping[str, str] = field(default_factory=dict)
    default_timezone: str = "America/New_York"
    reply_window: timedelta = DEFAULT_REPLY_WINDOW

    def window_for(self, purpose: Purpose, region: str | None) -> ContactWindow:
        """The hours a notification of `purpose` may reach a recipient in `region`.

        InvalidInput if they leave no time at all (parse_policy refuses such a policy)."""
        found = self.windows_by_purpose.get(purpose, self.window)
        if purpose is Purpose.COLLECTIONS:
            # Whatever the default window says, Regulation F's hours bound collections.
            found = found.within(DEFAULT_WINDOW)
        for key in _regions_of(region):
            if key in self.windows_by_region:
                found = found.within(self.windows_by_region[key])
        return found

    def caps_for(self, purpose: Purpose, channel: str) -> list[CapRule]:
        return [
            c for c in self.caps if c.purpose is purpose and c.channel in (channel, ALL_CHANNELS)
        ]


def _regions_of(region: str | None) -> list[str]:
    """A state's rules and its country's both apply: "US-FL" is in "US"."""
    if region is None:
        return []
    region = region.strip().upper()
    country = region.split("-", 1)[0]
    return [country, region] if country != region else [region]


_KEYS = (
    "window",
    "windows_by_purpose",
    "windows_by_region",
    "caps",
    "basis",
    "fallback",
    "senders",
    "default_timezone",
    "reply_window_seconds",
)


def refusal(problems: list[dict[str, str]]) -> InvalidInput:
    """A policy refused for `problems` (each a `field` and a `message`), all of them at
    once: the first one's field at the top."""
    return InvalidInput(
        "; ".join(f"{p['field']}: {p['message']}" for p in problems),
        field=problems[0]["field"],
        problems=problems,
    )


def parse_policy(doc: object) -> Policy:
    """A policy from its JSON document; every problem is reported at once."""
    problems: list[dict[str, str]] = []

    def problem(where: str, message: str) -> None:
        problems.append({"field": where, "message": message})

    if not isinstance(doc, dict):
        raise InvalidInput("the policy is a JSON object", field="policy")
    for key in doc:
        if key not in _KEYS:
            close = difflib.get_close_matches(str(key), _KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problem(str(key), f"unknown setting{hint}")
    base = Policy()
    window = _window(doc.get("window"), "window", problem) if "window" in doc else base.window
    by_purpose: dict[Purpose, ContactWindow] = {}
    for name, value in _mapping(doc.get("windows_by_purpose", {}), "windows_by_purpose", problem):
        where = f"windows_by_purpose.{name}"
        purpose = _purpose(name, where, problem)
        found = _window(value, where, problem)
        if purpose is None or found is None:
            continue
        if purpose is Purpose.COLLECTIONS and (
            found.earliest < DEFAULT_WINDOW.earliest or found.latest > DEFAULT_WINDOW.latest
        ):
            problem(where, "collections may not be sent before 08:00 or after 21:00 (Reg F)")
            continue
        by_purpose[purpose] = found
    by_region: dict[str, ContactWindow] = {}
    for name, value in _mapping(doc.get("windows_by_region", {}), "windows_by_region", problem):
        where = f"windows_by_region.{name}"
        if not REGION.fullmatch(name):
            problem(where, "a region is a country or state code, like US or US-FL")
            continue
        found = _window(value, where, problem)
        if found is not None:
            by_region[name] = found
    caps = _caps(doc.get("caps", []), problem)
    basis = _basis(doc.get("basis"), problem) if "basis" in doc else base.basis
    fallback = _channels(doc.get("fallback", list(base.fallback)), "fallback", problem)
    senders: dict[str, str] = {}
    for channel, inbox in _mapping(doc.get("senders", {}), "senders", problem):
        if channel not in NOTIFIABLE:
            problem(f"senders.{channel}", f"not a channel notifications go on: {_list()}")
        elif not isinstance(inbox, str) or not inbox.strip():
            problem(f"senders.{channel}", "the name of an inbox on that channel")
        else:
            senders[channel] = inbox.strip()
    tz = doc.get("default_timezone", base.default_timezone)
    if not isinstance(tz, str):
        problem("default_timezone", "an IANA time zone name, like America/Chicago")
        tz = base.default_timezone
    else:
        try:
            zone(tz)
        except InvalidInput as bad:
            problem("default_timezone", bad.message)
        except OSError:  # "America" names a folder of zones, not a zone
            problem("default_timezone", f"unknown time zone {tz!r}")
    reply = doc.get("reply_window_seconds", int(base.reply_window.total_seconds()))
    if not _whole(reply, 60, 30 * 86400):
        problem("reply_window_seconds", "whole seconds from 60 to 2592000 (30 days)")
        reply = int(base.reply_window.total_seconds())
    if window is not None:
        _check_windows(Policy(window, by_purpose, by_region), problem)
    if problems:
        raise refusal(problems)
    assert window is not None
    return Policy(
        window=window,
        windows_by_purpose=by_purpose,
        windows_by_region=by_region,
        caps=caps,
        basis=basis,
        fallback=fallback,
        senders=senders,
        default_timezone=tz,
        reply_window=timedelta(seconds=reply),
    )


def _check_windows(policy: Policy, problem: Problem) -> None:
    """Every purpose has some time to be sent, everywhere: a window that leaves none is
    reported on the setting that closed it."""
    for purpose in Purpose:
        try:
            policy.window_for(purpose, None)
        except InvalidInput:
            # Only collections can fail here: its own window is checked against
            # Regulation F already, so it is the default window that misses 08:00-21:00.
            problem("window", f"leaves {purpose} no time to send within 08:00-21:00 (Reg F)")
            continue
        for region in sorted(policy.windows_by_region):
            try:
                policy.window_for(purpose, region)
            except InvalidInput:
                problem(f"windows_by_region.{region}", f"leaves {purpose} no time to send there")


def policy_to_doc(policy: Policy) -> dict[str, Any]:
    return {
        "window": _window_text(policy.window),
        "windows_by_purpose": {
            str(p): _window_text(w) for p, w in sorted(policy.windows_by_purpose.items())
        },
        "windows_by_region": {
            r: _window_text(w) for r, w in sorted(policy.windows_by_region.items())
        },
        "caps": [
            {
                "purpose": str(c.purpose),
                "channel": c.channel,
                "limit": c.cap.limit,
                "period_seconds": int(c.cap.period.total_seconds()),
            }
            for c in policy.caps
        ],
        "basis": {
            "without_opt_in": sorted(str(p) for p in policy.basis.without_opt_in),
            "survives_channel_opt_out": sorted(
                str(p) for p in policy.basis.survives_channel_opt_out
            ),
        },
        "fallback": list(policy.fallback),
        "senders": dict(sorted(policy.senders.items())),
        "default_timezone": policy.default_timezone,
        "reply_window_seconds": int(policy.reply_window.total_seconds()),
    }


# Collects one problem (where, what) so that every mistake is reported at once.
Problem = Callable[[str, str], None]


def _list() -> str:
    return ", ".join(sorted(NOTIFIABLE))


def _mapping(value: object, where: str, problem: Problem) -> list[tuple[str, object]]:
    if not isinstance(value, dict):
        problem(where, "an object")
        return []
    return [(str(k), v) for k, v in value.items()]


def _purpose(name: object, where: str, problem: Problem) -> Purpose | None:
    try:
        return Purpose(str(name))
    except ValueError:
        problem(where, f"unknown purpose; one of {', '.join(p.value for p in Purpose)}")
        return None


def _clock(text: str) -> time | None:
    m = _HHMM.match(text)
    if m is None:
        return None
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour == 24:
        # "24:00": the end of the day, the last instant a time of day can name.
        return time.max if minute == 0 else None
    return time(hour, minute)


def _window(value: object, where: str, problem: Problem) -> ContactWindow | None:
    text = value if isinstance(value, str) else ""
    start, _, end = text.partition("-")
    earliest, latest = _clock(start.strip()), _clock(end.strip())
    if earliest is None or latest is None:
        problem(where, 'hours as "HH:MM-HH:MM" in the recipient\'s local time, like "08:00-21:00"')
        return None
    try:
        return ContactWindow(earliest, latest)
    except InvalidInput as bad:
        problem(where, bad.message)
        return None


def _window_text(window: ContactWindow) -> str:
    def hhmm(t: time) -> str:
        return "24:00" if t == time.max else t.strftime("%H:%M")

    return f"{hhmm(window.earliest)}-{hhmm(window.latest)}"


_CAP_KEYS = ("purpose", "channel", "limit", "period_seconds")


def _caps(value: object, problem: Problem) -> tuple[CapRule, ...]:
    if not isinstance(value, list):
        problem("caps", "a list of caps")
        return ()
    found: list[CapRule] = []
    seen: set[tuple[Purpose, str]] = set()
    for i, item in enumerate(value):
        where = f"caps[{i}]"
        if not isinstance(item, dict):
            problem(where, 'an object: {"purpose", "channel" (or "*"), "limit", "period_seconds"}')
            continue
        _unknown(item, _CAP_KEYS, where, problem)
        # Every mistake in the cap is reported, not just the first.
        purpose = _purpose(item.get("purpose"), f"{where}.purpose", problem)
        channel = item.get("channel", ALL_CHANNELS)
        if not isinstance(channel, str) or (channel != ALL_CHANNELS and channel not in NOTIFIABLE):
            problem(f"{where}.channel", f'"*" or one of {_list()}')
            channel = None
        limit, period = item.get("limit"), item.get("period_seconds")
        if not _whole(limit, 1, 1000):
            problem(f"{where}.limit", "a whole number of messages from 1 to 1000")
            limit = None
        if not _whole(period, 60, 366 * 86400):
            problem(f"{where}.period_seconds", "whole seconds from 60 to a year")
            period = None
        if purpose is None or channel is None or limit is None or period is None:
            continue
        if (purpose, channel) in seen:
            problem(where, f"a second cap for {purpose} on {channel}")
            continue
        seen.add((purpose, channel))
        found.append(CapRule(purpose, channel, Cap(limit, timedelta(seconds=period))))
    return tuple(found)


def _whole(value: object, low: int, high: int) -> TypeGuard[int]:
    """A whole number from `low` to `high`; JSON's true and false are not numbers."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _unknown(item: dict[Any, Any], keys: tuple[str, ...], where: str, problem: Problem) -> None:
    for key in item:
        if key not in keys:
            close = difflib.get_close_matches(str(key), keys, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            problem(f"{where}.{key}", f"unknown setting{hint}")


def _basis(value: object, problem: Problem) -> Basis:
    if not isinstance(value, dict) or set(value) - {"without_opt_in", "survives_channel_opt_out"}:
        problem("basis", 'an object: {"without_opt_in": [...], "survives_channel_opt_out": [...]}')
        return Basis()
    sets: list[frozenset[Purpose]] = []
    for key in ("without_opt_in", "survives_channel_opt_out"):
        items = value.get(key, [])
        if not isinstance(items, list):
            problem(f"basis.{key}", "a list of purposes")
            items = []
        sets.append(
            frozenset(
                p for p in (_purpose(x, f"basis.{key}", problem) for x in items) if p is not None
            )
        )
    try:
        basis = Basis(sets[0], sets[1])
    except InvalidInput as bad:
        problem("basis", bad.message)
        return Basis()
    # A purpose that survives a STOP but needs an opt-in otherwise would reach the
    # customer only after they asked for nothing more: nobody means that.
    for purpose in sorted(basis.survives_channel_opt_out - basis.without_opt_in):
        problem("basis.survives_channel_opt_out", f"{purpose} is not in without_opt_in")
    return basis


def _channels(value: object, where: str, problem: Problem) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        problem(where, "a list of channels, most preferred first")
        return Policy().fallback
    found: list[str] = []
    for item in value:
        if not isinstance(item, str) or item not in NOTIFIABLE:
            problem(where, f"{item!r} is not a channel notifications go on: {_list()}")
        elif item in found:
            problem(where, f"{item} is listed twice")
        else:
            found.append(str(item))
    return tuple(found)
