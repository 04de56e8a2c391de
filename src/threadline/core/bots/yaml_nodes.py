"""Reading YAML an admin wrote, refusing every mistake with the line it is on.

The YAML is composed, not constructed: each node keeps its line, YAML 1.1's implicit
types are seen for what they are (`yes` is a boolean, not the text "yes"), and a
duplicate key is still visible (constructing keeps the last one silently). Anchors and
aliases are refused: hand-written settings never need them, and they are how a small
YAML file expands into gigabytes (billion laughs). A `NodeReader` notes problems
instead of stopping, so one read reports them all and an admin can fix a file in one go.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import yaml  # type: ignore[import-untyped,unused-ignore]

from threadline.core.bots.patterns import PatternError, compile_pattern, search

STR, INT, FLOAT = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
BOOL, NULL = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"

Node = Any  # yaml.Node: PyYAML ships no type information


@dataclass(frozen=True)
class Problem:
    line: int
    path: str
    problem: str

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        return f"line {self.line}: {where}{self.problem}"


class Unreadable(Exception):
    """Text that cannot be composed at all, so there are no nodes to read."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


# Composing recurses once per level, so thousands of "[" would exhaust Python's stack.
# A hand-written flow nests about 6 deep (intents > intent > steps > step > save); 64
# is far beyond any honest one and far below the interpreter's recursion limit.
MAX_DEPTH = 64
_TOO_DEEP = "the flow is nested too deeply"


class _NoAliasLoader(yaml.SafeLoader):  # type: ignore[misc,unused-ignore]
    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            line = event.start_mark.line + 1
            raise Unreadable(Problem(line, "", "YAML anchors and aliases (&, *) are not allowed"))
        if self.depth >= MAX_DEPTH:
            line = event.start_mark.line + 1
            raise Unreadable(Problem(line, "", f"{_TOO_DEEP} (more than {MAX_DEPTH} levels)"))
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def compose(text: str) -> Node | None:
    """The root node of `text` (None for an empty document), or Unreadable."""
    try:
        return yaml.compose(text, Loader=_NoAliasLoader)
    except RecursionError:
        # Not expected below MAX_DEPTH; kept so that a deep document never becomes a 500.
        raise Unreadable(Problem(1, "", _TOO_DEEP)) from None
    except yaml.MarkedYAMLError as error:
        raise Unreadable(_syntax_problem(text, error)) from None
    except yaml.reader.ReaderError as error:
        line = text[: error.position].count("\n") + 1
        char = error.character
        shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
        problem = f"not valid YAML: the character {shown} is not allowed"
        raise Unreadable(Problem(line, "", problem)) from None


def _syntax_problem(text: str, error: Any) -> Problem:
    problem, context = error.problem_mark, error.context_mark
    mark = problem or context
    # PyYAML reports an unterminated quote at the end of the stream, a line past the
    # last one: point at the last line, and say where the quote began.
    last = max(1, len(text.splitlines()))
    line = min(mark.line + 1, last) if mark is not None else 1
    detail = "; ".join(str(p) for p in (error.context, error.problem) if p)
    if context is not None and problem is not None and context.line != problem.line:
        detail += f" (it began on line {context.line + 1})"
    return Problem(line, "", f"not valid YAML: {detail}")


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def got(node: Node) -> str:
    """The node as an admin would recognise it in their file, for "(got ...)"."""
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if node.tag == STR:
        value = node.value if len(node.value) <= 40 else node.value[:37] + "..."
        return f'"{value}"'
    return f"{node.value or 'nothing'}"


def is_null(node: Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag == NULL


def key_names(node: Node) -> list[str]:
    """A mapping's keys as written, duplicates and all; none for any other node."""
    if not isinstance(node, yaml.MappingNode):
        return []
    return [str(k.value) for k, _ in node.value if isinstance(k, yaml.ScalarNode)]


def unknown_key(key: str, allowed: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f'unknown key "{key}" (did you mean "{close[0]}"?)'
    return f'unknown key "{key}" (expected one of {", ".join(allowed)})'


@dataclass
class Map:
    """A mapping's keys -> (key node, value node); empty for a node that was not one."""

    node: Node
    items: dict[str, tuple[Node, Node]]

    def __contains__(self, key: str) -> bool:
        return key in self.items

    def get(self, key: str) -> Node | None:
        return self.items[key][1] if key in self.items else None

    def key(self, key: str) -> Node:
        return self.items[key][0] if key in self.items else self.node


class NodeReader:
    """Reads composed nodes into values, noting problems instead of stopping. A reader
    that notes a problem returns a stand-in (the default, "", None), so reading goes on
    to find the rest; whoever reads must discard the result when `problems` is not empty."""

    def __init__(self, *, max_text: int) -> None:
        self.problems: list[Problem] = []
        self.max_text = max_text

    def fail(self, at: Node | int, path: str, problem: str) -> None:
        line = at if isinstance(at, int) else line_of(at)
        self.problems.append(Problem(line, path, problem))

    def mapping(
        self,
        node: Node,
        path: str,
        label: str,
        allowed: Sequence[str] | None,
        required: Sequence[str] = (),
        at: Node | None = None,
    ) -> Map:
        """Unknown, duplicate and missing keys noted; `at` is where a missing key is
        reported (the line naming the mapping, rather than its first key)."""
        found = Map(node, {})
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, path, f"{label} must be a mapping (got {got(node)})")
            return found
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or is_null(key_node):
                self.fail(key_node, path, f"{label} has a key that is not a name")
                continue
            key = str(key_node.value)
            if key in found:
                first = line_of(found.key(key))
                self.fail(key_node, path, f'duplicate key "{key}" (first on line {first})')
            elif allowed is not None and key not in allowed:
                self.fail(key_node, path, unknown_key(key, allowed))
            else:
                found.items[key] = (key_node, value_node)
        for key in required:
            if key not in found:
                self.fail(at if at is not None else node, path, f"{key} is required")
        return found

    def sequence(self, node: Node, path: str, label: str, limit: int) -> list[Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, path, f"{label} must be a list (got {got(node)})")
            return []
        if len(node.value) > limit:
            self.fail(node, path, f"{label} has {len(node.value)} items; the limit is {limit}")
        return list(node.value)

    def text(self, node: Node | None, path: str, label: str) -> str | None:
        """Text (a YAML string: unquoted `yes` or `12` is not text), trimmed, 1 to
        max_text characters. None when absent or wrong."""
        if node is None:
            return None
        if not isinstance(node, yaml.ScalarNode) or node.tag != STR:
            self.fail(node, path, f"{label} must be text (got {got(node)}; quote it)")
            return None
        value = str(node.value).strip()
        if not value or len(value) > self.max_text:
            self.fail(
                node, path, f"{label} must be 1 to {self.max_text} characters (got {len(value)})"
            )
            return None
        return value

    def texts(self, node: Node, path: str, label: str, limit: int) -> list[str]:
        items = self.sequence(node, path, label, limit)
        return [self.text(item, path, f"{label}[{i}]") or "" for i, item in enumerate(items)]

    def number(
        self,
        node: Node | None,
        path: str,
        label: str,
        bounds: tuple[float, float],
        default: float,
        *,
        whole: bool = False,
    ) -> float:
        if node is None:
            return default
        value: float | None = None
        if isinstance(node, yaml.ScalarNode) and node.tag in (INT, FLOAT):
            text = str(node.value).replace("_", "")
            try:
                value = int(text) if node.tag == INT else None if whole else float(text)
            except ValueError:
                value = None
        low, high = bounds
        if value is None or not low <= value <= high:
            kind = "a whole number" if whole else "a number"
            self.fail(
                node, path, f"{label} must be {kind} from {low:g} to {high:g} (got {got(node)})"
            )
            return default
        return float(value)

    def choice(
        self, node: Node | None, path: str, label: str, options: Sequence[str], default: str
    ) -> str:
        value = self.text(node, path, label)
        if value is not None and value not in options:
            self.fail(node, path, f"{label} must be one of {', '.join(options)} (got {got(node)})")
        return value if value is not None and value in options else default

    def boolean(self, node: Node | None, path: str, label: str) -> bool | None:
        if node is None:
            return None
        if isinstance(node, yaml.ScalarNode) and node.tag == BOOL:
            return str(node.value).lower() in ("true", "yes", "on", "y")
        self.fail(node, path, f"{label} must be true or false (got {got(node)})")
        return None

    def regex(self, node: Node, path: str, label: str) -> str:
        if not isinstance(node, yaml.ScalarNode) or node.tag != STR or not node.value:
            self.fail(
                node, path, f"{label} must be a regular expression in quotes (got {got(node)})"
            )
            return ""
        try:
            compiled = compile_pattern(node.value)
        except PatternError as error:
            self.fail(node, path, f"{label} is not a valid regular expression: {error}")
            return ""
        # A pattern is searched for in what people write; one that matches nothing
        # matches everything, which is never what the admin meant.
        if search(compiled, "") is not None:
            self.fail(node, path, f"{label} matches an empty message, so it matches anything")
        return str(node.value)
