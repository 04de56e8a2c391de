"""The web chat widget of an inbox: how it looks, where it may be embedded, and the
identity a business may sign for its visitors (DESIGN.md §6, §7)."""

from __future__ import annotations

import contextlib
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from threadline.core.customers import Identity
from threadline.core.errors import InvalidInput, Unauthenticated
from threadline.core.messages import storable
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
    return tuple(dict.fromkeys(_origin(origin) for origin in origins))


# An origin as browsers send it: scheme, an ASCII (punycode) host, an optional port. It
# goes into a Content-Security-Policy header, so nothing else may get through.
_LABEL = r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_ORIGIN = re.compile(
    rf"^(?P<scheme>https?)://(?P<host>{_LABEL}(?:\.{_LABEL})*)(?::(?P<port>\d{{1,5}}))?$"
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_KEY = re.compile(r"^wk_[A-Za-z0-9_-]{1,61}$")
_APP_KEY = re.compile(r"^ak_[A-Za-z0-9_-]{1,61}$")


def _origin(origin: str) -> str:
    text = origin.strip().lower()
    scheme, _, rest = text.partition("://")
    host, colon, port = rest.rstrip("/").partition(":")
    with contextlib.suppress(UnicodeError):  # not IDNA: refused below
        text = f"{scheme}://{host.encode('idna').decode('ascii')}{colon}{port}"
    match = _ORIGIN.match(text)
    number = int(match["port"]) if match and match["port"] else None
    if match is None or (number is not None and not 0 < number < 65536):
        raise InvalidInput(
            f"{origin!r} is not an origin like https://shop.example", field="allowed_origins"
        )
    scheme, host = match["scheme"], match["host"]
    if number is None or number == _DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}"
    return f"{scheme}://{host}:{number}"


def is_widget_key(key: str) -> bool:
    """Keys are made by Threadline; anything else names no widget (and is not looked up)."""
    return bool(_KEY.match(key))


def is_app_key(key: str) -> bool:
    """As `is_widget_key`, for in-app chat keys."""
    return bool(_APP_KEY.match(key))


@dataclass(frozen=True)
class AppChannel:
    """An in-app chat inbox: how its business signs its customers' identities."""

    inbox_id: uuid.UUID
    # Public: it ships inside the business's app. It names the inbox, it grants nothing.
    key: str
    # "HS256" or "RS256", pinned: a token that names another algorithm is refused.
    algorithm: str
    # HS256: the secret is THREADLINE_SECRET_<NAME>_IDENTITY_SECRET in the environment.
    secret_name: str | None
    # RS256: the business's public key (PEM); it signs with the private half.
    public_key: str | None
    updated_at: datetime


@dataclass(frozen=True)
class SignedIdentity:
    """Who the business says the visitor is, from a token its back end signed."""

    subject: str
    name: str | None
    email: str | None
    expires_at: datetime
    # A phone number the business verified (OIDC `phone_number` with
    # `phone_number_verified: true`), E.164: the customer's SMS and WhatsApp identities.
    phone: str | None = None


def identity_from_claims(
    claims: Mapping[str, Any], now: datetime, *, expired_code: str = "invalid_identity"
) -> SignedIdentity:
    """Check the claims of a token whose signature is already verified. An expired
    identity is refused with `expired_code`: an app signs a fresh one on seeing it."""
    subject, exp = claims.get("sub"), claims.get("exp")
    if not isinstance(subject, str) or not _SUBJECT.match(subject) or not storable(subject):
        raise Unauthenticated(
            "the identity needs a 'sub' claim: the customer's id, 1-200 characters",
            code="invalid_identity",
        )
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not math.isfinite(exp):
        raise Unauthenticated("the identity needs a numeric 'exp' claim", code="invalid_identity")
    # Compared as numbers first: a date out of datetime's range is no date at all.
    if not now.timestamp() - 10**9 < exp < now.timestamp() + 10**9:
        raise Unauthenticated(
            "the identity's 'exp' is not a date near now", code="invalid_identity"
        )
    expires = datetime.fromtimestamp(exp, tz=now.tzinfo)
    if expires + CLOCK_LEEWAY < now:
        raise Unauthenticated("the identity has expired", code=expired_code)
    if expires > now + MAX_IDENTITY_LIFETIME + CLOCK_LEEWAY:
        raise Unauthenticated(
            "the identity's 'exp' is more than 24 hours ahead: sign short-lived identities",
            code="invalid_identity",
        )
    return SignedIdentity(
        subject,
        _short(claims.get("name")),
        _short(claims.get("email")),
        expires,
        _verified_phone(claims),
    )


_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def _verified_phone(claims: Mapping[str, Any]) -> str | None:
    """The E.164 number of OIDC's `phone_number` when `phone_number_verified` is true.
    A number with an extension, or that is not E.164 once spaces and punctuation are
    gone, names no SMS or WhatsApp identity for sure: it is ignored, not refused."""
    phone = claims.get("phone_number")
    if claims.get("phone_number_verified") is not True or not isinstance(phone, str):
        return None
    cleaned = re.sub(r"[\s().-]", "", phone[:64])
    return cleaned if _E164.match(cleaned) else None


def phone_identities(phone: str | None) -> tuple[Identity, ...]:
    """The identities a verified phone number has on the phone-number channels."""
    if phone is None:
        return ()
    return (Identity("sms", phone), Identity("whatsapp", phone.removeprefix("+")))


def _short(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:128] if cleaned else None


@dataclass(frozen=True)
class Visitor:
    """A browser chatting through a widget, as its visitor token names it."""

    inbox_id: uuid.UUID
    customer_id: uuid.UUID
    identity: Identity
    # What the visitor proved when the token was issued: a signed identity, or nothing.
    verification: Verification
    # A signed identity proves who the visitor is until it expires; the token lasts
    # longer, but after this its messages prove only what the channel does.
    verified_until: datetime | None = None

    @classmethod
    def signed(cls, inbox_id: uuid.UUID, customer_id: uuid.UUID, who: SignedIdentity) -> Visitor:
        """The customer a business signed an identity for: `app:<their id>`, verified
        until the identity expires."""
        return cls(
            inbox_id,
            customer_id,
            Identity("app", who.subject),
            Verification.VERIFIED,
            who.expires_at,
        )

    def proof(self, now: datetime) -> Verification | None:
        """What this visitor's messages prove now, beyond the channel (None: nothing)."""
        if self.verification is Verification.VERIFIED and (
            self.verified_until is not None and now < self.verified_until
        ):
            return Verification.VERIFIED
        return None

    def same_as(self, other: Visitor) -> bool:
        return (self.inbox_id, self.customer_id, self.identity, self.verification) == (
            other.inbox_id,
            other.customer_id,
            other.identity,
            other.verification,
        )
