"""The in-process handle on a running fake provider: the control API as typed calls."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from threadline.fakeprovider import inbound
from threadline.fakeprovider.behaviour import Behaviour, Mode
from threadline.fakeprovider.config import FakeAccounts
from threadline.fakeprovider.core import FakeCore, InboundResult
from threadline.fakeprovider.state import Provider, SentMessage
from threadline.fakeprovider.webhooks import Delivery


def _given(**fields: Any) -> dict[str, Any]:
    """Leaves out the arguments not given, so the models' defaults apply."""
    return {name: value for name, value in fields.items() if value is not None}


class FakeProvider:
    def __init__(self, base_url: str, core: FakeCore) -> None:
        self.base_url = base_url
        self._core = core

    @property
    def accounts(self) -> FakeAccounts:
        return self._core.accounts

    def sent(self, provider: Provider | None = None) -> list[SentMessage]:
        """Every accepted outbound message, oldest first."""
        return self._core.state.messages(provider)

    def deliveries(self) -> list[Delivery]:
        """Every webhook posted to Threadline, with its answer."""
        return list(self._core.webhooks.deliveries)

    def behave(
        self,
        mode: Mode,
        *,
        status: int = 500,
        times: int | None = None,
        delay_seconds: float = 1.0,
        provider: Provider | None = None,
        error: dict[str, Any] | None = None,
    ) -> Behaviour:
        behaviour = Behaviour(
            mode=mode,
            status=status,
            times=times,
            delay_seconds=delay_seconds,
            provider=provider,
            error=error,
        )
        self._core.behaviours.set(behaviour)
        return behaviour

    def undeliverable(self, to: str, error_code: int | None = None) -> None:
        """Sends to `to` from now on fail on their status callback (Twilio "undelivered",
        WhatsApp "failed"); Messenger and RBM send no delivery event for them."""
        self._core.state.undeliverable[to] = error_code

    def reset(self) -> None:
        self._core.reset()

    async def idle(self) -> None:
        """Returns once every status callback due has been posted."""
        await self._core.webhooks.idle()

    async def inbound_twilio(
        self,
        *,
        from_: str,
        to: str,
        body: str = "",
        media: Sequence[Mapping[str, str]] = (),
        account_sid: str | None = None,
        message_sid: str | None = None,
        messaging_service_sid: str | None = None,
        repeat: int = 1,
    ) -> InboundResult:
        data = _given(
            to=to,
            body=body,
            media=[dict(m) for m in media],
            account_sid=account_sid,
            message_sid=message_sid,
            messaging_service_sid=messaging_service_sid,
            repeat=repeat,
        )
        return await inbound.deliver(self._core, "twilio", {"from": from_, **data})

    async def inbound_whatsapp(
        self,
        *,
        phone_number_id: str,
        display_phone_number: str,
        from_: str,
        name: str = "",
        text: str | None = None,
        button_reply: Mapping[str, str] | None = None,
        context_message_id: str | None = None,
        message_id: str | None = None,
        repeat: int = 1,
    ) -> InboundResult:
        data = _given(
            phone_number_id=phone_number_id,
            display_phone_number=display_phone_number,
            name=name,
            text=text,
            button_reply=dict(button_reply) if button_reply is not None else None,
            context_message_id=context_message_id,
            message_id=message_id,
            repeat=repeat,
        )
        return await inbound.deliver(self._core, "whatsapp", {"from": from_, **data})

    async def inbound_messenger(
        self,
        *,
        page_id: str,
        psid: str,
        text: str,
        quick_reply_payload: str | None = None,
        mid: str | None = None,
        repeat: int = 1,
    ) -> InboundResult:
        data = _given(
            page_id=page_id,
            psid=psid,
            text=text,
            quick_reply_payload=quick_reply_payload,
            mid=mid,
            repeat=repeat,
        )
        return await inbound.deliver(self._core, "messenger", data)

    async def inbound_rbm(
        self,
        *,
        msisdn: str,
        text: str | None = None,
        suggestion: Mapping[str, str] | None = None,
        agent_id: str | None = None,
        message_id: str | None = None,
        repeat: int = 1,
    ) -> InboundResult:
        data = _given(
            msisdn=msisdn,
            text=text,
            suggestion=dict(suggestion) if suggestion is not None else None,
            agent_id=agent_id,
            message_id=message_id,
            repeat=repeat,
        )
        return await inbound.deliver(self._core, "rbm", data)

    async def inbound_apple(
        self,
        *,
        business_id: str,
        customer_id: str,
        text: str,
        locale: str | None = None,
        message_id: str | None = None,
        repeat: int = 1,
    ) -> InboundResult:
        data = _given(
            business_id=business_id,
            customer_id=customer_id,
            text=text,
            locale=locale,
            message_id=message_id,
            repeat=repeat,
        )
        return await inbound.deliver(self._core, "apple", data)
