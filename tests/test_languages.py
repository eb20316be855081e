"""Languages are defined once (core/languages.py) and both string catalogues follow one rule:
every key in every language, a missing key raises KeyError naming it, nothing falls back."""

from __future__ import annotations

import pytest

from core import languages
from core.languages import DEFAULT_LANG, LANGUAGES, lookup, normalise
from core.mining import strings as mining_strings
from core.report import strings as report_strings
from dashboard import i18n
from dashboard.catalogue import CATALOGUE


def test_the_one_list_is_what_every_room_uses():
    from core.cli import build_parser
    from core.explainers.prompts import LANGS as prompt_langs
    from core.text import LANGS as text_langs

    assert DEFAULT_LANG in LANGUAGES
    assert prompt_langs is LANGUAGES and text_langs is LANGUAGES and i18n.LANGS is LANGUAGES
    assert set(CATALOGUE) == set(LANGUAGES) == set(report_strings.STRINGS)
    assert set(mining_strings.STRINGS) == set(LANGUAGES)
    assert set(languages.LANGUAGE_NAMES) == set(LANGUAGES)
    args = build_parser().parse_args(["explain", "photo.jpg"])
    assert args.lang == DEFAULT_LANG


@pytest.mark.parametrize(
    "catalogue",
    [CATALOGUE, report_strings.STRINGS, mining_strings.STRINGS],
    ids=["dashboard", "report", "mine"],
)
def test_every_key_is_in_every_language(catalogue):
    keys = {lang: set(catalogue[lang]) for lang in LANGUAGES}
    every = set().union(*keys.values())
    assert {lang: sorted(every - k) for lang, k in keys.items()} == {lang: [] for lang in LANGUAGES}


@pytest.mark.parametrize("text", [i18n.text, report_strings.text], ids=["dashboard", "report"])
def test_a_missing_key_raises_in_both_catalogues(text):
    with pytest.raises(KeyError, match="no-such-key.*'en'.*every language"):
        text("no-such-key", "en")
    with pytest.raises(ValueError, match="unknown language 'fr': use one of ja, en"):
        text("title", "fr")  # no silent fall back to English


def test_lookup_formats_and_normalise_names_the_choices():
    catalogue = {"ja": {"hi": "こんにちは {name}"}, "en": {"hi": "hello {name}"}}
    assert lookup(catalogue, "hi", "en", name="x") == "hello x"
    assert lookup(catalogue, "hi", " EN ", name="x") == "hello x"
    assert normalise(None) == normalise("") == DEFAULT_LANG
    assert normalise("ja") == "ja"
    with pytest.raises(ValueError, match="use one of ja, en"):
        normalise("de")
