"""The live workforce report (GET /api/v1/reports/workforce): conversations driven
through the public API at controlled times, then the figures read back exactly, as JSON
and as CSV, on SQLite and PostgreSQL.

The "api" channel's defaults apply: a customer is answered within 2 x 120 s before a
respond-by breach (harmless here), and goes inactive 4 x their pace after an agent's
message; every step below comes before such a timer could fire on its own."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.support.live import AgentHandle, Live
from threadline.core.agents import Role

URL = "/api/v1/reports/workforce"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # the fake clock's start


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


async def at(live: Live, seconds: float) -> None:
    """Move the clock to `seconds` after 09:00."""
    target = START + timedelta(seconds=seconds)
    assert target >= live.clock.current
    live.clock.current = target


async def post(live: Live, agent: AgentHandle, path: str) -> dict[str, Any]:
    r = await live.http.post(f"/api/v1/conversations/{path}", headers=agent.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


async def report(live: Live, who: AgentHandle, **params: Any) -> dict[str, Any]:
    r = await live.http.get(URL, params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    return dict(r.json())


def dist(count: int, mean: float | None, p50: float | None, p90: float | None) -> dict[str, Any]:
    return {"count": count, "mean": mean, "p50": p50, "p90": p90}


def expect(figures: dict[str, Any], **wanted: Any) -> None:
    """Compare the flat figures with `wanted`, distributions given as dicts."""
    flat: dict[str, Any] = {}
    for key, value in wanted.items():
        if isinstance(value, dict):
            flat.update({f"{key}_{part}": number for part, number in value.items()})
        else:
            flat[key] = value
    assert {k: figures[k] for k in flat} == flat


async def a_morning(live: Live) -> AgentHandle:
    """Alice serves three customers in the first half hour (one comes back after going
    inactive); she leaves, a customer waits for Bob, another gives up, and Bob answers
    a last one just after the hour. Returns the supervisor who reads the report."""
    sam = await live.agent("sam", role=Role.SUPERVISOR, online=False)
    alice = await live.agent("alice", preferred=2, max_load=3)  # online at 09:00:00
    bob = await live.agent("bob", online=False)
    inbox = await live.inbox()

    await at(live, 60)
    c1 = (await live.customer_says(inbox, "c1", "My order never arrived"))["conversation_id"]
    await at(live, 90)
    await live.reply(alice, c1, "Let me look into it.")  # 30 s: a first response
    await at(live, 300)
    said = await live.customer_says(inbox, "c2", "Can I change my delivery address?")
    c2 = said["conversation_id"]
    assert said["assigned_agent_id"] == alice.id  # her second at once
    await at(live, 360)
    await live.customer_says(inbox, "c1", "It was order 1234, placed on Monday")
    await at(live, 600)
    await live.reply(alice, c2, "Which address should it go to?")  # 300 s, late
    await at(live, 620)
    await live.reply(alice, c1, "It is on its way again.")  # 260 s: a late next response
    await at(live, 700)
    assert (await post(live, alice, f"{c1}/inactive"))["state"] == "inactive"
    await at(live, 720)
    await post(live, alice, f"{c2}/close")
    await at(live, 1000)
    back = await live.customer_says(inbox, "c1", "Any news about the courier?")
    assert back["assigned_agent_id"] == alice.id  # straight back to its owner
    await at(live, 1050)
    await live.reply(alice, c1, "It arrives tomorrow.")  # 50 s
    await at(live, 1100)
    await post(live, alice, f"{c1}/close")

    await at(live, 1900)
    await live.set_status(alice, "offline")
    await at(live, 2000)
    c3 = (await live.customer_says(inbox, "c3", "Is the shop open on Sunday?"))["conversation_id"]
    await at(live, 2050)
    c5 = (await live.customer_says(inbox, "c5", "Hello, I need help"))["conversation_id"]
    await at(live, 2200)
    await post(live, sam, f"{c5}/close")  # closed before anyone took it: abandoned
    async with live.stream(sam) as stream:
        # c3's respond-by passes (at 2240) and its breach is recorded before Bob comes:
        # a router skips a conversation the timer is holding.
        await at(live, 2300)
        while (await stream.next_event())["conversation_id"] != c3:
            pass
    await at(live, 2400)
    await live.set_status(bob, "online")  # takes c3 from the queue: 400 s in it
    await at(live, 2500)
    await live.reply(bob, c3, "Yes, from 10 to 16.")  # 500 s after the question
    await at(live, 2600)
    await post(live, bob, f"{c3}/close")
    await at(live, 3550)
    c4 = (await live.customer_says(inbox, "c4", "Where is my refund?"))["conversation_id"]
    await at(live, 3620)
    await live.reply(bob, c4, "It was sent yesterday.")  # 70 s, though after 10:00
    await at(live, 3700)
    return sam


async def test_a_reply_within_the_window_counts_toward_the_service_level(live: Live) -> None:
    sam = await a_morning(live)

    body = await report(
        live,
        sam,
        since=iso(START),
        until=iso(START + timedelta(hours=1)),
        interval=1800,
        window=120,
    )

    assert (body["since"], body["until"], body["queue"]) == (
        "2026-03-02T09:00:00Z",
        "2026-03-02T10:00:00Z",
        None,
    )
    assert (body["window_seconds"], body["interval_seconds"]) == (120, 1800)
    first, second = body["intervals"]
    expect(
        first,
        start_at="2026-03-02T09:00:00Z",
        end_at="2026-03-02T09:30:00Z",
        start=0,
        end=1800,
        # Waits: c1 30 s, c2 300 s, c1 again 260 s, c1 back 50 s.
        waits_judged=4,
        answered_in_window=2,
        service_level=0.5,
        first_response=dist(2, 165.0, 30.0, 300.0),
        next_response=dist(2, 155.0, 50.0, 260.0),
        sessions=2,
        queue_wait=dist(2, 0.0, 0.0, 0.0),
        abandoned=0,
        abandonment=0.0,
        inactive_rate=0.5,
        reactivation_rate=1.0,
        to_owner_rate=1.0,
        # Alice, online all of it, held c1 from 60 to 700 and 1000 to 1100, c2 from
        # 300 to 720: one or two for 760 s, 1160 conversation-seconds.
        occupancy=760 / 1800,
        concurrency=1160 / 760,
        online_agents=1.0,
    )
    expect(
        second,
        start=1800,
        end=3600,
        # c3 500 s, c5 never answered, c4 70 s (answered after the hour, in its window).
        waits_judged=3,
        answered_in_window=1,
        service_level=1 / 3,
        first_response=dist(2, 285.0, 70.0, 500.0),
        next_response=dist(0, None, None, None),
        sessions=3,
        queue_wait=dist(2, 200.0, 0.0, 400.0),
        abandoned=1,
        abandonment=1 / 3,
        inactive_rate=0.0,
        reactivation_rate=None,
        to_owner_rate=None,
        # Alice 100 s online; Bob 1200 s, holding one from 2400 to 2600 and from 3550.
        occupancy=250 / 1300,
        concurrency=1.0,
        online_agents=1300 / 1800,
    )
    expect(
        body["total"],
        start_at="2026-03-02T09:00:00Z",
        end_at="2026-03-02T10:00:00Z",
        waits_judged=7,
        answered_in_window=3,
        service_level=3 / 7,
        first_response=dist(4, 225.0, 70.0, 500.0),
        next_response=dist(2, 155.0, 50.0, 260.0),
        sessions=5,
        abandoned=1,
        abandonment=0.2,
        inactive_rate=0.2,
        reactivation_rate=1.0,
        to_owner_rate=1.0,
        occupancy=1010 / 3100,
        concurrency=1410 / 1010,
        online_agents=3100 / 3600,
    )


async def test_the_csv_export_has_a_row_per_interval_then_the_total(live: Live) -> None:
    sam = await a_morning(live)
    params: dict[str, Any] = {
        "since": iso(START),
        "until": iso(START + timedelta(hours=1)),
        "interval": 1800,
        "window": 120,
    }
    as_json = await report(live, sam, **params)

    r = await live.http.get(URL, params={**params, "format": "csv"}, headers=sam.headers)

    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        'attachment; filename="workforce-20260302T090000Z-20260302T100000Z.csv"'
    )
    header, *lines = list(csv.reader(io.StringIO(r.text)))
    # The simulator's intervals.csv columns: the plan and the day line up.
    figures = [k for k in as_json["total"] if k not in ("start_at", "end_at")]
    assert header == ["interval", "start_time", *figures]
    assert len(lines) == 3
    first, second, total = (dict(zip(header, line, strict=True)) for line in lines)
    assert [first["interval"], second["interval"], total["interval"]] == ["0", "1", "total"]
    assert [first["start_time"], second["start_time"], total["start_time"]] == [
        "2026-03-02T09:00:00+00:00",
        "2026-03-02T09:30:00+00:00",
        "",
    ]
    assert (second["start"], second["end"], total["start"], total["end"]) == (
        "1800.0",
        "3600.0",
        "0.0",
        "3600.0",
    )
    assert (first["waits_judged"], second["waits_judged"], total["waits_judged"]) == ("4", "3", "7")
    assert float(total["service_level"]) == 3 / 7
    assert float(total["occupancy"]) == 1010 / 3100
    assert (second["next_response_mean"], second["reactivation_rate"]) == ("", "")


async def test_a_conversation_held_before_the_period_counts_from_its_start(live: Live) -> None:
    sam = await a_morning(live)

    # From 09:10: c1 and c2 were Alice's already (assigned at 09:01 and 09:05).
    body = await report(
        live,
        sam,
        since=iso(START + timedelta(seconds=600)),
        until=iso(START + timedelta(seconds=1800)),
        interval=1200,
        window=120,
    )

    expect(
        body["total"],
        sessions=0,  # they began before the period
        waits_judged=1,  # only c1 coming back at 09:16:40
        occupancy=(120 + 100) / 1200,
        concurrency=(2 * 100 + 20 + 100) / 220,
        online_agents=1.0,
    )


async def test_a_queue_shows_its_own_waits_sessions_and_agents(live: Live) -> None:
    sam = await live.agent("sam", role=Role.SUPERVISOR, online=False, skills=())
    alice = await live.agent("alice")
    bob = await live.agent("bob", skills=("billing",))
    general = await live.inbox("Shop")
    billing = await live.inbox("Bills", queue="billing")
    await at(live, 60)
    c1 = (await live.customer_says(general, "c1", "Where is my parcel?"))["conversation_id"]
    await at(live, 100)
    c2 = (await live.customer_says(billing, "c2", "I was charged twice"))["conversation_id"]
    await at(live, 120)
    await live.reply(alice, c1, "Checking.")
    await at(live, 200)
    await post(live, alice, f"{c1}/close")
    await at(live, 400)
    await live.reply(bob, c2, "I see it, refunding one.")
    await at(live, 500)
    await post(live, bob, f"{c2}/close")
    await at(live, 1800)
    period = {"since": iso(START), "until": iso(START + timedelta(seconds=1800))}

    bills = await report(live, sam, **period, interval=1800, window=600, queue="Billing")
    everything = await report(live, sam, **period, interval=1800, window=600)

    assert bills["queue"] == "billing"
    expect(
        bills["total"],
        sessions=1,
        waits_judged=1,
        first_response=dist(1, 300.0, 300.0, 300.0),
        occupancy=400 / 1800,
        online_agents=1.0,
    )
    expect(
        everything["total"],
        sessions=2,
        waits_judged=2,
        first_response=dist(2, 180.0, 60.0, 300.0),
        occupancy=(140 + 400) / 3600,
        online_agents=2.0,
    )


async def test_a_conversation_held_since_long_before_is_found_in_its_history(
    live: Live,
) -> None:
    """Alice has held a conversation since 09:00, untouched since its breach at 09:16,
    and closes it at 16:30: nothing in the six hours before 16:00 says she held it.
    Carol was online all along and went offline only after the period; Dave came online
    after it."""
    sam = await live.agent("sam", role=Role.SUPERVISOR, online=False)
    alice = await live.agent("alice")
    carol = await live.agent("carol", skills=("billing",))
    dave = await live.agent("dave", online=False)
    inbox = await live.inbox()
    async with live.stream(alice) as stream:
        said = await live.customer_says(inbox, "c1", "My invoice is wrong")
        assert said["assigned_agent_id"] == alice.id
        await at(live, 16 * 60)
        await stream.events_until("conversation.respond_by_breached")
    await at(live, 7.5 * 3600)
    await post(live, alice, f"{said['conversation_id']}/close")
    await at(live, 8.5 * 3600)
    await live.set_status(carol, "offline")
    await live.set_status(dave, "online")
    await at(live, 8.75 * 3600)

    body = await report(
        live,
        sam,
        since=iso(START + timedelta(hours=7)),
        until=iso(START + timedelta(hours=8)),
        interval=3600,
    )

    expect(
        body["total"],
        sessions=0,
        waits_judged=0,
        occupancy=1800 / 7200,
        concurrency=1.0,
        online_agents=2.0,
    )


async def test_an_agent_may_not_read_the_report_and_nobody_without_a_token(
    live: Live,
) -> None:
    alice = await live.agent("alice")

    refused = await live.http.get(URL, headers=alice.headers)
    anonymous = await live.http.get(URL)

    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "forbidden"
    assert anonymous.status_code == 401
    assert anonymous.json()["error"]["code"] == "unauthenticated"


async def test_an_admin_reads_an_empty_day_by_default(live: Live) -> None:
    ada = await live.agent("ada", role=Role.ADMIN, online=False)

    body = await report(live, ada)

    assert (body["since"], body["until"]) == ("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z")
    assert len(body["intervals"]) == 48
    # The simulator's default target window, so that default reports compare.
    assert body["window_seconds"] == 120
    expect(body["total"], sessions=0, waits_judged=0, service_level=None, occupancy=None)


@pytest.mark.parametrize(
    ("query", "code", "field"),
    [
        ("since=2026-03-02T00:00:00", "invalid_input", "since"),
        ("until=2026-03-02T00:00:00", "invalid_input", "until"),
        ("interval=0", "validation_error", None),
        ("interval=inf", "validation_error", None),
        ("window=-60", "validation_error", None),
        ("window=nan", "validation_error", None),
        ("interval=1", "invalid_input", "interval"),  # 86,400 intervals in a day
        ("format=xml", "validation_error", None),
        ("queue=%00", "validation_error", None),
        ("since=2026-03-03T00:00:00Z&until=2026-03-02T00:00:00Z", "invalid_input", "until"),
        ("since=2026-01-01T00:00:00Z&until=2026-06-01T00:00:00Z", "invalid_input", "since"),
        # A week at most: the events are reduced in memory.
        ("since=2026-03-01T00:00:00Z&until=2026-03-08T00:00:01Z", "invalid_input", "since"),
        ("since=0001-01-01T00:30:00%2B01:00&until=2026-01-01T00:00:00Z", "invalid_input", "since"),
        ("until=9999-12-31T23:00:00-05:00", "invalid_input", "until"),
    ],
)
async def test_a_bad_report_request_is_refused_clearly(
    live: Live, query: str, code: str, field: str | None
) -> None:
    sam = await live.agent("sam", role=Role.SUPERVISOR, online=False)

    r = await live.http.get(f"{URL}?{query}", headers=sam.headers)

    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == code
    if field is not None:
        assert error["details"]["field"] == field
