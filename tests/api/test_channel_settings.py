"""Per-channel pacing and timeouts through the admin API: visible, validated, in force."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.live import AgentHandle, Live
from threadline.core.agents import Role
from threadline.core.pacing import DEFAULT_TIMINGS


async def settings_of(live: Live, who: AgentHandle, channel: str) -> dict[str, Any]:
    r = await live.http.get(f"/api/v1/channels/{channel}/settings", headers=who.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def test_supervisors_see_every_channel_with_its_defaults(live: Live) -> None:
    lead = await live.agent("lead", role=Role.SUPERVISOR, online=False)
    r = await live.http.get("/api/v1/channels/settings", headers=lead.headers)
    assert r.status_code == 200, r.text
    by_channel = {s["channel"]: s for s in r.json()}
    assert set(by_channel) >= {"web", "sms", "whatsapp", "api", "app"}
    sms = by_channel["sms"]
    assert sms["customised"] is False
    assert sms["ceiling"] == DEFAULT_TIMINGS["sms"].ceiling
    assert sms["close_after"] == 24 * 3600


async def test_an_admin_changes_some_settings_and_the_rest_stay(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    before = await settings_of(live, admin, "web")
    head = await live.event_head()

    r = await live.http.patch(
        "/api/v1/channels/web/settings",
        json={"inactive_min": 60, "inactive_max": 900, "ceiling": 90},
        headers=admin.headers,
    )

    assert r.status_code == 200, r.text
    after = r.json()
    assert (after["inactive_min"], after["inactive_max"], after["ceiling"]) == (60, 900, 90)
    assert (after["k"], after["floor"]) == (before["k"], before["floor"])
    assert after["customised"] is True
    assert after["updated_by"] == admin.id
    assert await settings_of(live, admin, "web") == after
    events = await live.tx.read(lambda uow: uow.events.after(head, limit=10))
    assert [e.type for e in events] == ["channel.settings_updated"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"floor": 300, "ceiling": 100}, "ceiling"),
        ({"inactive_min": 4000}, "inactive_max"),  # above the shipped 1800 s maximum
        ({"close_after": 31 * 24 * 3600}, "close_after"),
        ({"close_after": 0.5}, "close_after"),  # half a second: a units mistake
        ({"alpha": 0.001}, "alpha"),  # the pace would never move
    ],
)
async def test_settings_that_contradict_each_other_are_refused_and_change_nothing(
    live: Live, body: dict[str, Any], field: str
) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    before = await settings_of(live, admin, "web")
    r = await live.http.patch("/api/v1/channels/web/settings", json=body, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == field
    assert await settings_of(live, admin, "web") == before


@pytest.mark.parametrize(
    "body",
    [{"k": -1}, {"floor": 0}, {"alpha": 2}, {"pace": 3}, {"m": "four"}, {"k": True}, {}],
)
async def test_malformed_settings_are_refused(live: Live, body: dict[str, Any]) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    before = await settings_of(live, admin, "sms")
    r = await live.http.patch("/api/v1/channels/sms/settings", json=body, headers=admin.headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] in ("validation_error", "invalid_input")
    assert await settings_of(live, admin, "sms") == before


async def test_only_admins_change_settings_and_only_leads_read_them(live: Live) -> None:
    lead = await live.agent("lead", role=Role.SUPERVISOR, online=False)
    alice = await live.agent("alice", online=False)
    r = await live.http.patch("/api/v1/channels/web/settings", json={"k": 3}, headers=lead.headers)
    assert r.status_code == 403
    r = await live.http.get("/api/v1/channels/web/settings", headers=alice.headers)
    assert r.status_code == 403
    r = await live.http.get("/api/v1/channels/web/settings")
    assert r.status_code == 401


async def test_an_unknown_channel_is_not_found(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    r = await live.http.patch(
        "/api/v1/channels/pigeon/settings", json={"k": 3}, headers=admin.headers
    )
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "unknown_channel"


async def test_resetting_returns_to_the_defaults(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    await live.http.patch("/api/v1/channels/sms/settings", json={"k": 3}, headers=admin.headers)
    r = await live.http.delete("/api/v1/channels/sms/settings", headers=admin.headers)
    assert r.status_code == 200, r.text
    assert r.json()["customised"] is False
    assert r.json()["k"] == DEFAULT_TIMINGS["sms"].k


async def test_a_shorter_inactivity_timeout_applies_to_the_next_reply(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    r = await live.http.patch(
        "/api/v1/channels/api/settings",
        json={"m": 1, "inactive_min": 60, "inactive_max": 60},
        headers=admin.headers,
    )
    assert r.status_code == 200, r.text
    inbox = await live.inbox()
    alice = await live.agent("alice")
    said = await live.customer_says(inbox, "c1", "Hello")
    async with live.stream(alice) as stream:
        await live.reply(alice, said["conversation_id"], "Hi, how can I help?")
        live.clock.advance(61)
        events = await stream.events_until("conversation.inactive")
    assert events[-1]["conversation_id"] == said["conversation_id"]
