"""Per-channel settings: pacing, response window, inactivity and close timeouts.

Supervisors read them (they explain the desk's timers); admins change them. A change
applies to timers set from then on; a timer already running keeps its due time unless
it comes due before the new setting would have it, in which case it waits for that
(core.timers.fire re-reads the settings).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from threadline.core.access import Principal, require_role
from threadline.core.agents import Role
from threadline.core.customers import CHANNELS
from threadline.core.errors import InvalidInput, NotFound
from threadline.core.events import Event, EventType, actor_agent
from threadline.core.pacing import ChannelTiming, timing_for
from threadline.service.unit_of_work import UnitOfWork


@dataclass(frozen=True)
class ChannelSettings:
    channel: str
    timing: ChannelTiming
    customised: bool
    updated_at: datetime | None = None
    updated_by: uuid.UUID | None = None


def _known(channel: str) -> str:
    if channel not in CHANNELS:
        raise NotFound(f"no channel {channel!r}; one of {sorted(CHANNELS)}", code="unknown_channel")
    return channel


async def _current(uow: UnitOfWork, channel: str) -> ChannelSettings:
    timing = (await uow.timings())(channel)
    updated = await uow.channels.updated(channel)
    if updated is None:
        return ChannelSettings(channel, timing, customised=False)
    return ChannelSettings(channel, timing, True, updated[0], updated[1])


async def list_settings(uow: UnitOfWork, actor: Principal) -> list[ChannelSettings]:
    require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    return [await _current(uow, channel) for channel in sorted(CHANNELS)]


async def get_settings(uow: UnitOfWork, actor: Principal, channel: str) -> ChannelSettings:
    require_role(actor, Role.SUPERVISOR, Role.ADMIN)
    return await _current(uow, _known(channel))


async def update_settings(
    uow: UnitOfWork, actor: Principal, channel: str, changes: dict[str, Any], now: datetime
) -> ChannelSettings:
    """Change some settings of a channel; the result must be valid as a whole (floor up
    to ceiling, inactive_min up to inactive_max, all positive), or nothing changes."""
    require_role(actor, Role.ADMIN)
    current = await _current(uow, _known(channel))
    if not changes:
        raise InvalidInput("give at least one setting to change")
    try:
        timing = replace(current.timing, **changes)
    except TypeError as exc:  # the API's schema stops unknown names before this
        raise InvalidInput(f"unknown setting: {exc}") from exc
    await uow.channels.put(channel, timing, now, actor.agent_id)
    _record(uow, actor, channel, timing, now)
    return ChannelSettings(channel, timing, True, now, actor.agent_id)


async def reset_settings(
    uow: UnitOfWork, actor: Principal, channel: str, now: datetime
) -> ChannelSettings:
    """Back to the shipped defaults."""
    require_role(actor, Role.ADMIN)
    if await uow.channels.reset(_known(channel)):
        _record(uow, actor, channel, timing_for(channel), now)
    return ChannelSettings(channel, timing_for(channel), customised=False)


def _record(
    uow: UnitOfWork, actor: Principal, channel: str, timing: ChannelTiming, now: datetime
) -> None:
    uow.record(
        Event(
            EventType.CHANNEL_SETTINGS_UPDATED,
            now,
            actor_agent(actor.agent_id),
            payload={"channel": channel, "settings": timing.as_dict()},
        )
    )
