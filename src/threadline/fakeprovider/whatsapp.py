"""The WhatsApp Business Cloud API: the messages endpoint, status webhooks, inbound messages."""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from threadline.fakeprovider import meta
from threadline.fakeprovider.core import FakeCore, as_dict, as_list, json_object, random_hex
from threadline.fakeprovider.state import SentMessage
from threadline.fakeprovider.webhooks import Webhook

WEBHOOK_PATH = "/webhooks/meta/whatsapp"
MAX_TEXT = 4096
# What a message that never reaches the phone fails with.
UNDELIVERABLE = 131026
MEDIA_TYPES = ("image", "audio", "video", "document", "sticker")
OTHER_TYPES = ("location", "contacts", "reaction")

error_shape = meta.error_shape_for((130429, "(#130429) Rate limit hit"))


def _wamid() -> str:
    return "wamid.HBgL" + base64.b64encode(secrets.token_bytes(27)).decode()


def _missing(details: str) -> JSONResponse:
    return meta.refuse(
        400,
        meta.graph_error(
            131008, "(#131008) Required parameter is missing", details=details, whatsapp=True
        ),
    )


def _not_valid(details: str) -> JSONResponse:
    return meta.refuse(
        400,
        meta.graph_error(
            131009, "(#131009) Parameter value is not valid", details=details, whatsapp=True
        ),
    )


class WhatsAppApi:
    def __init__(self, core: FakeCore) -> None:
        self.core = core

    def routes(self) -> list[BaseRoute]:
        return [Route("/{version}/{phone_number_id}/messages", self.send, methods=["POST"])]

    async def send(self, request: Request) -> Response:
        async def authorize() -> Response | None:
            return meta.authorize(self.core, request, query_token=False)

        async def process(key: str | None) -> Response:
            body = await json_object(request)
            if body is None:
                return meta.invalid("(#100) The request body must be a JSON object")
            return self._accept(request.path_params["phone_number_id"], body, key)

        return await self.core.send(
            request, "whatsapp", error_shape=error_shape, authorize=authorize, process=process
        )

    def _accept(self, phone_number_id: str, body: dict[str, Any], key: str | None) -> Response:
        if body.get("messaging_product") != "whatsapp":
            return meta.invalid("(#100) The parameter messaging_product is required.")
        to = body.get("to")
        if not isinstance(to, str) or not to:
            return meta.invalid("(#100) The parameter to is required.")
        wa_id = re.sub(r"\D", "", to)
        if not 7 <= len(wa_id) <= 15:
            return _not_valid(f"The recipient {to} is not a valid phone number")
        kind = body.get("type", "text")
        if not isinstance(kind, str):
            return _not_valid("type must be a string")
        content = as_dict(body.get(kind))
        text: str | None = None
        template: dict[str, Any] | None = None
        suggestions: list[str] | None = None
        media: list[str] = []
        if kind == "text":
            text = content.get("body")
            if not isinstance(text, str) or not text:
                return _missing("text.body is required")
            if len(text) > MAX_TEXT:
                return _not_valid(f"text.body must be at most {MAX_TEXT} characters")
        elif kind == "template":
            name = content.get("name")
            language = as_dict(content.get("language")).get("code")
            if not isinstance(name, str) or not isinstance(language, str):
                return _missing("template.name and template.language.code are required")
            template = {
                "name": name,
                "language": language,
                "components": content.get("components", []),
            }
        elif kind == "interactive":
            problem, text, suggestions = _interactive(content)
            if problem is not None:
                return problem
        elif kind in MEDIA_TYPES:
            if not content.get("link") and not content.get("id"):
                return _missing(f"{kind}.link or {kind}.id is required")
            media = [str(content.get("link") or content.get("id"))]
            caption = content.get("caption")
            text = caption if isinstance(caption, str) else None
        elif kind not in OTHER_TYPES:
            return _not_valid(f"Unsupported message type {kind!r}")

        wamid = _wamid()
        opaque = body.get("biz_opaque_callback_data")
        self.core.state.record(
            SentMessage(
                provider="whatsapp",
                id=wamid,
                to=to,
                from_=self.core.state.whatsapp_numbers.get(phone_number_id, phone_number_id),
                text=text,
                at=self.core.now(),
                template=template,
                suggestions=suggestions,
                media=media,
                idempotency_key=key,
                payload=body,
            )
        )
        self._statuses(
            phone_number_id,
            wamid,
            wa_id,
            to,
            opaque if isinstance(opaque, str) else None,
            template=template is not None,
        )
        sent: dict[str, Any] = {"id": wamid}
        if kind == "template":
            sent["message_status"] = "accepted"
        return JSONResponse(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": to, "wa_id": wa_id}],
                "messages": [sent],
            }
        )

    def _statuses(
        self,
        phone_number_id: str,
        wamid: str,
        wa_id: str,
        to: str,
        opaque: str | None,
        *,
        template: bool,
    ) -> None:
        state = self.core.state
        fails = to in state.undeliverable or wa_id in state.undeliverable
        category = "utility" if template else "service"
        conversation = random_hex(32)
        code = state.undeliverable.get(to) or state.undeliverable.get(wa_id) or UNDELIVERABLE

        def status(value: str) -> Webhook:
            entry: dict[str, Any] = {
                "id": wamid,
                "status": value,
                "timestamp": str(int(self.core.now().timestamp())),
                "recipient_id": wa_id,
            }
            if opaque is not None:
                entry["biz_opaque_callback_data"] = opaque
            if value != "failed":
                # A template opens a paid conversation; a reply within the customer's
                # window is free customer service.
                entry["conversation"] = {"id": conversation, "origin": {"type": category}}
                entry["pricing"] = {
                    "billable": category != "service",
                    "pricing_model": "PMP",
                    "category": category,
                }
            else:
                entry["errors"] = [
                    {
                        "code": code,
                        "title": "Message undeliverable",
                        "message": "Message undeliverable",
                        "error_data": {"details": "Message failed to send"},
                    }
                ]
            return meta.signed(
                self.core,
                f"whatsapp.status.{value}",
                WEBHOOK_PATH,
                envelope(self.core, phone_number_id, {"statuses": [entry]}),
            )

        steps = (
            [lambda: status("failed")]
            if fails
            else [
                lambda: status("sent"),
                lambda: status("delivered"),
            ]
        )
        self.core.webhooks.later(self.core.accounts.status_delay_seconds, steps)


def envelope(core: FakeCore, phone_number_id: str, value: dict[str, Any]) -> dict[str, Any]:
    """The webhook envelope around one change to one business phone number."""
    display = core.state.whatsapp_numbers.get(phone_number_id, phone_number_id)
    change = {
        "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": display, "phone_number_id": phone_number_id},
            **value,
        },
        "field": "messages",
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": core.accounts.whatsapp_business_account_id, "changes": [change]}],
    }


def _interactive(
    content: dict[str, Any],
) -> tuple[Response | None, str | None, list[str] | None]:
    """Checks an interactive message; gives its body text and the choices it offers."""
    text = as_dict(content.get("body")).get("text")
    action = as_dict(content.get("action"))
    kind = content.get("type")
    if not isinstance(text, str) or not text:
        return _missing("interactive.body.text is required"), None, None
    if kind == "button":
        buttons = action.get("buttons")
        if not isinstance(buttons, list) or not 1 <= len(buttons) <= 3:
            return _not_valid("interactive.action.buttons must hold 1 to 3 buttons"), None, None
        titles = [as_dict(as_dict(b).get("reply")).get("title") for b in buttons]
        if not all(isinstance(t, str) and 0 < len(t) <= 20 for t in titles):
            return _not_valid("each reply button needs a title of 1 to 20 characters"), None, None
        return None, text, [str(t) for t in titles]
    if kind == "list":
        sections = action.get("sections")
        if not isinstance(action.get("button"), str) or not isinstance(sections, list):
            return _missing("interactive.action.button and .sections are required"), None, None
        rows = [
            as_dict(row).get("title") for s in sections for row in as_list(as_dict(s).get("rows"))
        ]
        if not rows or len(rows) > 10:
            return _not_valid("a list offers 1 to 10 rows in all"), None, None
        return None, text, [str(r) for r in rows]
    if kind in ("cta_url", "flow", "product", "product_list", "location_request_message"):
        return None, text, None
    return _not_valid(f"Unsupported interactive type {kind!r}"), None, None


class ButtonReply(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    title: str


class WhatsAppInbound(BaseModel):
    model_config = ConfigDict(extra="forbid")
    phone_number_id: str
    display_phone_number: str
    from_: str = Field(alias="from")
    name: str = ""
    text: str | None = None
    button_reply: ButtonReply | None = None
    context_message_id: str | None = None
    """The wamid of the business message a reply answers (sent with button replies)."""
    message_id: str | None = None
    repeat: int = 1

    @model_validator(mode="after")
    def _one_content(self) -> WhatsAppInbound:
        if (self.text is None) == (self.button_reply is None):
            raise ValueError('give exactly one of "text" and "button_reply"')
        return self


def inbound_webhook(core: FakeCore, message: WhatsAppInbound) -> tuple[str, Webhook]:
    core.state.whatsapp_numbers[message.phone_number_id] = message.display_phone_number
    wa_id = re.sub(r"\D", "", message.from_)
    wamid = message.message_id or _wamid()
    item: dict[str, Any] = {
        "from": wa_id,
        "id": wamid,
        "timestamp": str(int(core.now().timestamp())),
    }
    if message.button_reply is not None:
        item["type"] = "interactive"
        item["interactive"] = {
            "type": "button_reply",
            "button_reply": message.button_reply.model_dump(),
        }
    else:
        item["type"] = "text"
        item["text"] = {"body": message.text}
    if message.context_message_id is not None:
        business = re.sub(r"\D", "", message.display_phone_number)
        item["context"] = {"from": business, "id": message.context_message_id}
    value = {
        "contacts": [{"profile": {"name": message.name}, "wa_id": wa_id}],
        "messages": [item],
    }
    payload = envelope(core, message.phone_number_id, value)
    return wamid, meta.signed(core, "whatsapp.inbound", WEBHOOK_PATH, payload)
