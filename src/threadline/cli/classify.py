"""`threadline classify`: what a customer's message means for the workflow."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Annotated

import typer

from threadline.cli.failure import classifier_or_fail, fail, settings_or_fail
from threadline.core.classify import Classifier, MessageKind, evaluate

LexiconsDir = Annotated[
    Path | None,
    typer.Option(
        "--lexicons",
        help="A directory of *.toml lexicons adding to or replacing the shipped ones "
        "(default: THREADLINE_LEXICONS_DIR).",
        show_default=False,
    ),
]


def classify(
    message: Annotated[str | None, typer.Argument(help="The customer's message.")] = None,
    after: Annotated[
        str, typer.Option("--after", help="The last outbound message before it.")
    ] = "",
    as_json: Annotated[bool, typer.Option("--json", help="Print kind and reason as JSON.")] = False,
    evaluate_file: Annotated[
        Path | None,
        typer.Option(
            "--evaluate",
            help="A labelled CSV (language,last_outbound,message,label): print precision "
            "and recall per kind as JSON instead.",
            show_default=False,
        ),
    ] = None,
    lexicons: LexiconsDir = None,
) -> None:
    """Classify a customer's message as closing, ineffectual or substantive."""
    classifier = classifier_or_fail(lexicons or settings_or_fail().lexicons_dir)
    if evaluate_file is not None:
        if message is not None:
            raise fail("give a message to classify or --evaluate a file, not both")
        typer.echo(json.dumps(_evaluate(classifier, evaluate_file), indent=2))
        return
    if message is None or not message.strip():
        raise fail("give the message to classify")
    result = classifier.classify(message, after=after or None)
    if as_json:
        typer.echo(json.dumps({"kind": str(result.kind), "reason": result.reason}))
    else:
        typer.echo(str(result.kind))


def _evaluate(classifier: Classifier, path: Path) -> dict[str, object]:
    rows: list[tuple[str, str, MessageKind]] = []
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            for line, row in enumerate(csv.DictReader(handle), start=2):
                try:
                    rows.append((row["last_outbound"], row["message"], MessageKind(row["label"])))
                except (KeyError, ValueError, TypeError):
                    raise fail(
                        f"{path}:{line}: needs last_outbound, message and a label "
                        f"({', '.join(k.value for k in MessageKind)})"
                    ) from None
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise fail(f"{path}: cannot be read: {exc}") from None
    if not rows:
        raise fail(f"{path}: no labelled rows")
    return {
        "file": str(path),
        "messages": len(rows),
        "languages": list(classifier.languages),
        "by_kind": evaluate(classifier, rows),
    }
