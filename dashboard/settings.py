"""The keyword-mining settings: set on the Keywords page, read by Export and Overview too."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

MINE_TOP = 50  # keywords mined per class; the top-K setting slices this list
CV_FOLDS = 5
MAX_MIN_DF = 1000  # the largest minimum document frequency the Keywords page offers


@dataclass(frozen=True)
class MiningSettings:
    """The Keywords page settings (shared with Export and Overview through session state)."""

    top: int = 10
    min_df: int = 2
    by: str = "true"
    stopwords: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()  # word kinds to mine (object, colour, position, other); () = all


def _stopwords(text: str) -> tuple[str, ...]:
    """The distinct words of a space-, comma- or 、-separated list, sorted."""
    return tuple(sorted({w for w in text.replace("、", " ").replace(",", " ").split() if w}))


def mining_settings() -> MiningSettings:
    """The current settings from session state (defaults until the Keywords page sets them)."""
    s = st.session_state
    return MiningSettings(
        top=int(s.get("kw_top", 10)),
        min_df=int(s.get("kw_min_df", 2)),
        by=str(s.get("kw_by", "true")),
        stopwords=_stopwords(str(s.get("kw_stopwords", ""))),
        kinds=tuple(sorted(s.get("kw_kinds") or ())),
    )
