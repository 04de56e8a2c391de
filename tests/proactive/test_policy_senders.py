"""A policy's senders name inboxes that exist on their channels: a name that matches
none is refused with what there is, and the policy in force stays."""

from __future__ import annotations

from tests.support.live import Live
from tests.support.proactive import put_policy
from threadline.core.agents import Role


async def test_a_sender_that_is_no_inbox_on_its_channel_is_refused_naming_the_ones_there(
    live: Live,
) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    await live.inbox("Texts", channel="sms")
    await live.inbox("Alerts", channel="sms")
    await live.inbox("Help", channel="whatsapp")
    await put_policy(live, admin, {"senders": {"sms": "Texts"}})

    r = await live.http.put(
        "/api/v1/proactive/policy",
        json={"senders": {"sms": "Txts", "whatsapp": "Texts", "messenger": "Page"}},
        headers=admin.headers,
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    problems = {p["field"]: p["message"] for p in error["details"]["problems"]}
    assert problems == {
        "senders.messenger": "no inbox named 'Page', and no inbox on messenger yet",
        "senders.sms": "no inbox named 'Txts'; the sms inboxes: Alerts, Texts",
        "senders.whatsapp": "the inbox 'Texts' is on sms, not whatsapp",
    }
    policy = (await live.http.get("/api/v1/proactive/policy", headers=admin.headers)).json()
    assert policy["senders"] == {"sms": "Texts"}


async def test_wrong_senders_are_reported_with_the_policys_other_problems_at_once(
    live: Live,
) -> None:
    admin = await live.agent("ada", role=Role.ADMIN, online=False)
    await live.inbox("Texts", channel="sms")
    await live.inbox("Help", channel="whatsapp")
    r = await live.http.put(
        "/api/v1/proactive/policy",
        json={"senders": {"sms": "Help", "whatsapp": "Texts", "fax": "x"}, "windw": "08:00-21:00"},
        headers=admin.headers,
    )
    assert r.status_code == 422, r.text
    fields = sorted(p["field"] for p in r.json()["error"]["details"]["problems"])
    assert fields == ["senders.fax", "senders.sms", "senders.whatsapp", "windw"]
