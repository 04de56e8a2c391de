"""Google's RCS Business Messaging: agentMessages, and the events and user messages RBM
pushes to the partner's webhook.

Webhook signature: Google's documented verification computes the HMAC-SHA512 over the
base64-decoded `message.data` (the event itself), not over the whole push body, so that
is what X-Goog-Signature covers here.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from http import HTTPStatus
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from threadline.adapters.providers.signing import rbm_signature
from threadline.fakeprovider.core import FakeCore, json_object
from threadline.fakeprovider.google_token import RBM_SCOPE, GoogleTokens
from threadline.fakeprovider.state import SentMessage
from threadline.fakeprovider.webhooks import Webhook

WEBHOOK_PATH = "/webhooks/google/rbm"
MAX_TEXT = 3072
MAX_SUGGESTIONS = 11
MAX_SUGGESTION_TEXT = 25
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
CONTENT_KINDS = ("text", "richCard", "contentInfo", "uploadedRbmFile")
_CANONICAL = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    409: "ALREADY_EXISTS",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
    504: "DEADLINE_EXCEEDED",
}


def error_shape(status: int) -> dict[str, Any]:
    return {
        "error": {
            "code": status,
            "message": HTTPStatus(status).phrase,
            "status": _CANONICAL.get(status, "UNKNOWN"),
        }
    }


def _refuse(status: int, message: str) -> JSONResponse:
    body = error_shape(status)
    body["error"]["message"] = message
    return JSONResponse(body, status_code=status)


def _rfc3339(core: FakeCore) -> str:
    return core.now().isoformat(timespec="microseconds").replace("+00:00", "Z")


def _suggestion_texts(suggestions: Any) -> list[str] | str:
    """The texts of the chips offered, or why they are refused."""
    if not isinstance(suggestions, list) or len(suggestions) > MAX_SUGGESTIONS:
        return f"contentMessage.suggestions must be a list of at most {MAX_SUGGESTIONS}"
    texts = []
    for item in suggestions:
        chip = item.get("reply") or item.get("action") if isinstance(item, dict) else None
        text = chip.get("text") if isinstance(chip, dict) else None
        if not isinstance(text, str) or not 0 < len(text) <= MAX_SUGGESTION_TEXT:
            return (
                "each suggestion needs a reply or an action whose text has "
                f"1 to {MAX_SUGGESTION_TEXT} characters"
            )
        texts.append(text)
    return texts


class RbmApi:
    def __init__(self, core: FakeCore, tokens: GoogleTokens) -> None:
        self.core = core
        self.tokens = tokens

    def routes(self) -> list[BaseRoute]:
        return [Route("/v1/phones/{msisdn}/agentMessages", self.send, methods=["POST"])]

    async def send(self, request: Request) -> Response:
        async def authorize() -> Response | None:
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or token not in self.tokens.issued:
                return _refuse(
                    401,
                    "Request had invalid authentication credentials. Expected OAuth 2 access "
                    "token, login cookie or other valid authentication credential.",
                )
            if not self.tokens.allows(token, RBM_SCOPE):
                expired = self.tokens.issued[token].expires <= self.core.now()
                if expired:
                    return _refuse(401, "Request had invalid authentication credentials.")
                return _refuse(403, "Request had insufficient authentication scopes.")
            return None

        async def process(key: str | None) -> Response:
            return await self._accept(request, key)

        return await self.core.send(
            request, "rbm", error_shape=error_shape, authorize=authorize, process=process
        )

    async def _accept(self, request: Request, key: str | None) -> Response:
        msisdn = request.path_params["msisdn"]
        message_id = request.query_params.get("messageId")
        agent_id = request.query_params.get("agentId") or self.core.accounts.rbm_agent_id
        if not _E164.match(msisdn):
            return _refuse(400, f"Invalid phone number: {msisdn}")
        if not message_id:
            return _refuse(400, "messageId is required")
        if message_id in self.core.state.rbm_message_ids:
            return _refuse(409, f"Requested entity already exists: {message_id}")
        body = await json_object(request)
        if body is None or not isinstance(body.get("contentMessage"), dict):
            return _refuse(400, "contentMessage is required")
        content: dict[str, Any] = body["contentMessage"]
        if sum(kind in content for kind in CONTENT_KINDS) != 1:
            return _refuse(400, f"contentMessage must hold exactly one of {CONTENT_KINDS}")
        text = content.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
            return _refuse(400, f"contentMessage.text must be at most {MAX_TEXT} characters")
        suggestions = _suggestion_texts(content.get("suggestions", []))
        if isinstance(suggestions, str):
            return _refuse(400, suggestions)

        self.core.state.rbm_message_ids.add(message_id)
        self.core.state.record(
            SentMessage(
                provider="rbm",
                id=message_id,
                to=msisdn,
                from_=agent_id,
                text=text,
                at=self.core.now(),
                suggestions=suggestions or None,
                idempotency_key=key,
                payload=body,
            )
        )
        if msisdn not in self.core.state.undeliverable:
            self.core.webhooks.later(
                self.core.accounts.status_delay_seconds,
                [lambda: self._delivered(msisdn, message_id, agent_id)],
            )
        answer: dict[str, Any] = {
            "name": f"phones/{msisdn}/agentMessages/{message_id}",
            "sendTime": _rfc3339(self.core),
            "contentMessage": content,
        }
        if "messageTrafficType" in body:
            answer["messageTrafficType"] = body["messageTrafficType"]
        return JSONResponse(answer)

    def _delivered(self, msisdn: str, message_id: str, agent_id: str) -> Webhook:
        event = {
            "senderPhoneNumber": msisdn,
            "eventType": "DELIVERED",
            "eventId": secrets.token_urlsafe(18),
            "messageId": message_id,
            "sendTime": _rfc3339(self.core),
            "agentId": agent_id,
        }
        attributes = {"event_type": "DELIVERED", "type": "event"}
        return push(self.core, "rbm.delivered", agent_id, event, attributes)


def push(
    core: FakeCore, kind: str, agent_id: str, event: dict[str, Any], attributes: dict[str, str]
) -> Webhook:
    """An event in the Pub/Sub push envelope RBM posts to the webhook."""
    data = json.dumps(event, indent=2).encode()
    pushed = _rfc3339(core)
    pubsub_id = str(secrets.randbelow(10**17))
    project = "rbm-" + agent_id.split("@")[0]
    body = {
        "message": {
            # Pub/Sub attributes, as RBM is seen to set them: not documented for every
            # event, so no client should depend on them.
            "attributes": {"business_id": agent_id, "product": "RBM", **attributes},
            "data": base64.b64encode(data).decode(),
            "messageId": pubsub_id,
            "message_id": pubsub_id,
            "publishTime": pushed,
            "publish_time": pushed,
        },
        "subscription": f"projects/{project}/subscriptions/rbm-agent-subscription",
    }
    return Webhook(
        kind=kind,
        url=core.accounts.webhook_url(WEBHOOK_PATH),
        body=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "X-Goog-Signature": rbm_signature(data, core.accounts.rbm_client_token),
        },
    )


class Suggestion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    postbackData: str  # RBM's own (camelCase) field name
    type: Literal["REPLY", "ACTION"] = "REPLY"


class RbmInbound(BaseModel):
    model_config = ConfigDict(extra="forbid")
    agent_id: str | None = None
    msisdn: str
    text: str | None = None
    suggestion: Suggestion | None = None
    message_id: str | None = None
    repeat: int = 1

    @model_validator(mode="after")
    def _one_content(self) -> RbmInbound:
        if (self.text is None) == (self.suggestion is None):
            raise ValueError('give exactly one of "text" and "suggestion"')
        return self


def inbound_webhook(core: FakeCore, message: RbmInbound) -> tuple[str, Webhook]:
    agent_id = message.agent_id or core.accounts.rbm_agent_id
    message_id = message.message_id or secrets.token_urlsafe(18)
    event: dict[str, Any] = {
        "senderPhoneNumber": message.msisdn,
        "messageId": message_id,
        "sendTime": _rfc3339(core),
        "agentId": agent_id,
    }
    if message.suggestion is not None:
        event["suggestionResponse"] = message.suggestion.model_dump()
        attributes = {"message_type": "SUGGESTION_RESPONSE", "type": "message"}
    else:
        event["text"] = message.text
        attributes = {"message_type": "TEXT", "type": "message"}
    return message_id, push(core, "rbm.inbound", agent_id, event, attributes)
