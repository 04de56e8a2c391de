"""The Messenger Platform's Send API, delivery webhooks and inbound messages.

Which page a send comes from: a real page access token names its page. The fake keeps
one token list for all of Meta, so it takes the page from the recipient instead: a PSID
is page-scoped, and the page a customer wrote to (`inbound_messenger`) is the one that
answers; a PSID never seen is answered from `FakeAccounts.messenger_page_id`.
"""

from __future__ import annotations

import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from threadline.fakeprovider import meta
from threadline.fakeprovider.core import FakeCore, as_dict, json_object
from threadline.fakeprovider.state import SentMessage
from threadline.fakeprovider.webhooks import Webhook

WEBHOOK_PATH = "/webhooks/meta/messenger"
MAX_TEXT = 2000
MAX_QUICK_REPLIES = 13
MESSAGING_TYPES = ("RESPONSE", "UPDATE", "MESSAGE_TAG")
TAGS = ("CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE", "ACCOUNT_UPDATE", "HUMAN_AGENT")
SENDER_ACTIONS = ("typing_on", "typing_off", "mark_seen")

error_shape = meta.error_shape_for((613, "(#613) Calls to this api have exceeded the rate limit."))


def _mid() -> str:
    return "m_" + secrets.token_urlsafe(48)


class MessengerApi:
    def __init__(self, core: FakeCore) -> None:
        self.core = core

    def routes(self) -> list[BaseRoute]:
        return [Route("/{version}/me/messages", self.send, methods=["POST"])]

    async def send(self, request: Request) -> Response:
        async def authorize() -> Response | None:
            return meta.authorize(self.core, request, query_token=True)

        async def process(key: str | None) -> Response:
            body = await json_object(request)
            if body is None:
                return meta.invalid("(#100) The request body must be a JSON object")
            return self._accept(body, key)

        return await self.core.send(
            request, "messenger", error_shape=error_shape, authorize=authorize, process=process
        )

    def _accept(self, body: dict[str, Any], key: str | None) -> Response:
        psid = as_dict(body.get("recipient")).get("id")
        if not isinstance(psid, str) or not psid:
            return meta.invalid("(#100) The parameter recipient is required")
        if body.get("sender_action") is not None:
            # Typing indicators and read marks are not messages: no id, nothing recorded.
            if body["sender_action"] not in SENDER_ACTIONS:
                return meta.invalid(
                    "(#100) Param sender_action must be one of " + str(SENDER_ACTIONS)
                )
            return JSONResponse({"recipient_id": psid})
        messaging_type = body.get("messaging_type")
        if messaging_type not in MESSAGING_TYPES:
            return meta.invalid(
                "(#100) param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"
            )
        tag = body.get("tag")
        if messaging_type == "MESSAGE_TAG" and tag not in TAGS:
            return meta.invalid("(#100) Param tag must be a valid message tag")
        message = as_dict(body.get("message"))
        text = message.get("text")
        attachment = as_dict(message.get("attachment"))
        if not text and not attachment:
            return meta.invalid("(#100) Must send either message or state")
        if text is not None and (not isinstance(text, str) or len(text) > MAX_TEXT):
            return meta.invalid(
                f"(#100) Length of param message[text] must be less than or equal to {MAX_TEXT}"
            )
        quick = message.get("quick_replies", [])
        if not isinstance(quick, list) or len(quick) > MAX_QUICK_REPLIES:
            return meta.invalid(
                f"(#100) param message[quick_replies] must have at most {MAX_QUICK_REPLIES} items"
            )
        titles = [
            as_dict(q).get("title") for q in quick if as_dict(q).get("content_type") == "text"
        ]
        if not all(isinstance(t, str) and 0 < len(t) <= 20 for t in titles):
            return meta.invalid("(#100) a text quick reply needs a title of 1 to 20 characters")
        url = as_dict(attachment.get("payload")).get("url")

        mid = _mid()
        page = self.core.state.messenger_pages.get(psid, self.core.accounts.messenger_page_id)
        self.core.state.record(
            SentMessage(
                provider="messenger",
                id=mid,
                to=psid,
                from_=page,
                text=text,
                at=self.core.now(),
                tag=tag if isinstance(tag, str) else None,
                suggestions=[str(t) for t in titles] or None,
                media=[url] if isinstance(url, str) else [],
                idempotency_key=key,
                payload=body,
            )
        )
        if psid not in self.core.state.undeliverable:
            self.core.webhooks.later(
                self.core.accounts.status_delay_seconds,
                [lambda: _delivery(self.core, page, psid, mid)],
            )
        return JSONResponse({"recipient_id": psid, "message_id": mid})


def _envelope(core: FakeCore, page: str, event: dict[str, Any]) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [{"id": page, "time": meta.epoch_ms(core), "messaging": [event]}],
    }


def _delivery(core: FakeCore, page: str, psid: str, mid: str) -> Webhook:
    # The watermark says every message sent before that instant was delivered.
    event = {
        "sender": {"id": psid},
        "recipient": {"id": page},
        "timestamp": meta.epoch_ms(core),
        "delivery": {"mids": [mid], "watermark": meta.epoch_ms(core)},
    }
    return meta.signed(core, "messenger.delivery", WEBHOOK_PATH, _envelope(core, page, event))


class MessengerInbound(BaseModel):
    model_config = ConfigDict(extra="forbid")
    page_id: str
    psid: str
    text: str
    quick_reply_payload: str | None = None
    """Set when the customer tapped a quick reply (whose title is `text`)."""
    mid: str | None = None
    repeat: int = 1


def inbound_webhook(core: FakeCore, message: MessengerInbound) -> tuple[str, Webhook]:
    core.state.messenger_pages[message.psid] = message.page_id
    mid = message.mid or _mid()
    content: dict[str, Any] = {"mid": mid, "text": message.text}
    if message.quick_reply_payload is not None:
        content["quick_reply"] = {"payload": message.quick_reply_payload}
    event = {
        "sender": {"id": message.psid},
        "recipient": {"id": message.page_id},
        "timestamp": meta.epoch_ms(core),
        "message": content,
    }
    payload = _envelope(core, message.page_id, event)
    return mid, meta.signed(core, "messenger.inbound", WEBHOOK_PATH, payload)
