"""Flow YAML -> `Flow`, refusing every mistake with the line it is on.

This module is the flow's schema; reading YAML nodes with their lines, and collecting
problems rather than stopping at the first, is `yaml_nodes`. Up to MAX_ERRORS mistakes
are reported at once, so an admin can fix a file in one go.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

import yaml  # type: ignore[import-untyped,unused-ignore]

from threadline.core.agents import validate_skill
from threadline.core.bots.fields import names_in
from threadline.core.bots.flow import (
    Ask,
    Close,
    CodeDelivery,
    FieldKind,
    Flow,
    HandOver,
    Intent,
    Lookup,
    Messages,
    Routine,
    Say,
    Step,
    Then,
    Verify,
)
from threadline.core.bots.yaml_nodes import (
    BOOL,
    Map,
    Node,
    NodeReader,
    Unreadable,
    compose,
    got,
    is_null,
    key_names,
    line_of,
)

# Re-exported: Problem is part of this module's API (FlowError.problems holds them).
from threadline.core.bots.yaml_nodes import Problem as Problem
from threadline.core.errors import InvalidInput

MAX_ERRORS = 10
MAX_BYTES = 256 * 1024
MAX_TEXT = 4096
MAX_INTENTS = 200
MAX_STEPS = 50
MAX_EXAMPLES = 500
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
# A dotted path into a lookup's JSON answer: "status", "delivery.eta", "items.0.sku".
_JSON_PATH = re.compile(r"[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*")
# Available in every text: the customer's name as the conversation knows it.
ALWAYS_AVAILABLE = frozenset({"customer_name"})

_TOP_KEYS = ("name", "language", "threshold", "max_fallbacks", "escalation_phrases",
             "messages", "code_delivery", "intents", "routines")  # fmt: skip
_INTENT_KEYS = ("examples", "patterns", "skill", "then", "answer", "steps")
_STEP_KEYS: dict[str, tuple[str, ...]] = {
    "say": ("say",),
    "ask": ("ask", "prompt", "type", "pattern", "choices", "error", "secure"),
    "lookup": ("lookup", "url", "method", "timeout", "save", "not_found"),
    "verify": ("verify",),
    "handoff": ("handoff",),
    "close": ("close",),
}
# Answers that are always secure, whatever `secure:` says.
SECURE_KINDS = frozenset({FieldKind.CARD, FieldKind.EXPIRY})
_MESSAGE_KEYS = tuple(Messages.__dataclass_fields__)
# Names only some messages can use: when the humans are back, where the code went.
_MESSAGE_NAMES = {"out_of_hours": {"reopens"}, "code_sent": {"to"}}


class FlowError(InvalidInput):
    """A flow that does not load. The message lists every problem found (up to
    MAX_ERRORS), one a line, each starting "line N: "; `line` and `path` are the
    first's, and `details["errors"]` has them all."""

    def __init__(self, problems: Sequence[Problem], *, more: bool = False) -> None:
        first = problems[0]
        lines = [str(p) for p in problems]
        if more:
            lines.append(f"(and more; only the first {MAX_ERRORS} are shown)")
        super().__init__(
            "\n".join(lines),
            field="flow",
            line=first.line,
            path=first.path,
            errors=[{"line": p.line, "path": p.path, "message": str(p)} for p in problems],
        )
        self.line = first.line
        self.path = first.path
        self.problems = tuple(problems)


def load_flow(text: str) -> Flow:
    """The flow in `text`, or FlowError naming each mistake's line and path."""
    size = len(text.encode("utf-8", errors="replace"))
    if size > MAX_BYTES:
        raise FlowError([Problem(1, "", f"the flow is {size} bytes; the limit is {MAX_BYTES}")])
    try:
        root = compose(text)
    except Unreadable as unreadable:
        raise FlowError([unreadable.problem]) from None
    reader = _Reader()
    flow = reader.flow(root)
    if reader.problems:
        ordered = sorted(reader.problems, key=lambda p: p.line)
        raise FlowError(ordered[:MAX_ERRORS], more=len(ordered) > MAX_ERRORS)
    return flow


class _Reader(NodeReader):
    """Reads the composed YAML into flow types; on any noted problem `load_flow`
    discards the whole flow, stand-ins and all."""

    def __init__(self) -> None:
        super().__init__(max_text=MAX_TEXT)
        self.has_code_delivery = False

    # -- texts that may use {field}s -----------------------------------------------------------

    def text(
        self, node: Node | None, path: str, label: str, available: frozenset[str] | None = None
    ) -> str | None:
        """With `available`, each `{name}` in the text must be one of those."""
        value = super().text(node, path, label)
        if value is None:
            return None
        in_steps = path.startswith(("intents", "routines"))
        for name in sorted(names_in(value) - available if available is not None else ()):
            known = ", ".join(sorted(available or ())) or "none"
            why = "no earlier step asks for or saves it" if in_steps else "it is not available here"
            self.fail(node, path, f"{label} uses {{{name}}}, but {why} (available: {known})")
        return value

    def name(self, node: Node, path: str, label: str) -> str:
        value = self.text(node, path, label)
        if value is not None and not NAME.fullmatch(value):
            self.fail(node, path, _bad_name(label, value))
        return value or ""

    def url(self, node: Node, path: str, label: str, available: frozenset[str]) -> str:
        value = self.text(node, path, label, available)
        if value is None:
            return ""
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.fail(
                node, path, f"{label} must be an http or https URL with a host (got {got(node)})"
            )
        elif names_in(parts.netloc):
            # A customer's answer must not choose the server a request goes to.
            self.fail(node, path, f"{label} can use {{field}}s in its path and query, not its host")
        return value

    def skill(self, node: Node | None, path: str, label: str) -> str | None:
        value = self.text(node, path, label)
        try:
            return validate_skill(value) if value is not None else None
        except InvalidInput as error:
            self.fail(node, path, f"{label} is not valid: {error.message} (got {got(node)})")
            return None

    # -- the flow ----------------------------------------------------------------------------

    def flow(self, root: Node | None) -> Flow:
        if root is None:
            self.fail(1, "", "the flow is empty; it needs at least name, messages and intents")
            return _STAND_IN
        top = self.mapping(root, "", "the flow", _TOP_KEYS, ("name", "messages", "intents"))
        # Before the intents: whether a `verify` step is allowed depends on it.
        self.has_code_delivery = "code_delivery" in top
        name = self.text(top.get("name"), "", "name") or ""
        if len(name) > 64:
            self.fail(top.get("name"), "", f"name must be at most 64 characters (got {len(name)})")
        language = self.choice(top.get("language"), "", "language", ("en", "es"), "en")
        threshold = self.number(top.get("threshold"), "", "threshold", (0, 1), 0.5)
        fallbacks = self.number(
            top.get("max_fallbacks"), "", "max_fallbacks", (1, 10), 2, whole=True
        )
        phrases = (
            self.texts(top.get("escalation_phrases"), "", "escalation_phrases", MAX_EXAMPLES)
            if "escalation_phrases" in top
            else []
        )
        delivery = self.code_delivery(top.key("code_delivery"), top.get("code_delivery"))
        messages = self.messages(top.get("messages")) if "messages" in top else _STAND_IN.messages
        intents = self.intents(top.get("intents")) if "intents" in top else []
        routines = self.routines(top.get("routines")) if "routines" in top else {}
        return Flow(
            name=name,
            language=language,
            messages=messages,
            intents=tuple(intents),
            routines=routines,
            threshold=float(threshold),
            max_fallbacks=int(fallbacks),
            escalation_phrases=tuple(phrases),
            code_delivery=delivery,
        )

    def messages(self, node: Node) -> Messages:
        found = self.mapping(node, "messages", "messages", _MESSAGE_KEYS, ("greeting",))
        texts = {
            key: self.text(
                value, "messages", key, ALWAYS_AVAILABLE | _MESSAGE_NAMES.get(key, set())
            )
            for key, (_, value) in found.items.items()
        }
        return Messages(**{"greeting": "", **{k: v for k, v in texts.items() if v is not None}})

    def code_delivery(self, key: Node, node: Node | None) -> CodeDelivery | None:
        if node is None:
            return None
        path = "code_delivery"
        allowed = ("url", "timeout", "expires_minutes", "attempts")
        found = self.mapping(node, path, path, allowed, ("url",), at=key)
        return CodeDelivery(
            url=self.url(found.get("url"), path, "url", frozenset()) if "url" in found else "",
            timeout=self.number(found.get("timeout"), path, "timeout", (0.1, 30), 5.0),
            expires_minutes=int(
                self.number(
                    found.get("expires_minutes"), path, "expires_minutes", (1, 60), 5, whole=True
                )
            ),
            attempts=int(
                self.number(found.get("attempts"), path, "attempts", (1, 10), 3, whole=True)
            ),
            line=line_of(key),
        )

    def intents(self, node: Node) -> list[Intent]:
        found = self.mapping(node, "intents", "intents", None)
        if isinstance(node, yaml.MappingNode) and not found.items:
            self.fail(node, "intents", "intents must have at least one intent")
        if len(found.items) > MAX_INTENTS:
            self.fail(
                node, "intents", f"there are {len(found.items)} intents; the limit is {MAX_INTENTS}"
            )
        return [self.intent(name, key, value) for name, (key, value) in found.items.items()]

    def intent(self, name: str, key: Node, node: Node) -> Intent:
        path = f"intents.{name}"
        if not NAME.fullmatch(name):
            self.fail(key, "intents", _bad_name("an intent's name", name))
        found = self.mapping(node, path, "an intent", _INTENT_KEYS)
        examples = (
            self.texts(found.get("examples"), path, "examples", MAX_EXAMPLES)
            if "examples" in found
            else []
        )
        patterns = [
            self.regex(item, path, f"patterns[{i}]")
            for i, item in enumerate(
                self.sequence(found.get("patterns"), path, "patterns", MAX_EXAMPLES)
                if "patterns" in found
                else []
            )
        ]
        if len(examples) < 2 and not patterns and found.items:
            self.fail(
                found.key("examples"), path, "examples needs at least 2 phrases (or give patterns)"
            )
        then = self.choice(found.get("then"), path, "then", tuple(Then), Then.ANYTHING_ELSE)
        steps: list[Step] = []
        if "answer" in found and "steps" in found:
            self.fail(
                found.key("steps"),
                path,
                "give answer or steps, not both (answer is short for steps: [say: ...])",
            )
        elif "answer" in found:
            answer = found.get("answer")
            steps = [
                Say(self.text(answer, path, "answer", ALWAYS_AVAILABLE) or "", line=line_of(answer))
            ]
        elif "steps" in found:
            steps, _ = self.steps(found.get("steps"), path)
        elif then not in (Then.HANDOFF, Then.CLOSE) and found.items:
            self.fail(key, path, "an intent needs answer or steps (or then: handoff)")
        return Intent(
            name=name,
            examples=tuple(examples),
            patterns=tuple(patterns),
            skill=self.skill(found.get("skill"), path, "skill"),
            steps=tuple(steps),
            then=Then(then),
            line=line_of(key),
        )

    def routines(self, node: Node) -> dict[str, Routine]:
        routines: dict[str, Routine] = {}
        for name, (key, value) in self.mapping(node, "routines", "routines", None).items.items():
            path = f"routines.{name}"
            if not NAME.fullmatch(name):
                self.fail(key, "routines", _bad_name("a routine's name", name))
            found = self.mapping(value, path, "a routine", ("steps", "done"), ("steps",), at=key)
            steps, known = (
                self.steps(found.get("steps"), path) if "steps" in found else ([], ALWAYS_AVAILABLE)
            )
            done = self.text(found.get("done"), path, "done", known)
            routines[name] = Routine(name, tuple(steps), done, line=line_of(key))
        return routines

    # -- steps -------------------------------------------------------------------------------

    def steps(self, node: Node, path: str) -> tuple[list[Step], frozenset[str]]:
        """The steps, and the fields known after the last one."""
        known = ALWAYS_AVAILABLE
        origins: Origins = {}
        items = self.sequence(node, path, "steps", MAX_STEPS)
        if isinstance(node, yaml.SequenceNode) and not items:
            self.fail(node, path, "steps must have at least one step")
        steps: list[Step] = []
        for index, item in enumerate(items):
            where = f"{path}.steps[{index}]"
            if index and isinstance(steps[-1], HandOver | Close):
                ender = "handoff" if isinstance(steps[-1], HandOver) else "close"
                self.fail(
                    item,
                    where,
                    f"this step never runs: the {ender} before it ends the conversation",
                )
            steps.append(self.step(item, where, known, origins))
            # From the raw YAML, so a broken step's field still counts and one mistake
            # does not also make every later {field} an error.
            origins = _provides(item, origins)
            known = ALWAYS_AVAILABLE | origins.keys()
        return steps, known

    def step(self, item: Node, where: str, known: frozenset[str], origins: Origins) -> Step:
        kinds = [k for k in key_names(item) if k in _STEP_KEYS]
        if len(kinds) != 1:
            shown = " and ".join(kinds) if kinds else got(item)
            self.fail(
                item,
                where,
                f"a step must have exactly one of {', '.join(_STEP_KEYS)} (got {shown})",
            )
            return Say("", line=line_of(item))
        kind = kinds[0]
        where = f"{where}.{kind}"
        found = self.mapping(item, where, "a step", _STEP_KEYS[kind])
        value, line = found.get(kind), line_of(item)
        if kind == "say":
            return Say(self.text(value, where, "say", known) or "", line=line)
        if kind == "verify":
            if not self.has_code_delivery:
                self.fail(
                    item,
                    where,
                    "verify needs code_delivery at the top of the flow (where codes are sent)",
                )
            return self.verify(value, where, known, origins, line)
        if kind == "close":
            return Close(
                None if is_null(value) else self.text(value, where, "close", known), line=line
            )
        if kind == "handoff":
            return self.handoff(value, where, known, line)
        if kind == "ask":
            return self.ask(item, found, where, known)
        return self.lookup(item, found, where, known, origins)

    def verify(
        self, value: Node, where: str, known: frozenset[str], origins: Origins, line: int
    ) -> Verify:
        to = self.text(value, where, "verify", known) or ""
        if not to:
            return Verify(to, line=line)
        names = names_in(to)
        # The code goes to whoever holds this address: were it the customer's own
        # answer, anyone could type their own address and be verified as anyone.
        for name in sorted(names):
            origin = origins.get(name)
            if origin is not None and origin.asked_at:
                self.fail(
                    value,
                    where,
                    "the address on file must come from a lookup's saved field, not from "
                    f"what the customer typed ({{{name}}} is asked at line {origin.asked_at[0]})",
                )
            elif origin is not None and origin.saved:
                continue
            elif name in ALWAYS_AVAILABLE:
                self.fail(
                    value,
                    where,
                    f"the address on file must come from a lookup's saved field, not {{{name}}}",
                )
        if not names:
            self.fail(
                value,
                where,
                "the address on file must come from a lookup's saved field, "
                'like "{phone_on_file}" (got a fixed text)',
            )
        return Verify(to, line=line)

    def handoff(self, value: Node, where: str, known: frozenset[str], line: int) -> HandOver:
        if is_null(value):
            return HandOver(line=line)
        if not isinstance(value, yaml.MappingNode):
            return HandOver(self.text(value, where, "handoff", known), line=line)
        found = self.mapping(value, where, "handoff", ("message", "skill"))
        message = self.text(found.get("message"), where, "message", known)
        return HandOver(message, self.skill(found.get("skill"), where, "skill"), line=line)

    def ask(self, item: Node, found: Map, where: str, known: frozenset[str]) -> Ask:
        field = self.name(found.get("ask"), where, "ask")
        if "prompt" not in found:
            self.fail(item, where, "prompt is required (what the bot asks)")
        kind = FieldKind(
            self.choice(found.get("type"), where, "type", tuple(FieldKind), FieldKind.TEXT)
        )
        pattern, choices = None, []
        for key, needed in (("pattern", FieldKind.PATTERN), ("choices", FieldKind.CHOICE)):
            if key in found and kind != needed:
                self.fail(found.key(key), where, f"{key} is only used with type: {needed}")
            elif key not in found and kind == needed:
                self.fail(item, where, f"{key} is required with type: {needed}")
        if "pattern" in found and kind == FieldKind.PATTERN:
            pattern = self.regex(found.get("pattern"), where, "pattern")
        if "choices" in found and kind == FieldKind.CHOICE:
            choices = self.choices(found.get("choices"), where)
        secure = self.boolean(found.get("secure"), where, "secure")
        if secure is False and kind in SECURE_KINDS:
            self.fail(
                found.get("secure"),
                where,
                f"{kind} answers are always secure; remove secure: false",
            )
        return Ask(
            field=field,
            prompt=self.text(found.get("prompt"), where, "prompt", known) or "",
            kind=kind,
            error=self.text(found.get("error"), where, "error", known),
            pattern=pattern,
            choices=tuple(choices),
            secure=bool(secure) or kind in SECURE_KINDS,
            line=line_of(item),
        )

    def choices(self, node: Node, where: str) -> list[str]:
        choices = self.texts(node, where, "choices", MAX_EXAMPLES)
        squashed = {"".join(c.split()).casefold() for c in choices}
        if isinstance(node, yaml.SequenceNode) and len(choices) < 2:
            self.fail(node, where, "choices needs at least 2 choices")
        elif len(squashed) < len(choices):
            self.fail(node, where, "choices has two that differ only in case or spaces")
        return choices

    def lookup(
        self, item: Node, found: Map, where: str, known: frozenset[str], origins: Origins
    ) -> Lookup:
        url = ""
        if "url" not in found:
            self.fail(item, where, "url is required (the endpoint to ask)")
        else:
            url = self.url(found.get("url"), where, "url", known)
        for name in sorted(names_in(url)):
            origin = origins.get(name)
            if origin is not None and origin.secure:
                # URLs are written to access logs, proxies' and the business's own.
                self.fail(
                    found.get("url"),
                    where,
                    f"url uses {{{name}}}, a secure answer (asked at line "
                    f"{origin.asked_at[0]}); secure answers may only be sent in the body "
                    "of a method: POST lookup, never in its url",
                )
        return Lookup(
            name=self.name(found.get("lookup"), where, "lookup"),
            url=url,
            method=self.choice(found.get("method"), where, "method", ("GET", "POST"), "GET"),
            timeout=self.number(found.get("timeout"), where, "timeout", (0.1, 30), 5.0),
            save=self.save(found.get("save"), where) if "save" in found else {},
            not_found=self.text(found.get("not_found"), where, "not_found", known),
            line=line_of(item),
        )

    def save(self, node: Node, where: str) -> dict[str, str]:
        save: dict[str, str] = {}
        for field, (key, value) in self.mapping(node, where, "save", None).items.items():
            if not NAME.fullmatch(field):
                self.fail(key, where, _bad_name("a saved field's name", field))
            json_path = self.text(value, where, f"save.{field}") or ""
            if json_path and not _JSON_PATH.fullmatch(json_path):
                self.fail(
                    value,
                    where,
                    f"save.{field} must be a dotted path like delivery.eta (got {got(value)})",
                )
            save[field] = json_path
        return save


@dataclass(frozen=True)
class _Origin:
    """Where a field's value comes from, as far as the steps so far say: the line of
    each `ask` for it (the customer types it) and whether any of those is secure, and
    whether a lookup saves it (the business's own record)."""

    asked_at: tuple[int, ...] = ()
    secure: bool = False
    saved: bool = False


Origins = Mapping[str, _Origin]

# What `flow` returns for a YAML document with nothing in it (an error is noted).
_STAND_IN = Flow(name="", language="en", messages=Messages(greeting=""), intents=())


def _provides(item: Node, origins: Origins) -> dict[str, _Origin]:
    """`origins` with the fields this step collects or saves, read from the raw YAML."""
    found = dict(origins)
    pairs = item.value if isinstance(item, yaml.MappingNode) else []
    keys = {str(k.value): v for k, v in pairs if isinstance(k, yaml.ScalarNode)}
    asked, saved = keys.get("ask"), keys.get("save")
    if isinstance(asked, yaml.ScalarNode):
        name = str(asked.value).strip()
        was = found.get(name, _Origin())
        found[name] = replace(
            was, asked_at=(*was.asked_at, line_of(item)), secure=was.secure or _secure(keys)
        )
    if isinstance(saved, yaml.MappingNode):
        for key, _ in saved.value:
            name = str(key.value)
            found[name] = replace(found.get(name, _Origin()), saved=True)
    return found


def _secure(keys: Mapping[str, Node]) -> bool:
    """Whether an `ask` step (its keys) collects a secure answer, as the loader reads it."""
    kind, secure = keys.get("type"), keys.get("secure")
    if isinstance(kind, yaml.ScalarNode) and str(kind.value).strip() in SECURE_KINDS:
        return True
    # Read as `boolean` does: only a YAML true (true, yes, on) makes it secure.
    return (
        isinstance(secure, yaml.ScalarNode)
        and secure.tag == BOOL
        and str(secure.value).lower() in ("true", "yes", "on", "y")
    )


def _bad_name(label: str, value: str) -> str:
    return (
        f"{label} must be lower-case letters, digits and _, starting with a letter, "
        f'at most 64 long (got "{value}")'
    )
