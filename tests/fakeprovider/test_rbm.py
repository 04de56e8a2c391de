"""The fake's Google token endpoint, RBM agentMessages, and RBM webhooks."""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.fakeprovider.credentials import RBM_CLIENT_TOKEN, assertion, grant, rsa_key_pem
from tests.fakeprovider.receiver import Received, Receiver
from tests.fakeprovider.sends import send
from tests.support.clock import FakeClock
from threadline.adapters.providers.signing import rbm_signature
from threadline.fakeprovider import FakeAccounts, FakeProvider, serve_fake_provider

MSISDN = "+15557654321"
WEBHOOK = "/webhooks/google/rbm"


def agent_message(text: str = "Your order has shipped", **content: Any) -> dict[str, Any]:
    return {"contentMessage": {"text": text, **content}}


def event_of(posted: Received) -> dict[str, Any]:
    """The event a push carries, after checking its signature over the decoded data."""
    data = base64.b64decode(posted.json()["message"]["data"])
    assert posted.headers["x-goog-signature"] == rbm_signature(data, RBM_CLIENT_TOKEN)
    return dict(json.loads(data))


async def test_the_token_endpoint_grants_a_bearer_token_for_a_signed_assertion(
    http: httpx.AsyncClient, service_account_key: tuple[bytes, bytes]
) -> None:
    r = await grant(http, assertion(service_account_key[0]))

    assert r.status_code == 200
    assert r.json()["token_type"] == "Bearer"
    assert r.json()["expires_in"] == 3600
    assert r.json()["access_token"]


async def test_an_assertion_addressed_to_the_fakes_own_token_url_is_accepted(
    http: httpx.AsyncClient, fake: FakeProvider, service_account_key: tuple[bytes, bytes]
) -> None:
    own = assertion(service_account_key[0], aud=f"{fake.base_url}/oauth2/token")

    assert (await grant(http, own)).status_code == 200


@pytest.mark.parametrize(
    ("overrides", "other_key", "description"),
    [
        ({}, True, "Invalid JWT Signature."),
        ({"iss": "someone@else.iam.gserviceaccount.com"}, False, "account not found"),
        ({"aud": "https://example.test/token"}, False, "Failed audience check"),
        ({"iat": 1_000_000, "exp": 1_003_600}, False, "short-lived token"),
    ],
    ids=["signed-by-another-key", "unknown-account", "wrong-audience", "expired"],
)
async def test_an_assertion_that_does_not_hold_is_refused_as_an_invalid_grant(
    http: httpx.AsyncClient,
    service_account_key: tuple[bytes, bytes],
    overrides: dict[str, Any],
    other_key: bool,
    description: str,
) -> None:
    key = rsa_key_pem() if other_key else service_account_key
    r = await grant(http, assertion(key[0], **overrides))

    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant"
    assert description in r.json()["error_description"]


async def test_a_grant_of_another_type_is_refused_as_unsupported(http: httpx.AsyncClient) -> None:
    r = await http.post("/oauth2/token", data={"grant_type": "client_credentials"})

    assert r.status_code == 400
    assert r.json()["error"] == "unsupported_grant_type"


async def test_a_send_without_a_granted_token_is_refused_as_unauthenticated(
    http: httpx.AsyncClient, fake: FakeProvider
) -> None:
    r = await http.post(
        f"/v1/phones/{MSISDN}/agentMessages",
        params={"messageId": "m-1"},
        headers={"Authorization": "Bearer made-up"},
        json=agent_message(),
    )

    assert r.status_code == 401
    assert (r.json()["error"]["code"], r.json()["error"]["status"]) == (401, "UNAUTHENTICATED")
    assert fake.sent() == []


async def test_a_token_granted_for_another_scope_is_refused_as_permission_denied(
    http: httpx.AsyncClient, service_account_key: tuple[bytes, bytes]
) -> None:
    other_scope = assertion(
        service_account_key[0], scope="https://www.googleapis.com/auth/cloud-platform"
    )
    token = (await grant(http, other_scope)).json()["access_token"]

    r = await send(http, "rbm", rbm_token=token)

    assert (r.status_code, r.json()["error"]["status"]) == (403, "PERMISSION_DENIED")


async def test_a_granted_token_expires_an_hour_later_by_the_fakes_clock(
    accounts: FakeAccounts, service_account_key: tuple[bytes, bytes]
) -> None:
    clock = FakeClock()
    issued = int(clock().timestamp())
    grant_then = assertion(service_account_key[0], iat=issued, exp=issued + 3600)
    async with (
        serve_fake_provider(accounts, clock=clock) as fake,
        httpx.AsyncClient(base_url=fake.base_url, trust_env=False) as http,
    ):
        token = (await grant(http, grant_then)).json()["access_token"]
        fresh = await send(http, "rbm", rbm_token=token)
        clock.advance(3600)
        stale = await send(http, "rbm", rbm_token=token)

    assert (fresh.status_code, stale.status_code) == (200, 401)


async def test_a_send_answers_the_agent_message_and_a_delivered_event_follows(
    http: httpx.AsyncClient, fake: FakeProvider, receiver: Receiver, rbm_token: str
) -> None:
    suggestions = [{"reply": {"text": "Talk to an agent", "postbackData": "agent"}}]
    r = await http.post(
        f"/v1/phones/{MSISDN}/agentMessages",
        params={"messageId": "msg-1", "agentId": "acme@rbm.goog"},
        headers={"Authorization": f"Bearer {rbm_token}"},
        json=agent_message(suggestions=suggestions),
    )
    await fake.idle()

    assert r.status_code == 200
    assert r.json()["name"] == f"phones/{MSISDN}/agentMessages/msg-1"
    assert r.json()["contentMessage"]["text"] == "Your order has shipped"
    assert r.json()["sendTime"].endswith("Z")
    [sent] = fake.sent()
    assert (sent.provider, sent.id, sent.to, sent.suggestions) == (
        "rbm",
        "msg-1",
        MSISDN,
        ["Talk to an agent"],
    )
    [posted] = receiver.at(WEBHOOK)
    event = event_of(posted)
    assert event["eventType"] == "DELIVERED"
    assert (event["messageId"], event["senderPhoneNumber"], event["agentId"]) == (
        "msg-1",
        MSISDN,
        "acme@rbm.goog",
    )
    assert posted.json()["subscription"].startswith("projects/rbm-acme/")


async def test_a_message_id_used_before_is_refused_with_409_already_exists(
    http: httpx.AsyncClient, fake: FakeProvider, rbm_token: str
) -> None:
    send = {
        "url": f"/v1/phones/{MSISDN}/agentMessages",
        "params": {"messageId": "msg-1"},
        "headers": {"Authorization": f"Bearer {rbm_token}"},
    }
    first = await http.post(**send, json=agent_message())
    again = await http.post(**send, json=agent_message("Again"))

    assert first.status_code == 200
    assert again.status_code == 409
    assert again.json()["error"]["status"] == "ALREADY_EXISTS"
    assert again.json()["error"]["code"] == 409
    assert len(fake.sent()) == 1


async def test_a_send_without_content_is_refused_as_an_invalid_argument(
    http: httpx.AsyncClient, rbm_token: str
) -> None:
    r = await http.post(
        f"/v1/phones/{MSISDN}/agentMessages",
        params={"messageId": "msg-1"},
        headers={"Authorization": f"Bearer {rbm_token}"},
        json={"contentMessage": {}},
    )

    assert (r.status_code, r.json()["error"]["status"]) == (400, "INVALID_ARGUMENT")


async def test_an_inbound_text_is_pushed_in_the_pubsub_envelope_signed_over_its_data(
    fake: FakeProvider, receiver: Receiver
) -> None:
    result = await fake.inbound_rbm(msisdn=MSISDN, text="Where is my order?")

    assert result.status == 200
    [posted] = receiver.at(WEBHOOK)
    message = posted.json()["message"]
    assert message["messageId"]
    assert message["publishTime"].endswith("Z")
    event = event_of(posted)
    assert event["text"] == "Where is my order?"
    assert (event["senderPhoneNumber"], event["messageId"]) == (MSISDN, result.message_id)
    assert event["agentId"] == fake.accounts.rbm_agent_id


async def test_an_inbound_suggestion_tap_carries_its_postback_data(
    http: httpx.AsyncClient, receiver: Receiver
) -> None:
    r = await http.post(
        "/_fake/inbound/rbm",
        json={
            "agent_id": "acme@rbm.goog",
            "msisdn": MSISDN,
            "suggestion": {"text": "Talk to an agent", "postbackData": "agent"},
        },
    )

    assert r.status_code == 200
    event = event_of(receiver.at(WEBHOOK)[0])
    assert event["suggestionResponse"] == {
        "text": "Talk to an agent",
        "postbackData": "agent",
        "type": "REPLY",
    }
    assert "text" not in event
