"""Misbehaving on demand: errors, outages, slowness and hangs."""

from __future__ import annotations

import httpx
import pytest

from tests.fakeprovider.sends import PROVIDERS, send
from threadline.fakeprovider import FakeProvider


@pytest.mark.parametrize(
    ("provider", "expected"),
    [
        ("twilio", {"code": 20503, "status": 503}),
        ("whatsapp", {"code": 2, "type": "OAuthException"}),
        ("messenger", {"code": 2, "type": "OAuthException"}),
        ("rbm", {"code": 503, "status": "UNAVAILABLE"}),
    ],
)
async def test_error_answers_the_status_in_the_providers_error_shape(
    http: httpx.AsyncClient, fake: FakeProvider, provider: str, expected: dict[str, object]
) -> None:
    fake.behave("error", status=503)

    r = await send(http, provider)

    assert r.status_code == 503
    body = r.json()
    shape = body if provider == "twilio" else body["error"]
    assert {name: shape[name] for name in expected} == expected
    assert fake.sent() == []


async def test_apple_errors_carry_no_body(http: httpx.AsyncClient, fake: FakeProvider) -> None:
    fake.behave("error", status=500)

    r = await send(http, "apple")

    assert (r.status_code, r.content) == (500, b"")


@pytest.mark.parametrize(
    ("provider", "status", "code"), [("twilio", 429, 20429), ("whatsapp", 429, 130429)]
)
async def test_rate_limiting_uses_the_providers_own_code(
    http: httpx.AsyncClient, fake: FakeProvider, provider: str, status: int, code: int
) -> None:
    fake.behave("error", status=status)

    body = (await send(http, provider)).json()

    assert (body if provider == "twilio" else body["error"])["code"] == code


async def test_an_error_body_given_is_answered_verbatim(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    custom = {"code": 30007, "message": "Carrier violation", "status": 400}
    fake.behave("error", status=400, error=custom)

    r = await send(http, "twilio")

    assert (r.status_code, r.json()) == (400, custom)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_down_answers_503_with_no_body_and_records_nothing(
    http: httpx.AsyncClient, fake: FakeProvider, provider: str
) -> None:
    fake.behave("down")

    r = await send(http, provider)

    assert (r.status_code, r.content) == (503, b"")
    assert fake.sent() == []


async def test_times_limits_a_behaviour_to_the_next_requests(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    fake.behave("down", times=2)

    statuses = [(await send(http, "twilio")).status_code for _ in range(3)]

    assert statuses == [503, 503, 201]
    assert len(fake.sent()) == 1


async def test_a_behaviour_for_one_provider_leaves_the_others_alone(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    fake.behave("down", provider="whatsapp")

    assert (await send(http, "whatsapp")).status_code == 503
    assert (await send(http, "twilio")).status_code == 201


async def test_a_provider_behaviour_wins_over_one_for_every_provider(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    fake.behave("down")
    fake.behave("error", status=429, provider="messenger")

    assert (await send(http, "messenger")).status_code == 429
    assert (await send(http, "whatsapp")).status_code == 503


async def test_ok_for_every_provider_makes_every_provider_healthy_again(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    fake.behave("down", provider="twilio")
    fake.behave("down")
    fake.behave("ok")

    assert (await send(http, "twilio")).status_code == 201
    assert (await send(http, "whatsapp")).status_code == 200


async def test_delay_answers_correctly_after_waiting(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    fake.behave("delay", delay_seconds=0.1)

    r = await send(http, "whatsapp")

    assert r.status_code == 200
    assert fake.sent()[0].id == r.json()["messages"][0]["id"]


async def test_hang_records_the_send_though_the_client_gives_up_and_a_keyed_retry_replays_it(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    fake.behave("hang", delay_seconds=0.6, times=1)
    with pytest.raises(httpx.TimeoutException):
        await send(http, "whatsapp", key="retry-1", timeout=0.2)

    # The retry waits for the first request's key, so this also sees it recorded.
    retry = await send(http, "whatsapp", key="retry-1")

    assert retry.status_code == 200
    [sent] = fake.sent()
    assert retry.json()["messages"][0]["id"] == sent.id


async def test_the_control_api_sets_and_shows_behaviours(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    r = await http.post(
        "/_fake/behaviour", json={"mode": "error", "status": 500, "provider": "rbm", "times": 1}
    )

    assert r.status_code == 200
    [shown] = (await http.get("/_fake/behaviour")).json()
    assert (shown["mode"], shown["provider"], shown["times"]) == ("error", "rbm", 1)
    assert (await send(http, "rbm")).status_code == 500
    assert (await http.get("/_fake/behaviour")).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "explode"},
        {"mode": "error", "status": 200},
        {"mode": "down", "provider": "telegram"},
        {"mode": "down", "error": {"x": 1}},
        {"mode": "down", "times": 0},
    ],
)
async def test_a_behaviour_that_makes_no_sense_is_refused(
    http: httpx.AsyncClient, body: dict[str, object]
) -> None:
    r = await http.post("/_fake/behaviour", json=body)

    assert r.status_code == 422
    assert (await http.get("/_fake/behaviour")).json() == []
