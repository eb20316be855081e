"""The dashboard's two languages: ``t(key, **kwargs)`` and which language this screen shows.

The text lives in :mod:`dashboard.catalogue` (one dict per language, the same keys in both).
The language is, first to last: ``?lang=ja|en`` in the URL, the sidebar switch, the language
of the open run (``runs.lang``), the default language (:data:`core.languages.DEFAULT_LANG`).
The languages and the lookup rule (a missing key raises ``KeyError``) are
:mod:`core.languages`'s, shared with the report.
"""

from __future__ import annotations

import streamlit as st

from core.languages import DEFAULT_LANG, LANGUAGE_NAMES, lookup
from core.languages import LANGUAGES as LANGS
from dashboard.catalogue import CATALOGUE

LANG_NAMES = LANGUAGE_NAMES
_CHOSEN = "ui_lang"  # the language the user chose (URL or switch); absent: follow the run
_SHOWN = "ui_lang_shown"  # the language of this screen


def text(key: str, lang: str, **kwargs: object) -> str:
    """The catalogue's ``key`` in ``lang``, formatted with ``kwargs`` (KeyError if missing)."""
    return lookup(CATALOGUE, key, lang, **kwargs)


def lang() -> str:
    """The language of this screen (the default until :func:`choose_lang` has run)."""
    return str(st.session_state.get(_SHOWN, DEFAULT_LANG))


def t(key: str, **kwargs: object) -> str:
    """The catalogue's ``key`` in this screen's language."""
    return text(key, lang(), **kwargs)


def choose_lang(run_lang: str | None) -> str:
    """Settle this screen's language: the URL's, else the user's choice, else the run's."""
    asked = st.query_params.get("lang")
    if asked in LANGS:
        st.session_state[_CHOSEN] = asked
    chosen = st.session_state.get(_CHOSEN)
    shown = chosen if chosen in LANGS else (run_lang if run_lang in LANGS else DEFAULT_LANG)
    st.session_state[_SHOWN] = shown
    return shown


def _switched() -> None:
    picked = st.session_state.get("w_ui_lang")
    if picked in LANGS:
        st.session_state[_CHOSEN] = st.session_state[_SHOWN] = picked
        st.query_params["lang"] = picked


def language_switch() -> None:
    """The sidebar's 日本語 / English switch (it also writes ``?lang=`` into the URL)."""
    st.session_state["w_ui_lang"] = lang()
    st.segmented_control(
        t("app.language"),
        list(LANGS),
        format_func=LANG_NAMES.get,
        key="w_ui_lang",
        on_change=_switched,
    )
