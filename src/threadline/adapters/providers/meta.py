"""What the WhatsApp Cloud API and Messenger share, both being Meta's Graph API: the
webhook envelope and its X-Hub-Signature-256, the verification handshake, reading
Meta's JSON defensively, and sorting the Graph API's error answers.

Webhook bodies are signed by Meta, but a signature says who sent a body, not that it
is well formed: every field is checked for its type before it is used, so a body of an
unexpected shape is refused with 400 (and stored nowhere), never a 500.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from threadline.adapters.providers.base import MalformedPayload, refused, retry_after
from threadline.adapters.providers.signing import meta_signature, same
from threadline.core.messages import MAX_BODY_CHARS
from threadline.core.outbox import Rejected, Retry, SendOutcome

SIGNATURE_HEADER = "X-Hub-Signature-256"
# Ids Meta gives to accounts, phone numbers, pages and apps: digits only.
ID_PATTERN = r"^[0-9]{5,20}$"
# The database's widths for what a webhook names (messages.external_id and
# customers.display_name).
MAX_EXTERNAL_ID = 255
MAX_NAME = 128

# Graph error codes that mean "not now": the app's, the account's and the number's
# rate limits, the Cloud API's throughput, the pair rate limit (WhatsApp), Messenger's
# call limit, and the service being temporarily unavailable.
RATE_LIMITED = frozenset({4, 613, 80007, 130429, 131056})
TEMPORARY = frozenset({2, 131016})
TOKEN_REFUSED = 190


# -- reading the webhook ------------------------------------------------------------


def envelope(raw: bytes, expected_object: str) -> list[dict[str, Any]]:
    """The entries of a webhook body: a JSON object naming the expected product."""
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise MalformedPayload("the body is not JSON") from exc
    body = obj(body, "the body")
    if body.get("object") != expected_object:
        raise MalformedPayload(
            f"object is not {expected_object!r}: this webhook is for another product",
            field="object",
        )
    return [obj(e, "entry[]") for e in lst(body.get("entry"), "entry")]


def obj(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MalformedPayload(f"{where} is not an object", field=where)
    return value


def lst(value: Any, where: str, *, optional: bool = False) -> list[Any]:
    if value is None and optional:
        return []
    if not isinstance(value, list):
        raise MalformedPayload(f"{where} is not a list", field=where)
    return value


def string(value: Any, where: str, *, max_chars: int = 4096) -> str:
    """A non-empty string that the database can hold: no NUL, no lone surrogate."""
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{where} is not a non-empty string", field=where)
    if len(value) > max_chars:
        raise MalformedPayload(f"{where} is longer than {max_chars} characters", field=where)
    if "\x00" in value:
        raise MalformedPayload(f"{where} contains a NUL character", field=where)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise MalformedPayload(f"{where} is not valid Unicode", field=where) from exc
    return value


def address(value: Any, where: str) -> str:
    """A customer's id on the channel (a wa_id, a page-scoped id): it becomes their
    identity's address, which holds no spaces or control characters."""
    found = string(value, where, max_chars=MAX_EXTERNAL_ID)
    if any(ch.isspace() or ord(ch) < 32 for ch in found):
        raise MalformedPayload(f"{where} is not an id", field=where)
    return found


def meta_id(value: Any, where: str) -> str:
    """An account, phone number or page id: digits, as Meta writes them (in a string)."""
    if not isinstance(value, str) or not re.fullmatch(ID_PATTERN, value):
        raise MalformedPayload(f"{where} is not a Meta id (a string of digits)", field=where)
    return value


def optional_string(value: Any, where: str, *, max_chars: int = 4096) -> str | None:
    return None if value is None or value == "" else string(value, where, max_chars=max_chars)


def text(value: Any, where: str) -> str:
    """A customer's words, as the thread can store them."""
    found = string(value, where, max_chars=MAX_BODY_CHARS)
    if not found.strip():
        raise MalformedPayload(f"{where} is blank", field=where)
    return found


def name(value: Any) -> str | None:
    """A profile name, when there is a usable one: a name the thread cannot hold is
    left out rather than the message refused, and a long one is cut to fit."""
    found = line(value, MAX_NAME)
    return found or None


def line(value: Any, max_chars: int) -> str | None:
    """Provider text shown as one line (a name, an error): control characters dropped,
    whitespace collapsed, cut to `max_chars`; None for what is not text."""
    if not isinstance(value, str):
        return None
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    try:
        cleaned.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return cleaned[:max_chars] or None


def number(value: Any, where: str) -> float:
    # bool is an int in Python, and never a coordinate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise MalformedPayload(f"{where} is not a number", field=where)
    try:
        return float(value)
    except OverflowError as exc:  # an int too large for a float
        raise MalformedPayload(f"{where} is out of range", field=where) from exc


# -- authenticating it ----------------------------------------------------------------


def signed_with(raw: bytes, signature: str, secret: str) -> bool:
    return same(signature, meta_signature(raw, secret))


def handshake_accepted(mode: str | None, token: str | None, known: Iterable[str]) -> bool:
    """The GET with which Meta checks a webhook URL: mode "subscribe" and the verify
    token the admin typed into the app's webhook settings. Every known token is
    compared, so the answer's timing does not tell which (or how many) there are."""
    matched = False
    for candidate in known:
        matched |= same(token, candidate)
    return mode == "subscribe" and matched


# -- the Graph API's answers ----------------------------------------------------------


@dataclass(frozen=True)
class GraphError:
    code: int | None
    subcode: int | None
    message: str

    def describe(self, label: str) -> str:
        if self.code is None:
            return f"{label} error: {self.message}"
        return f"{label} error {self.code}: {self.message}"


def graph_error(response: httpx.Response) -> GraphError:
    """The {"error": {...}} of a refused call. Titles and subcodes are being retired by
    Meta, so the code and the details (WhatsApp's error_data) carry the meaning."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return GraphError(None, None, response.reason_phrase or f"HTTP {response.status_code}")
    code = error.get("code")
    subcode = error.get("error_subcode")
    message = line(error.get("message"), 512) or response.reason_phrase
    data = error.get("error_data")
    details = line(data.get("details") if isinstance(data, dict) else data, 512)
    if details and details not in message:
        message = f"{message} ({details})"
    return GraphError(
        code if isinstance(code, int) and not isinstance(code, bool) else None,
        subcode if isinstance(subcode, int) and not isinstance(subcode, bool) else None,
        message,
    )


def refusal(response: httpx.Response, error: GraphError, label: str, token: str) -> SendOutcome:
    """What a refused send means, by the Graph error code first: Meta answers a rate
    limit with 400 as often as with 429. `token` names the secret a 190 is about."""
    text = error.describe(label)
    if error.code in RATE_LIMITED or error.code in TEMPORARY:
        return Retry(text, after=retry_after(response))
    if error.code == TOKEN_REFUSED:
        return Rejected(
            f"{label} error {TOKEN_REFUSED}: the {token} was refused (expired, revoked or "
            f"not for this account): {error.message}"
        )
    return refused(response, text)


def token_name(secret_name: str, part: str, what: str) -> str:
    """How an error names the token to renew: what it is and where it is set."""
    return f"{what} (THREADLINE_SECRET_{secret_name.upper()}_{part.upper()})"
