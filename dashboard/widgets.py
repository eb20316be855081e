"""Widgets shared by the pages: sticky settings, the "Ward by" radio, the accuracy metric."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.context import Ctx
from dashboard.fmt import fmt_pct
from dashboard.miner import text_accuracy
from dashboard.settings import CV_FOLDS, MiningSettings
from dashboard.text import escape_markdown


def sticky(key: str, default: Any) -> str:
    """The widget key for a setting that survives page switches.

    Streamlit drops a widget's state when a page without it runs; the value is kept under
    ``key`` and the widget (key ``w_<key>``) is re-seeded from it. Call :func:`keep` after the
    widget to store its new value.
    """
    widget_key = f"w_{key}"
    if widget_key not in st.session_state:
        st.session_state[widget_key] = st.session_state.get(key, default)
    return widget_key


def keep(key: str) -> Any:
    """Store the value of the widget made with :func:`sticky` under ``key``; return it."""
    st.session_state[key] = st.session_state[f"w_{key}"]
    return st.session_state[key]


def ward_by_radio(slot, key: str) -> str:
    """A sticky "Ward by" radio (``"true"`` or ``"pred"``) in ``slot``, stored under ``key``."""
    by = slot.radio(
        "Ward by",
        ["true", "pred"],
        horizontal=True,
        key=sticky(key, "true"),
        format_func={"true": "true label", "pred": "predicted"}.get,
    )
    keep(key)
    return by


def accuracy_metric(slot, ctx: Ctx, settings: MiningSettings, label: str) -> None:
    """A metric of the cross-validated accuracy that fills itself in when the job finishes."""

    ready, _ = text_accuracy(ctx, settings)

    @st.fragment(run_every=None if ready else 1.0)
    def _show() -> None:
        done, value = text_accuracy(ctx, settings)
        if not done:
            st.metric(label, "computing…", help="cross-validation runs in the background")
        elif isinstance(value, str):
            st.metric(label, "—", help=escape_markdown(value))
        else:
            st.metric(
                label,
                fmt_pct(value),
                help=f"{CV_FOLDS}-fold cross-validated logistic regression words → label",
            )

    with slot:
        _show()
