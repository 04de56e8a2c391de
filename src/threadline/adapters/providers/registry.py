"""The providers Threadline can send through, by name."""

from __future__ import annotations

from threadline.adapters.providers.apple import AppleBusiness
from threadline.adapters.providers.base import Provider
from threadline.adapters.providers.messenger import MessengerPage
from threadline.adapters.providers.rbm import RbmRcs
from threadline.adapters.providers.twilio import TwilioSms
from threadline.adapters.providers.whatsapp import WhatsAppCloud
from threadline.core.errors import InvalidInput

PROVIDERS: dict[str, Provider] = {
    p.name: p for p in (TwilioSms(), RbmRcs(), AppleBusiness(), WhatsAppCloud(), MessengerPage())
}


def provider(name: str) -> Provider:
    found = PROVIDERS.get(name)
    if found is None:
        raise InvalidInput(f"no provider {name!r}; one of {sorted(PROVIDERS)}", field="provider")
    return found
