"""Lexicon files: the shipped ones load; a bad one is refused with its file and key named;
a configured directory adds languages or replaces shipped ones."""

from __future__ import annotations

from pathlib import Path

import pytest

from threadline.adapters.lexicons import LexiconError, load_classifier, load_lexicons
from threadline.core.classify import MessageKind


def test_english_and_spanish_ship_with_threadline() -> None:
    assert {lex.language for lex in load_lexicons()} == {"en", "es"}


def test_a_directory_replaces_a_shipped_language_and_adds_another(tmp_path: Path) -> None:
    (tmp_path / "en.toml").write_text(
        'language = "en"\nclosing_questions = []\nnegatives = []\ndone = []\n'
        'acknowledgements = ["cheers mate"]\nfillers = []\n',
        encoding="utf-8",
    )
    (tmp_path / "pt.toml").write_text(
        'language = "pt"\nclosing_questions = ["\\\\bmais alguma coisa\\\\b"]\n'
        'negatives = ["nao"]\ndone = []\nacknowledgements = ["obrigado"]\nfillers = []\n',
        encoding="utf-8",
    )
    classifier = load_classifier(tmp_path)
    assert set(classifier.languages) == {"en", "es", "pt"}
    assert classifier.classify("cheers mate", after="Done.").kind is MessageKind.INEFFECTUAL
    assert classifier.classify("thanks", after="Done.").kind is MessageKind.SUBSTANTIVE
    assert classifier.classify("não", after="Mais alguma coisa?").kind is MessageKind.CLOSING


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("language = [", "not valid TOML"),
        ('language = "English"\n', "'language' must be a language code"),
        ('language = "en"\nnegatives = "no"\n', "'negatives' must be a list"),
        ('language = "en"\nfillers = [""]\n', "'fillers' must be a list of non-empty strings"),
        ('language = "en"\nclosing_questions = ["(unclosed"]\n', "bad regular expression"),
        ('language = "en"\nthanks = ["ty"]\n', "unknown keys ['thanks']"),
        ('language = "en"\nacknowledgements = ["!!!"]\n', "can never match"),
        ('language = "en"\nrequests = ["\\\\bPlease\\\\b"]\n', "must be lower case"),
    ],
)
def test_a_bad_lexicon_is_refused_naming_the_file_and_the_problem(
    tmp_path: Path, content: str, complaint: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(LexiconError) as refused:
        load_lexicons(tmp_path)
    assert str(path) in str(refused.value)
    assert complaint in str(refused.value)


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(LexiconError, match="not a directory"):
        load_lexicons(tmp_path / "nowhere")
