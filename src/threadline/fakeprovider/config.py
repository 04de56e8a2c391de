"""The accounts and secrets the fake provider holds, as each real provider would."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from threadline.core.time import require_utc

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)


def now_utc(clock: Clock) -> datetime:
    return require_utc(clock(), "fake provider clock")


@dataclass(frozen=True)
class FakeAccounts:
    webhook_base: str
    """Threadline's base URL, e.g. "http://127.0.0.1:8000": webhooks go to paths under it."""
    twilio: dict[str, str]
    """AccountSid -> auth token."""
    meta_app_secret: str
    """Signs WhatsApp and Messenger webhooks."""
    meta_access_tokens: frozenset[str]
    """Bearer tokens the Graph API accepts (WhatsApp system-user and Messenger page tokens)."""
    rbm_client_token: str
    """Signs RBM webhooks (X-Goog-Signature)."""
    rbm_service_accounts: dict[str, str]
    """client_email -> PEM public key, to verify the JWT-bearer grant at the token endpoint."""
    apple_csp_id: str
    apple_secret_b64: str
    status_delay_seconds: float = 0.05
    """How long after accepting a message its status callbacks go out."""
    whatsapp_business_account_id: str = "102290129340398"
    """The `entry[].id` of WhatsApp webhooks: Meta names the business account there."""
    messenger_page_id: str = "105525358456337"
    """The page a Messenger send comes from when its recipient never wrote in (a PSID is
    page-scoped, so a recipient seen by `inbound_messenger` keeps the page it wrote to)."""
    rbm_agent_id: str = "threadline_fake_agent@rbm.goog"
    """The agent named in RBM events when a send did not say (`agentId` is optional)."""
    twilio_pool_number: str = "+15005550006"
    """The sender a Twilio Messaging Service picks when a send names no From."""

    def __post_init__(self) -> None:
        if not self.webhook_base.startswith(("http://", "https://")):
            raise ValueError("webhook_base must be an http(s) URL")
        if self.status_delay_seconds < 0:
            raise ValueError("status_delay_seconds must not be negative")

    def webhook_url(self, path: str) -> str:
        return self.webhook_base.rstrip("/") + path
