"""Listing notifications pages through a batch whose rows share one creation time: each
row once, none skipped, by the last row's time and id."""

from __future__ import annotations

from tests.support.channels import World
from tests.support.proactive import FRAUD_CHECK, customer, put_template

# 10:00 in New York: inside the default contact window.
MORNING = 15 * 3600


async def test_a_batch_is_listed_page_by_page_each_notification_once(world: World) -> None:
    live, admin = world.live, world.admin
    live.clock.advance(MORNING - 9 * 3600)
    await world.connected_inbox("sms")
    await put_template(live, admin, "card_fraud_check", FRAUD_CHECK)
    people = [await customer(live, admin, [("sms", f"+1555010{i:04d}")]) for i in range(7)]
    rows = "".join(f"{c},$1.00,ACME\n" for c in people)
    r = await live.http.post(
        "/api/v1/notifications/batches?template=card_fraud_check",
        content="customer_id,amount,merchant\n" + rows,
        headers={**admin.headers, "content-type": "text/csv"},
    )
    assert r.status_code == 201, r.text
    batch_id = r.json()["batch_id"]

    seen: list[str] = []
    params: dict[str, str | int] = {"batch_id": batch_id, "limit": 3}
    for _ in range(4):
        r = await live.http.get("/api/v1/notifications", params=params, headers=admin.headers)
        assert r.status_code == 200, r.text
        page = r.json()
        if not page:
            break
        assert len({n["created_at"] for n in page}) == 1  # one upload, one time
        seen += [n["id"] for n in page]
        params |= {"before": page[-1]["created_at"], "before_id": page[-1]["id"]}
    assert len(seen) == 7
    assert len(set(seen)) == 7
    assert sorted(await _customers_of(world, seen)) == sorted(people)


async def _customers_of(world: World, ids: list[str]) -> list[str]:
    found = []
    for notification_id in ids:
        r = await world.live.http.get(
            f"/api/v1/notifications/{notification_id}", headers=world.admin.headers
        )
        assert r.status_code == 200, r.text
        found.append(r.json()["customer_id"])
    return found


async def test_a_page_by_id_alone_is_refused_naming_what_is_missing(world: World) -> None:
    r = await world.live.http.get(
        "/api/v1/notifications",
        params={"before_id": "00000000-0000-4000-8000-000000000000"},
        headers=world.admin.headers,
    )
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["details"]["field"] == "before"
    assert "before_id needs before" in error["message"]
