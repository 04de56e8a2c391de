"""The external bot webhook protocol: what Threadline POSTs to a business's own bot
(Rasa, Botpress, in-house) and what it accepts back (docs/bots-protocol.md).

The bot is someone else's code on someone else's server: its answer is read as
untrusted input, every key checked, and anything off refused with the path to the
mistake, so the service can hand the customer to a human saying why.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal
from urllib.parse import urlsplit

from threadline.core.agents import validate_skill
from threadline.core.bots.outcome import BotAnswer, Finish, HandoffReason, HandTo, Reply
from threadline.core.errors import InvalidInput
from threadline.core.messages import storable

PROTOCOL_VERSION = 1

TurnEvent = Literal["message", "routine"]
Sender = Literal["customer", "bot", "agent", "system"]

# Enough for the bot to pick up a thread it did not see start (an agent's handback,
# a bot restarted without state), small enough to post on every message.
TRANSCRIPT_LIMIT = 20

# Limits on an answer: generous for any real bot, small enough that a runaway one
# cannot flood a customer's chat or the collected fields.
MAX_MESSAGES = 10
MAX_TEXT = 4096
MAX_SUGGESTIONS = 10
MAX_SUGGESTION = 64
MAX_FIELDS = 30
MAX_FIELD_VALUE = 500
MAX_ACTIONS = 10
MAX_REASON = 500
MAX_INTENT = 64

_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# As a provider connection's secret name (service.connections): the environment holds
# THREADLINE_SECRET_<NAME>_..., so the same names work for both.
_SECRET_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
MIN_TIMEOUT, MAX_TIMEOUT = 0.5, 30.0
MAX_URL = 2048


@dataclass(frozen=True)
class TurnMessage:
    """The customer's message the bot is asked about."""

    id: str
    seq: int
    text: str
    received_at: datetime


@dataclass(frozen=True)
class TranscriptLine:
    sender: Sender
    text: str
    at: datetime


@dataclass(frozen=True)
class ExternalTurn:
    """One call to the bot: a customer's message while the bot has the conversation,
    or (`routine`) an agent handing the conversation to the bot for a routine."""

    event: TurnEvent
    # The same on a retry: the bot answers a repeated key from its own record.
    idempotency_key: str
    conversation_id: str
    session_id: str
    inbox_id: str
    channel: str
    customer_id: str
    customer_name: str | None
    verification: str
    language: str | None
    message: TurnMessage | None
    fields: Mapping[str, str] = field(default_factory=dict)
    # The session's latest messages, oldest first (at most TRANSCRIPT_LIMIT are sent).
    transcript: tuple[TranscriptLine, ...] = ()
    routine: str | None = None


@dataclass(frozen=True)
class ExternalBotConfig:
    url: str
    timeout: float
    # The environment holds the signing secret under this name.
    secret_name: str


def _iso(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("protocol times are aware datetimes")
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def request_body(turn: ExternalTurn) -> dict[str, object]:
    """The JSON the bot receives (docs/bots-protocol.md shows one in full)."""
    message = turn.message
    return {
        "version": PROTOCOL_VERSION,
        "event": turn.event,
        "idempotency_key": turn.idempotency_key,
        "conversation_id": turn.conversation_id,
        "session_id": turn.session_id,
        "inbox_id": turn.inbox_id,
        "channel": turn.channel,
        "customer": {
            "id": turn.customer_id,
            "name": turn.customer_name,
            "verification": turn.verification,
            "language": turn.language,
        },
        "message": None
        if message is None
        else {
            "id": message.id,
            "seq": message.seq,
            "text": message.text,
            "received_at": _iso(message.received_at),
        },
        "fields": dict(turn.fields),
        "transcript": [
            {"sender": line.sender, "text": line.text, "at": _iso(line.at)}
            for line in turn.transcript[-TRANSCRIPT_LIMIT:]
        ],
        "routine": turn.routine,
    }


# --- the answer ---------------------------------------------------------------------


def _refuse(path: str, problem: str) -> InvalidInput:
    return InvalidInput(f"{path}: {problem}", field=path)


def _object(value: object, path: str, allowed: frozenset[str]) -> Mapping[object, object]:
    if not isinstance(value, Mapping):
        raise _refuse(path, "must be an object")
    unknown = sorted(key if isinstance(key, str) else repr(key) for key in value.keys() - allowed)
    if unknown:
        raise _refuse(path, f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    return value


def _list(value: object, path: str, most: int) -> list[object]:
    if not isinstance(value, list | tuple):
        raise _refuse(path, "must be a list")
    if len(value) > most:
        raise _refuse(path, f"at most {most} items, not {len(value)}")
    return list(value)


def _text(value: object, path: str, most: int, *, strip: bool = True) -> str:
    if not isinstance(value, str):
        raise _refuse(path, "must be a string")
    if not storable(value):
        raise _refuse(path, "holds a NUL or an invalid character")
    text = value.strip() if strip else value
    if strip and not text:
        raise _refuse(path, "must not be empty")
    if len(text) > most:
        raise _refuse(path, f"at most {most} characters, not {len(text)}")
    return text


def _optional_text(data: Mapping[object, object], key: str, path: str, most: int) -> str | None:
    value = data.get(key)
    return None if value is None else _text(value, f"{path}.{key}", most)


def _reply(value: object, path: str) -> Reply:
    data = _object(value, path, frozenset({"text", "suggestions"}))
    if "text" not in data:
        raise _refuse(f"{path}.text", "is required")
    text = _text(data["text"], f"{path}.text", MAX_TEXT)
    suggestions = data.get("suggestions")
    if suggestions is None:
        return Reply(text)
    items = _list(suggestions, f"{path}.suggestions", MAX_SUGGESTIONS)
    return Reply(
        text,
        tuple(
            _text(item, f"{path}.suggestions[{i}]", MAX_SUGGESTION) for i, item in enumerate(items)
        ),
    )


def _fields(value: object, path: str, into: dict[str, str]) -> None:
    if not isinstance(value, Mapping):
        raise _refuse(path, "must be an object")
    for name, raw in value.items():
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            raise _refuse(
                path, f"{name!r} is not a field name (a-z, then up to 63 of a-z, 0-9 or _)"
            )
        into[name] = _text(raw, f"{path}.{name}", MAX_FIELD_VALUE, strip=False)
        if len(into) > MAX_FIELDS:
            raise _refuse(path, f"at most {MAX_FIELDS} fields in an answer")


def _confidence(value: object, path: str) -> float | None:
    if value is None:
        return None
    # bool is an int to Python, not a confidence; a huge int is no float at all.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _refuse(path, "must be a number from 0 to 1")
    if isinstance(value, int):
        if value not in (0, 1):
            raise _refuse(path, "must be a number from 0 to 1")
        return float(value)
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise _refuse(path, "must be a number from 0 to 1")
    return value


def _handoff(data: Mapping[object, object], path: str) -> HandTo:
    said = _optional_text(data, "reason", path, MAX_REASON)
    try:
        reason = HandoffReason(said) if said is not None else HandoffReason.FLOW
        detail = None
    except ValueError:
        # A reason of the bot's own words: the report counts it as the flow's decision
        # and the desk shows the words.
        reason, detail = HandoffReason.FLOW, said
    skill = data.get("skill")
    if skill is not None:
        if not isinstance(skill, str):
            raise _refuse(f"{path}.skill", "must be a string")
        try:
            skill = validate_skill(skill)
        except InvalidInput as exc:
            raise _refuse(f"{path}.skill", exc.message) from None
    return HandTo(
        reason,
        skill=skill,
        intent=_optional_text(data, "intent", path, MAX_INTENT),
        confidence=_confidence(data.get("confidence"), f"{path}.confidence"),
        detail=detail,
        summary=_optional_text(data, "summary", path, MAX_TEXT),
    )


_ACTION_KEYS = {
    "set_fields": frozenset({"type", "fields"}),
    "handoff": frozenset({"type", "reason", "intent", "confidence", "skill", "summary"}),
    "close": frozenset({"type"}),
}


def parse_answer(data: object) -> BotAnswer:
    """The bot's JSON answer as a BotAnswer, or InvalidInput naming the bad path.
    `{}` is a valid answer: the bot has nothing to say to this message."""
    answer = _object(data, "answer", frozenset({"messages", "actions"}))
    raw_messages = answer.get("messages")
    messages = [] if raw_messages is None else _list(raw_messages, "messages", MAX_MESSAGES)
    replies = tuple(_reply(item, f"messages[{i}]") for i, item in enumerate(messages))
    raw_actions = answer.get("actions")
    actions = [] if raw_actions is None else _list(raw_actions, "actions", MAX_ACTIONS)
    fields: dict[str, str] = {}
    end: HandTo | Finish | None = None
    for i, item in enumerate(actions):
        path = f"actions[{i}]"
        if not isinstance(item, Mapping):
            raise _refuse(path, "must be an object")
        kind = item.get("type")
        if not isinstance(kind, str) or kind not in _ACTION_KEYS:
            raise _refuse(f"{path}.type", f"must be one of {', '.join(_ACTION_KEYS)}")
        action = _object(item, path, _ACTION_KEYS[kind])
        if kind == "set_fields":
            if "fields" not in action:
                raise _refuse(f"{path}.fields", "is required")
            _fields(action["fields"], f"{path}.fields", fields)
            continue
        if end is not None:
            raise _refuse(path, "an answer ends the bot's part once: one handoff or close")
        end = _handoff(action, path) if kind == "handoff" else Finish()
    return BotAnswer(replies, fields, end)


# --- configuration ------------------------------------------------------------------


def make_external_bot_config(
    url: object, timeout: object, secret_name: object
) -> ExternalBotConfig:
    """An inbox's external bot settings, checked: where to POST, how long to wait,
    and the name under which the environment holds the signing secret."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or not url.isprintable():
        raise InvalidInput(f"the bot's URL is 1-{MAX_URL} printable characters", field="url")
    if any(c.isspace() for c in url):
        raise InvalidInput("the bot's URL has no spaces", field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError:
        raise InvalidInput("not a URL", field="url") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("the bot's URL is http:// or https:// with a host", field="url")
    if parts.username is not None or parts.password is not None:
        # The signature authenticates Threadline; a password in the URL would be shown
        # wherever the settings are.
        raise InvalidInput("put no credentials in the bot's URL", field="url")
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int | float)
        or not math.isfinite(timeout)
        or not MIN_TIMEOUT <= timeout <= MAX_TIMEOUT
    ):
        raise InvalidInput(
            f"the bot's timeout is {MIN_TIMEOUT:g} to {MAX_TIMEOUT:g} seconds", field="timeout"
        )
    if not isinstance(secret_name, str) or not _SECRET_NAME.fullmatch(secret_name):
        raise InvalidInput(
            "a secret name is a letter then up to 63 letters, digits or _", field="secret_name"
        )
    return ExternalBotConfig(url, float(timeout), secret_name)
