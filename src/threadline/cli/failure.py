"""How a command ends on a problem it expected: one red line naming it, exit status 2."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError

from threadline.adapters.lexicons import LexiconError, load_classifier
from threadline.core.classify import Classifier
from threadline.settings import Settings, get_settings


def fail(message: str) -> typer.Exit:
    """Print `message` as an error; raise what this returns to end the command."""
    typer.secho(f"error: {message}", err=True, fg=typer.colors.RED)
    return typer.Exit(2)


def settings_or_fail() -> Settings:
    """The settings, or the bad THREADLINE_* variables named."""
    try:
        return get_settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"THREADLINE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        raise fail(problems) from None


def classifier_or_fail(lexicons: Path | None) -> Classifier:
    """The classifier with `lexicons` added, or the bad lexicon file named."""
    try:
        return load_classifier(lexicons)
    except LexiconError as exc:
        raise fail(str(exc)) from None
