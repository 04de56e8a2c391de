"""Customers writing in: one entry point for every provider's inbound webhook, used by
the control API (JSON) and the in-process handle alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from threadline.fakeprovider import apple, messenger, rbm, twilio, whatsapp
from threadline.fakeprovider.core import FakeCore, InboundResult
from threadline.fakeprovider.state import Provider
from threadline.fakeprovider.webhooks import Webhook


def build(core: FakeCore, provider: Provider, data: Mapping[str, Any]) -> tuple[str, Webhook, int]:
    """The signed webhook for `data` (validated; pydantic.ValidationError if it is not
    right), its provider message id, and how many times to post it."""
    if provider == "twilio":
        t = twilio.TwilioInbound.model_validate(data)
        return (*twilio.inbound_webhook(core, t), t.repeat)
    if provider == "whatsapp":
        w = whatsapp.WhatsAppInbound.model_validate(data)
        return (*whatsapp.inbound_webhook(core, w), w.repeat)
    if provider == "messenger":
        m = messenger.MessengerInbound.model_validate(data)
        return (*messenger.inbound_webhook(core, m), m.repeat)
    if provider == "rbm":
        r = rbm.RbmInbound.model_validate(data)
        return (*rbm.inbound_webhook(core, r), r.repeat)
    a = apple.AppleInbound.model_validate(data)
    return (*apple.inbound_webhook(core, a), a.repeat)


async def deliver(core: FakeCore, provider: Provider, data: Mapping[str, Any]) -> InboundResult:
    message_id, webhook, repeat = build(core, provider, data)
    return InboundResult(message_id, await core.deliver(webhook, repeat))
