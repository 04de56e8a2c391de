"""Canned responses through the API: admins manage them, every agent reads them."""

from __future__ import annotations

import pytest

from tests.support.live import Live
from threadline.core.agents import Role


async def test_an_admin_adds_a_canned_response_and_agents_see_it(live: Live) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    alice = await live.agent("alice")
    r = await live.http.post(
        "/api/v1/canned-responses",
        json={"shortcut": "Refund", "text": "Your refund arrives within 5 working days."},
        headers=admin.headers,
    )
    assert r.status_code == 201, r.text
    assert r.json()["shortcut"] == "refund"

    listed = await live.http.get("/api/v1/canned-responses", headers=alice.headers)
    assert [(c["shortcut"], c["text"]) for c in listed.json()] == [
        ("refund", "Your refund arrives within 5 working days.")
    ]

    again = await live.http.post(
        "/api/v1/canned-responses", json={"shortcut": "refund", "text": "x"}, headers=admin.headers
    )
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "shortcut_taken"

    gone = await live.http.delete(
        f"/api/v1/canned-responses/{r.json()['id']}", headers=admin.headers
    )
    assert gone.status_code == 204
    listed = await live.http.get("/api/v1/canned-responses", headers=alice.headers)
    assert listed.json() == []
    missing = await live.http.delete(
        f"/api/v1/canned-responses/{r.json()['id']}", headers=admin.headers
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"shortcut": "has space", "text": "x"},
        {"shortcut": "-dash", "text": "x"},
        {"shortcut": "ok"},
    ],
)
async def test_bad_canned_responses_are_refused(live: Live, body: dict[str, str]) -> None:
    admin = await live.agent("admin", role=Role.ADMIN, online=False)
    r = await live.http.post("/api/v1/canned-responses", json=body, headers=admin.headers)
    assert r.status_code == 422, r.text
    listed = await live.http.get("/api/v1/canned-responses", headers=admin.headers)
    assert listed.json() == []


async def test_agents_cannot_write_canned_responses(live: Live) -> None:
    alice = await live.agent("alice")
    r = await live.http.post(
        "/api/v1/canned-responses", json={"shortcut": "hi", "text": "Hello!"}, headers=alice.headers
    )
    assert r.status_code == 403
