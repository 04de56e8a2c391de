"""Notification templates: parsed from what the API receives, validated on save with
every problem reported at once, then rendered per recipient.

A template has variables, one variant per (language, channel) — channel None serves any
channel without its own variant — and the replies it understands. WhatsApp only takes
approved templates outside its 24-hour window and Messenger only tagged messages, so
those channels need their own variant naming the template or tag; a channel-less variant
never serves them. What texts and replies may say is in core/proactive/content.py.

Customer values are data: rendering is plain substitution into the text as parsed, so a
value containing "{other}" stays literal.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from threadline.core.agents import validate_skill
from threadline.core.customers import CHANNELS, validate_channel
from threadline.core.errors import InvalidInput
from threadline.core.proactive import content
from threadline.core.proactive.content import MalformedText
from threadline.core.proactive.purposes import Purpose
from threadline.core.proactive.sms import segments
from threadline.core.suggest import misspellings


class ReplyAction(enum.StrEnum):
    RESOLVE = "resolve"
    HANDOFF = "handoff"
    WEBHOOK = "webhook"


# Messenger's message tags that fit notifications (the others are for other uses).
MESSENGER_TAGS = frozenset({"ACCOUNT_UPDATE", "CONFIRMED_EVENT_UPDATE", "POST_PURCHASE_UPDATE"})
# Channels a channel-less variant cannot serve: each needs its own, provider-approved form.
_OWN_VARIANT_CHANNELS = frozenset({"whatsapp", "messenger"})
DEFAULT_MAX_SEGMENTS = 3
MAX_REPLIES, MAX_WORDS = 10, 10
MAX_VARIABLES, MAX_VARIANTS, MAX_TEXT = 50, 100, 4096
MAX_EXPIRY_SECONDS = 30 * 24 * 3600

_TEMPLATE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_LANGUAGE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})*")
_PROVIDER_TEMPLATE = re.compile(r"[a-z0-9_]{1,512}")  # WhatsApp's rule for template names
_LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


@dataclass(frozen=True)
class Variable:
    name: str
    example: str  # what the save-time SMS segment check fills in
    max_length: int = 100


@dataclass(frozen=True)
class Variant:
    language: str
    channel: str | None  # None: any channel without its own variant
    text: str
    provider_template: str | None = None  # WhatsApp's approved template name
    tag: str | None = None  # Messenger's message tag
    max_segments: int | None = None  # when sent by SMS; None: DEFAULT_MAX_SEGMENTS

    @property
    def segment_limit(self) -> int:
        return self.max_segments or DEFAULT_MAX_SEGMENTS


@dataclass(frozen=True)
class ExpectedReply:
    words: tuple[str, ...]
    action: ReplyAction
    queue: str | None = None  # HANDOFF only: the queue (skill) to open the conversation to
    answer: str | None = None  # sent back to the customer


@dataclass(frozen=True)
class NotificationTemplate:
    name: str
    purpose: Purpose
    variables: tuple[Variable, ...]
    variants: tuple[Variant, ...]
    replies: tuple[ExpectedReply, ...] = ()
    webhook_url: str | None = None
    expires_after: timedelta | None = None  # not sent at all if this late after its due time
    sender: str | None = None


@dataclass(frozen=True)
class Rendered:
    text: str
    provider_template: str | None
    parameters: tuple[str, ...]  # values by first appearance: WhatsApp's {{1}}, {{2}}…
    tag: str | None
    language: str
    segments: int | None  # when sent by SMS


# -- parsing ---------------------------------------------------------------------------------


class _Problems:
    def __init__(self) -> None:
        self.found: list[tuple[str, str]] = []
        self.suggestions: dict[int, str] = {}  # by index in found: "did you mean"

    def add(self, field: str, message: str, suggestion: str | None = None) -> None:
        if suggestion is not None:
            self.suggestions[len(self.found)] = suggestion
        self.found.append((field, message))

    def raise_any(self, what: str) -> None:
        if self.found:
            listing = "; ".join(f"{f}: {m}" for f, m in self.found)
            count = len(self.found)
            problems: list[dict[str, str]] = [{"field": f, "message": m} for f, m in self.found]
            for i, suggestion in self.suggestions.items():
                problems[i]["suggestion"] = suggestion
            raise InvalidInput(
                listing if count == 1 else f"{what} have {count} problems: {listing}",
                field=self.found[0][0],
                problems=problems,
            )


class _Reader:
    """One JSON object's fields, with problems reported under `path`."""

    def __init__(self, p: _Problems, doc: object, path: str, keys: tuple[str, ...]) -> None:
        self.p, self.path, self.ok = p, path, isinstance(doc, dict)
        self.doc: dict[str, object] = doc if isinstance(doc, dict) else {}
        if not self.ok:
            p.add(path or "template", "must be a JSON object")
        for key in (k for k in self.doc if k not in keys):
            close = difflib.get_close_matches(str(key), keys, n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(keys)}"
            p.add(self.at(str(key)), f"unknown field {key!r}; {hint}")

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def text(self, key: str, limit: int, *, required: bool = True) -> str | None:
        value = self.doc.get(key)
        if value is None:
            if required:
                self.p.add(self.at(key), "is required")
        elif not isinstance(value, str) or not value.strip() or len(value) > limit:
            self.p.add(self.at(key), f"must be text of 1-{limit} characters")
        elif content.has_controls(value):
            self.p.add(self.at(key), "must not contain control characters other than newline")
        else:
            return value
        return None

    def number(self, key: str, low: int, high: int) -> int | None:
        value = self.doc.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            self.p.add(self.at(key), f"must be a whole number from {low} to {high}")
            return None
        return value

    def choice(self, key: str, choices: frozenset[str]) -> str | None:
        """One of `choices`, or None; reporting is the caller's (it knows why)."""
        value = self.doc.get(key)
        return value if isinstance(value, str) and value in choices else None

    def items(self, key: str, most: int, *, required: bool = True) -> list[object]:
        value, least = self.doc.get(key), 1 if required else 0
        if value is None and not required:
            return []
        if not isinstance(value, list) or not least <= len(value) <= most:
            self.p.add(self.at(key), f"must be a list of {least} to {most} items")
            return []
        return value


_TEMPLATE_KEYS = (
    *("name", "purpose", "variables", "variants", "replies"),
    *("webhook_url", "expires_after_seconds", "sender"),
)


def parse_template(doc: object) -> NotificationTemplate:
    """The template `doc` describes, or InvalidInput listing every problem in it (the
    first one's path as `field`, all of them as `problems`)."""
    p = _Problems()
    r = _Reader(p, doc, "", _TEMPLATE_KEYS)
    if not r.ok:
        p.raise_any("the template's fields")
    name = r.text("name", 64)
    if name is not None and not _TEMPLATE_NAME.fullmatch(name):
        p.add("name", "must be 1-64 letters, digits, '_', '.' or '-'")
    found = r.choice("purpose", frozenset(Purpose))
    purpose = None if found is None else Purpose(found)
    if purpose is None:
        p.add("purpose", f"must be one of {', '.join(Purpose)}")
    raw = r.items("variables", MAX_VARIABLES, required=False)
    variables = [_variable(p, d, f"variables[{i}]") for i, d in enumerate(raw)]
    # Declared even by a variable with another problem: no "undeclared" noise for it.
    declared = {
        d.get("name") for d in raw if isinstance(d, dict) and isinstance(d.get("name"), str)
    }
    raw = r.items("variants", MAX_VARIANTS)
    variants = [_variant(p, d, f"variants[{i}]") for i, d in enumerate(raw)]
    raw = r.items("replies", MAX_REPLIES, required=False)
    replies = [_reply(p, d, f"replies[{i}]") for i, d in enumerate(raw)]
    webhook_url = r.text("webhook_url", 2048, required=False)
    if webhook_url is not None and (problem := _webhook_problem(webhook_url)):
        p.add("webhook_url", problem)
    if webhook_url is None and any(x and x.action is ReplyAction.WEBHOOK for x in replies):
        p.add("webhook_url", "is required: a reply calls the webhook")
    seconds = r.number("expires_after_seconds", 60, MAX_EXPIRY_SECONDS)
    sender = r.text("sender", 64, required=False)
    if sender is not None and "\n" in sender:
        p.add("sender", "must be one line")
    if purpose is not None and (problem := content.sender_problem(purpose, sender)):
        p.add("sender", problem)
    _check_variants(p, purpose, sender, variables, declared, variants)
    _check_replies(p, replies)
    p.raise_any("the template's fields")
    assert name is not None
    assert purpose is not None
    return NotificationTemplate(
        name=name,
        purpose=purpose,
        variables=tuple(v for v in variables if v),
        variants=tuple(v for v in variants if v),
        replies=tuple(x for x in replies if x),
        webhook_url=webhook_url,
        expires_after=None if seconds is None else timedelta(seconds=seconds),
        sender=sender,
    )


def _variable(p: _Problems, doc: object, path: str) -> Variable | None:
    r, before = _Reader(p, doc, path, ("name", "example", "max_length")), len(p.found)
    if not r.ok:
        return None
    name, example = r.text("name", 32), r.text("example", 1000)
    max_length = r.number("max_length", 1, 1000) or 100
    if name is not None and not content.VARIABLE_NAME.fullmatch(name):
        p.add(r.at("name"), "must start with a-z, then up to 31 of a-z, 0-9 or '_'")
    if example is not None and len(example) > max_length:
        p.add(r.at("example"), f"is longer than max_length ({max_length})")
    if len(p.found) > before or name is None or example is None:
        return None
    return Variable(name, example, max_length)


def _variant(p: _Problems, doc: object, path: str) -> Variant | None:
    keys = ("language", "channel", "text", "provider_template", "tag", "max_segments")
    r = _Reader(p, doc, path, keys)
    if not r.ok:
        return None
    language, text = r.text("language", 35), r.text("text", MAX_TEXT)
    if language is not None and not _LANGUAGE.fullmatch(language):
        p.add(r.at("language"), "must be a language tag like 'en', 'es' or 'pt-BR'")
    channel = r.choice("channel", CHANNELS)
    if r.doc.get("channel") is not None and channel is None:
        p.add(r.at("channel"), f"must be one of {', '.join(sorted(CHANNELS))}, or null")
    provider_template = r.text("provider_template", 512, required=False)
    if channel == "whatsapp" and r.doc.get("provider_template") is None:
        p.add(
            r.at("provider_template"),
            "a WhatsApp variant needs its approved template's name: outside its 24-hour "
            "window WhatsApp only delivers approved templates",
        )
    if provider_template is not None and channel != "whatsapp":
        p.add(r.at("provider_template"), "is for WhatsApp variants only")
    elif provider_template is not None and not _PROVIDER_TEMPLATE.fullmatch(provider_template):
        p.add(r.at("provider_template"), "must be WhatsApp's name for it: a-z, 0-9 and '_'")
    tag = r.choice("tag", MESSENGER_TAGS)
    if channel == "messenger" and tag is None:
        p.add(r.at("tag"), f"a Messenger variant needs one of {', '.join(sorted(MESSENGER_TAGS))}")
    elif channel != "messenger" and r.doc.get("tag") is not None:
        p.add(r.at("tag"), "is for Messenger variants only")
    max_segments = r.number("max_segments", 1, 10)
    if r.doc.get("max_segments") is not None and channel not in content.SMS_CHANNELS:
        p.add(r.at("max_segments"), "is for variants that can be sent by SMS only")
    # Partial but with its text, for the text's own checks (never returned to a caller:
    # the problems found here fail the parse).
    if language is None or text is None or (channel is None and r.doc.get("channel") is not None):
        return None
    return Variant(language, channel, text, provider_template, tag, max_segments)


def _reply(p: _Problems, doc: object, path: str) -> ExpectedReply | None:
    r = _Reader(p, doc, path, ("words", "action", "queue", "answer"))
    if not r.ok:
        return None
    words: list[str] = []
    for i, word in enumerate(r.items("words", MAX_WORDS)):
        if problem := content.reply_word_problem(word):
            p.add(f"{r.at('words')}[{i}]", problem)
        else:
            words.append(" ".join(str(word).split()))
    found = r.choice("action", frozenset(ReplyAction))
    action = None if found is None else ReplyAction(found)
    if action is None:
        p.add(r.at("action"), f"must be one of {', '.join(ReplyAction)}")
    queue = r.text("queue", 64, required=False)
    if action is ReplyAction.HANDOFF and r.doc.get("queue") is None:
        p.add(r.at("queue"), "a handoff reply needs the queue to open the conversation to")
    if queue is not None and action is not ReplyAction.HANDOFF:
        p.add(r.at("queue"), "is for handoff replies only")
    elif queue is not None:
        try:
            queue = validate_skill(queue)
        except InvalidInput as error:
            p.add(r.at("queue"), error.message.replace("a skill", "a queue"))
    answer = r.text("answer", 1000, required=False)
    # Partial (for the checks across replies) where only its action is sure.
    return None if action is None else ExpectedReply(tuple(words), action, queue, answer)


def _webhook_problem(url: str) -> str | None:
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "is not a valid URL"
    if any(c.isspace() for c in url) or not host:
        return "must be an absolute URL with a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry a user name or password"
    if parts.scheme == "https" or (parts.scheme == "http" and host in _LOCAL_HOSTS):
        return None  # http:// for tests and the demo only
    return "must use https:// (http:// only for localhost)"


def _check_variants(
    p: _Problems,
    purpose: Purpose | None,
    sender: str | None,
    variables: list[Variable | None],
    declared: set[object],
    variants: list[Variant | None],
) -> None:
    seen: dict[tuple[str, str | None], int] = {}
    used: set[str] = set()
    # The "unused variable" check needs every text read.
    all_read = all(variants)
    for i, v in enumerate(variants):
        if v is None:
            continue
        at, label = f"variants[{i}]", f"variant {i} ({v.language}, {v.channel or 'any channel'})"
        key = (v.language.casefold(), v.channel)
        if key in seen:
            p.add(at, f"{label} repeats variants[{seen[key]}]: one per language and channel")
        seen.setdefault(key, i)
        try:
            parts = content.pieces(v.text)
        except MalformedText as error:
            p.add(f"{at}.text", f"{label}: {error}")
            all_read = False
            continue
        names = set(content.slot_names(parts))
        used |= names
        problems = [f"{{{name}}} is not a declared variable" for name in sorted(names - declared)]
        if purpose is not None:
            problems += content.variant_problems(purpose, sender, v.language, v.channel, v.text)
        if v.channel in content.SMS_CHANNELS and names <= declared and all(variables):
            examples = {x.name: x.example for x in variables if x}
            longest = {x.name: x.max_length for x in variables if x}
            problems += content.segment_problems(parts, examples, longest, v.segment_limit)
        for problem in problems:
            p.add(f"{at}.text", f"{label}: {problem}")
    first: dict[str, int] = {}
    for j, variable in enumerate(variables):
        if variable is None:
            continue
        if variable.name in first:
            p.add(
                f"variables[{j}].name",
                f"{variable.name!r} repeats variables[{first[variable.name]}]",
            )
        elif all_read and variable.name not in used:
            p.add(f"variables[{j}].name", f"{variable.name!r} is used by no variant")
        first.setdefault(variable.name, j)


def _check_replies(p: _Problems, replies: list[ExpectedReply | None]) -> None:
    owner: dict[str, str] = {}
    for i, reply in enumerate(replies):
        for j, word in enumerate(reply.words if reply else ()):
            key, at = content.reply_key(word), f"replies[{i}].words[{j}]"
            if key in owner:
                p.add(at, f"{word!r} is already an expected reply ({owner[key]})")
            owner.setdefault(key, at)


# -- use -------------------------------------------------------------------------------------


def choose_variant(t: NotificationTemplate, language: str | None, channel: str) -> Variant | None:
    """The variant for a recipient: in their language, then its base language ("en-US"
    -> "en"), then the template's default (its first variant's language); in each, the
    channel's own variant before a channel-less one. None when nothing can serve the
    channel (WhatsApp and Messenger need a variant of their own)."""
    validate_channel(channel)
    wanted = [language, language.split("-", 1)[0]] if language else []
    channels = (channel,) if channel in _OWN_VARIANT_CHANNELS else (channel, None)
    for lang in dict.fromkeys(x.casefold() for x in [*wanted, t.variants[0].language]):
        for ch in channels:
            for v in t.variants:
                if v.language.casefold() == lang and v.channel == ch:
                    return v
    return None


def check_values(t: NotificationTemplate, values: Mapping[str, str]) -> dict[str, str]:
    """One recipient's values, or InvalidInput naming every bad one (`field` is
    "variables.<name>" of the first; a problem's `suggestion` is the variable a
    misspelt name most likely stands for)."""
    p = _Problems()
    declared = {v.name for v in t.variables}
    undeclared = sorted(str(k) for k in values if k not in declared)
    unset = [v.name for v in t.variables if not _given(values.get(v.name))]
    # A name that misspells an unset variable is one mistake, reported once, at the name.
    meant = misspellings(undeclared, unset)
    for variable in t.variables:
        value, at, name = values.get(variable.name), f"variables.{variable.name}", variable.name
        if not isinstance(value, str) or not value.strip():
            if name not in meant.values():
                p.add(at, f"a value for {name!r} is required")
        elif len(value) > variable.max_length:
            p.add(at, f"{name!r} is longer than its {variable.max_length} characters")
        elif content.has_controls(value):
            p.add(at, f"{name!r} contains control characters other than newline")
    for name in undeclared:
        guess = meant.get(name)
        hint = f"; did you mean {guess!r}?" if guess else ""
        p.add(
            f"variables.{name}", f"{name!r} is not a variable of template {t.name!r}{hint}", guess
        )
    p.raise_any("the values")
    return {v.name: values[v.name] for v in t.variables}


def _given(value: object) -> bool:
    return isinstance(value, str) and bool(value.strip())


def render(
    t: NotificationTemplate,
    variant: Variant,
    values: Mapping[str, str],
    *,
    channel: str | None = None,
) -> Rendered:
    """The message for one recipient, from checked values. `channel` is where it goes
    (default: the variant's own); by SMS, it must fit the variant's segment limit."""
    if variant not in t.variants:
        raise InvalidInput(f"that variant is not one of template {t.name!r}", field="variant")
    sent_by = channel or variant.channel
    if variant.channel is not None and sent_by != variant.channel:
        raise InvalidInput(f"a {variant.channel} variant cannot go by {sent_by}", field="channel")
    parts = content.pieces(variant.text)
    text, count = content.fill(parts, values), None
    if sent_by == "sms":
        count = segments(text).segments
        if count > variant.segment_limit:
            raise InvalidInput(
                f"the message takes {count} SMS segments, more than {variant.segment_limit}",
                code="too_many_segments",
                field="text",
                segments=count,
                limit=variant.segment_limit,
            )
    return Rendered(
        text=text,
        provider_template=variant.provider_template,
        parameters=tuple(values[name] for name in content.slot_names(parts)),
        tag=variant.tag,
        language=variant.language,
        segments=count,
    )


def match_reply(t: NotificationTemplate, text: str) -> ExpectedReply | None:
    """The expected reply a whole message is, if any ("yes", " Yes! ")."""
    key = content.reply_key(text)
    for reply in t.replies:
        if any(content.reply_key(word) == key for word in reply.words):
            return reply
    return None


def template_to_doc(t: NotificationTemplate) -> dict[str, object]:
    """The inverse of parse_template: what the API returns."""
    expires = None if t.expires_after is None else int(t.expires_after.total_seconds())
    return {
        "name": t.name,
        "purpose": t.purpose.value,
        "variables": [asdict(v) for v in t.variables],
        "variants": [asdict(v) for v in t.variants],
        "replies": [
            {**asdict(x), "words": list(x.words), "action": x.action.value} for x in t.replies
        ],
        "webhook_url": t.webhook_url,
        "expires_after_seconds": expires,
        "sender": t.sender,
    }
