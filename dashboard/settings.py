"""The keyword-mining settings of the pages: set on the Keywords page, read by Export and
Overview too. The settings object and its defaults are core's (:mod:`core.mining.settings`)."""

from __future__ import annotations

import streamlit as st

from core.mining.settings import DEFAULTS, STORED_TOP, MiningSettings

__all__ = ["CV_FOLDS", "DEFAULTS", "MAX_MIN_DF", "MINE_TOP", "MiningSettings", "mining_settings"]

MINE_TOP = STORED_TOP  # keywords mined per class; the top-K setting slices this list
CV_FOLDS = DEFAULTS.cv
MAX_MIN_DF = 1000  # the largest minimum document frequency the Keywords page offers


def _stopwords(text: str) -> tuple[str, ...]:
    """The distinct words of a space-, comma- or 、-separated list, sorted."""
    return tuple(sorted({w for w in text.replace("、", " ").replace(",", " ").split() if w}))


def mining_settings() -> MiningSettings:
    """The current settings from session state (defaults until the Keywords page sets them)."""
    s = st.session_state
    return MiningSettings(
        top=int(s.get("kw_top", DEFAULTS.top)),
        min_df=int(s.get("kw_min_df", DEFAULTS.min_df)),
        by=str(s.get("kw_by", DEFAULTS.by)),
        stopwords=_stopwords(str(s.get("kw_stopwords", ""))),
        kinds=tuple(sorted(s.get("kw_kinds") or ())),
    )
