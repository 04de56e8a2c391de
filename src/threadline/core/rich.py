"""What an outbound message may carry beyond its text, and its plain-text fallback.

Suggested replies become chips on RCS, quick replies on Messenger, buttons or a list on
WhatsApp and a list picker on Apple; on SMS they are written into the text as numbered
options, which is what customers there are used to answering with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from threadline.core.errors import InvalidInput

MAX_SUGGESTIONS = 10
MAX_SUGGESTION_CHARS = 25  # RCS's limit for a chip, the tightest of the channels


@dataclass(frozen=True)
class Template:
    """A pre-approved message (WhatsApp): its name and language at the provider, the
    values of its numbered placeholders, and the text those make, for the thread."""

    name: str
    language: str
    parameters: tuple[str, ...]
    text: str


def clean_suggestions(suggestions: list[str] | None) -> tuple[str, ...]:
    if not suggestions:
        return ()
    cleaned = tuple(s.strip() for s in suggestions)
    if len(cleaned) > MAX_SUGGESTIONS:
        raise InvalidInput(f"at most {MAX_SUGGESTIONS} suggested replies", field="suggestions")
    for s in cleaned:
        if not s or len(s) > MAX_SUGGESTION_CHARS or "\x00" in s:
            raise InvalidInput(
                f"a suggested reply is 1-{MAX_SUGGESTION_CHARS} characters", field="suggestions"
            )
    if len(set(cleaned)) != len(cleaned):
        raise InvalidInput("suggested replies must differ", field="suggestions")
    return cleaned


def with_numbered_options(text: str, suggestions: tuple[str, ...]) -> str:
    """The fallback for channels without rich replies."""
    if not suggestions:
        return text
    options = "\n".join(f"{i}. {s}" for i, s in enumerate(suggestions, start=1))
    return f"{text}\n\n{options}"


_PLACEHOLDER = re.compile(r"\{\{(\d+)\}\}")


def placeholders(body: str) -> list[int]:
    """The numbers of a template's {{n}} placeholders, each once, in order."""
    return sorted({int(n) for n in _PLACEHOLDER.findall(body)})


def render_template(body: str, parameters: tuple[str, ...]) -> str:
    """A template's text with {{1}}, {{2}}… filled in: one value per placeholder, as
    the provider itself would insist."""
    numbers = placeholders(body)
    if numbers != list(range(1, len(numbers) + 1)):
        raise InvalidInput("a template's placeholders are {{1}}, {{2}}… in turn", field="template")
    if len(parameters) != len(numbers):
        raise InvalidInput(
            f"the template takes {len(numbers)} parameters, not {len(parameters)}",
            field="template",
        )
    text = body
    for i, value in enumerate(parameters, start=1):
        text = text.replace("{{" + str(i) + "}}", value)
    return text
