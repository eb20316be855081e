"""Widgets shared by the pages: sticky settings, the "Ward by" radio, the accuracy metric."""

from __future__ import annotations

from typing import Any

import streamlit as st

from dashboard.context import Ctx
from dashboard.fmt import fmt_pct
from dashboard.i18n import t
from dashboard.miner import text_accuracy
from dashboard.settings import CV_FOLDS, MiningSettings
from dashboard.text import escape_markdown


def select_all() -> bool:
    """Whether a multiselect offers Streamlit's bulk "Select all": its label is English and
    cannot be translated, so the Japanese screen leaves it out (one language at a time)."""
    from dashboard.i18n import lang

    return lang() != "ja"


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
        t("w.ward_by"),
        ["true", "pred"],
        horizontal=True,
        key=sticky(key, "true"),
        format_func={"true": t("w.by_true"), "pred": t("w.by_pred")}.get,
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
            st.metric(label, t("w.computing"), help=t("w.computing_help"))
        elif isinstance(value, str):
            st.metric(label, "—", help=escape_markdown(value))
        else:
            st.metric(
                label,
                fmt_pct(value),
                help=t("w.cv_help", folds=CV_FOLDS),
            )

    with slot:
        _show()


def csv_button(frame, file_name: str, key: str, index: bool = False) -> None:
    """A "CSV" download button for a table shown on the page (UTF-8 with BOM)."""
    from dashboard.tables import to_csv_bytes

    st.download_button(
        t("w.csv"),
        to_csv_bytes(frame, index=index),
        file_name=file_name,
        mime="text/csv",
        icon=":material/download:",
        on_click="ignore",
        key=key,
    )
