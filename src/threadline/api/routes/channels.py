"""Per-channel pacing and timeouts: supervisors read them, admins change them."""

from __future__ import annotations

from fastapi import APIRouter

from threadline.api.schemas import ChannelSettingsOut, ChannelSettingsPatch
from threadline.api.security import Ctx, CurrentPrincipal
from threadline.service import channels

router = APIRouter(tags=["channels"])


@router.get("/channels/settings", response_model=list[ChannelSettingsOut])
async def list_channel_settings(ctx: Ctx, principal: CurrentPrincipal) -> list[ChannelSettingsOut]:
    found = await ctx.tx.read(lambda uow: channels.list_settings(uow, principal))
    return [ChannelSettingsOut.of(s) for s in found]


@router.get("/channels/{channel}/settings", response_model=ChannelSettingsOut)
async def get_channel_settings(
    channel: str, ctx: Ctx, principal: CurrentPrincipal
) -> ChannelSettingsOut:
    found = await ctx.tx.read(lambda uow: channels.get_settings(uow, principal, channel))
    return ChannelSettingsOut.of(found)


@router.patch("/channels/{channel}/settings", response_model=ChannelSettingsOut)
async def update_channel_settings(
    channel: str, body: ChannelSettingsPatch, ctx: Ctx, principal: CurrentPrincipal
) -> ChannelSettingsOut:
    """Change some of a channel's settings (seconds, except k, m and alpha)."""
    changes = body.model_dump(exclude_none=True)
    updated = await ctx.tx.write(
        lambda uow: channels.update_settings(uow, principal, channel, changes, ctx.now())
    )
    return ChannelSettingsOut.of(updated)


@router.delete("/channels/{channel}/settings", response_model=ChannelSettingsOut)
async def reset_channel_settings(
    channel: str, ctx: Ctx, principal: CurrentPrincipal
) -> ChannelSettingsOut:
    """Back to the shipped defaults."""
    reset = await ctx.tx.write(
        lambda uow: channels.reset_settings(uow, principal, channel, ctx.now())
    )
    return ChannelSettingsOut.of(reset)
