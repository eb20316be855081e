"""The languages wordcam speaks, defined once: the CLI, the text rooms, the explainers, the
report and the dashboard all read them here.

One rule for text catalogues (the dashboard's :mod:`dashboard.catalogue`, the report's
:mod:`core.report.strings`, ``wordcam mine``'s tables' :mod:`core.mining.strings`): every key exists in every language (tests check both), so a
lookup of a missing key is a bug and raises a :class:`KeyError` that names the key and the
language; nothing falls back silently to another language. An unknown language is an error
too (:func:`normalise`).
"""

from __future__ import annotations

from collections.abc import Mapping

LANGUAGES: tuple[str, ...] = ("ja", "en")
DEFAULT_LANG = "ja"
LANGUAGE_NAMES: dict[str, str] = {"ja": "日本語", "en": "English"}


def is_language(value: object) -> bool:
    """True for one of :data:`LANGUAGES`."""
    return value in LANGUAGES


def normalise(lang: str | None, default: str = DEFAULT_LANG) -> str:
    """``lang`` as one of :data:`LANGUAGES` (case and spaces ignored); ``default`` when empty.

    Raises :class:`ValueError` (one line, naming the choices) for any other value.
    """
    if lang is None or not str(lang).strip():
        return default
    code = str(lang).strip().lower()
    if code not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    return code


def lookup(
    catalogue: Mapping[str, Mapping[str, str]], key: str, lang: str, **kwargs: object
) -> str:
    """``catalogue[lang][key]`` formatted with ``kwargs``: the one lookup rule of every catalogue.

    A missing key raises :class:`KeyError` naming the key and the language (every key must
    exist in every language); an unknown language raises :class:`ValueError`.
    """
    strings = catalogue.get(normalise(lang))
    if strings is None:
        raise KeyError(f"the catalogue has no {lang!r} strings")
    try:
        template = strings[key]
    except KeyError:
        raise KeyError(f"no text {key!r} in {lang!r}: add it to every language") from None
    return template.format(**kwargs) if kwargs else template
