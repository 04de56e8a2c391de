"""The supervisor's overview through the API: queues, agents, breaches."""

from __future__ import annotations

from datetime import datetime

from tests.support.live import Live
from threadline.core.agents import Role


async def test_a_supervisor_sees_queues_agents_and_who_waits_too_long(live: Live) -> None:
    lead = await live.agent("lead", role=Role.SUPERVISOR, online=False)
    inbox = await live.inbox()
    await live.inbox("Billing", queue="billing")
    alice = await live.agent("alice", preferred=1, max_load=1)
    served = await live.customer_says(inbox, "c1", "First in")
    live.clock.advance(10)
    waiting = await live.customer_says(inbox, "c2", "Second in")  # Alice is full
    live.clock.advance(3600)  # past every respond-by

    r = await live.http.get("/api/v1/overview", headers=lead.headers)

    assert r.status_code == 200, r.text
    body = r.json()
    queues = {q["queue"]: q for q in body["queues"]}
    assert queues["general"]["waiting"] == 1
    assert queues["billing"] == {
        "queue": "billing",
        "waiting": 0,
        "returning": 0,
        "oldest_respond_by": None,
    }
    oldest = datetime.fromisoformat(queues["general"]["oldest_respond_by"])
    detail = await live.conversation(lead, waiting["conversation_id"])
    assert oldest == datetime.fromisoformat(detail["conversation"]["respond_by"])
    assert {a["username"]: a["active_count"] for a in body["agents"]}["alice"] == 1
    late = [c["id"] for c in body["breaching"]]
    assert late == [served["conversation_id"], waiting["conversation_id"]]  # longest late first
    assert alice.id in [c["assigned_agent_id"] for c in body["breaching"]]


async def test_agents_cannot_see_the_overview(live: Live) -> None:
    alice = await live.agent("alice")
    r = await live.http.get("/api/v1/overview", headers=alice.headers)
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
