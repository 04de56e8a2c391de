"""The classifier measured on the labelled sets in tests/data (DESIGN.md §5: a false
*ineffectual* leaves a customer unanswered, so precision is the bar).

- classifier_messages.csv: the set the shipped lexicons were tuned on.
- classifier_holdout.csv: written separately, after tuning, and never tuned on: its
  figures are the honest estimate. Both are in docs/routing.md.

The same figures: `threadline classify --evaluate tests/data/<file>.csv`.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from threadline.adapters.lexicons import load_classifier
from threadline.core.classify import MessageKind, evaluate

DATA = Path(__file__).resolve().parents[1] / "data"
SETS = ["classifier_messages.csv", "classifier_holdout.csv"]
# The bar for the two kinds that change the workflow without an agent.
MIN_PRECISION = 0.98


def _rows(name: str) -> list[tuple[str, str, MessageKind]]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        return [
            (row["last_outbound"], row["message"], MessageKind(row["label"]))
            for row in csv.DictReader(handle)
        ]


@pytest.mark.parametrize("name", SETS)
def test_the_labelled_set_is_large_and_covers_both_languages(name: str) -> None:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {row["language"] for row in rows} == {"en", "es"}
    assert {row["label"] for row in rows} == {kind.value for kind in MessageKind}
    pairs = [(row["last_outbound"], row["message"]) for row in rows]
    assert len(pairs) == len(set(pairs))
    assert len(rows) >= (400 if name == SETS[0] else 200)


@pytest.mark.parametrize("name", SETS)
@pytest.mark.parametrize("kind", [MessageKind.INEFFECTUAL, MessageKind.CLOSING])
def test_ineffectual_and_closing_are_precise(name: str, kind: MessageKind) -> None:
    report = evaluate(load_classifier(), _rows(name))[kind.value]
    print(f"{name} {kind}: {report}")  # recall is reported, not asserted
    assert report["predicted"] > 0
    assert report["precision"] >= MIN_PRECISION, report
