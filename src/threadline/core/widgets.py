"""The web chat widget of an inbox: how it looks, where it may be embedded, and the
identity a business may sign for its visitors (DESIGN.md §6, §7)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from threadline.core.customers import Identity
from threadline.core.errors import InvalidInput, Unauthenticated
from threadline.core.verification import Verification

_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# A business's customer id: their key, shown to agents as the customer's address.
_SUBJECT = re.compile(r"^[^\s\x00-\x1f]{1,200}$")
# A signed identity is a short-lived ticket to start or resume a chat, minted by the
# business's page when it renders: a day covers a page left open, and a stolen token
# cannot be replayed for longer.
MAX_IDENTITY_LIFETIME = timedelta(hours=24)
# Clocks of the business's server and ours disagree a little.
CLOCK_LEEWAY = timedelta(seconds=60)
MAX_ORIGINS = 50


@dataclass(frozen=True)
class WidgetLook:
    title: str = "Chat with us"
    greeting: str = "Hi! How can we help?"
    accent_color: str = "#1f4fd1"


@dataclass(frozen=True)
class Widget:
    inbox_id: uuid.UUID
    # Public: it is in the business's page source. It names the widget, it grants nothing.
    key: str
    look: WidgetLook
    # Sites allowed to embed the chat (scheme://host[:port]); empty: any site.
    allowed_origins: tuple[str, ...]
    identity_secret: str | None
    updated_at: datetime

    def allows(self, origin: str | None) -> bool:
        """Whether a page on `origin` may embed this chat (None: not a browser call)."""
        if not self.allowed_origins or origin is None:
            return True
        return origin.lower() in self.allowed_origins


def validate_look(title: str, greeting: str, accent_color: str) -> WidgetLook:
    title, greeting = title.strip(), greeting.strip()
    if not 1 <= len(title) <= 60:
        raise InvalidInput("a title is 1-60 characters", field="title")
    if len(greeting) > 500:
        raise InvalidInput("a greeting is at most 500 characters", field="greeting")
    if not _COLOUR.match(accent_color):
        raise InvalidInput("accent_color is a colour like #1f4fd1", field="accent_color")
    return WidgetLook(title, greeting, accent_color.lower())


def validate_origins(origins: list[str]) -> tuple[str, ...]:
    if len(origins) > MAX_ORIGINS:
        raise InvalidInput(f"at most {MAX_ORIGINS} origins", field="allowed_origins")
    cleaned = []
    for origin in origins:
        parts = urlsplit(origin.strip().lower())
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or parts.username
        ):
            raise InvalidInput(
                f"{origin!r} is not an origin like https://shop.example", field="allowed_origins"
            )
        cleaned.append(f"{parts.scheme}://{parts.netloc}")
    return tuple(dict.fromkeys(cleaned))


@dataclass(frozen=True)
class SignedIdentity:
    """Who the business says the visitor is, from a token its back end signed."""

    subject: str
    name: str | None
    email: str | None


def identity_from_claims(claims: Mapping[str, Any], now: datetime) -> SignedIdentity:
    """Check the claims of a token whose signature is already verified."""
    subject, exp = claims.get("sub"), claims.get("exp")
    if not isinstance(subject, str) or not _SUBJECT.match(subject):
        raise Unauthenticated(
            "the identity needs a 'sub' claim: the customer's id, 1-200 characters",
            code="invalid_identity",
        )
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        raise Unauthenticated("the identity needs an 'exp' claim", code="invalid_identity")
    expires = datetime.fromtimestamp(exp, tz=now.tzinfo)
    if expires + CLOCK_LEEWAY < now:
        raise Unauthenticated("the identity has expired", code="invalid_identity")
    if expires > now + MAX_IDENTITY_LIFETIME + CLOCK_LEEWAY:
        raise Unauthenticated(
            "the identity's 'exp' is more than 24 hours ahead: sign short-lived identities",
            code="invalid_identity",
        )
    return SignedIdentity(subject, _short(claims.get("name")), _short(claims.get("email")))


def _short(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = value.strip()
    return cleaned[:128] if cleaned else None


@dataclass(frozen=True)
class Visitor:
    """A browser chatting through a widget, as its visitor token names it."""

    inbox_id: uuid.UUID
    customer_id: uuid.UUID
    identity: Identity
    # What the visitor proved when the token was issued: a signed identity, or nothing.
    verification: Verification
