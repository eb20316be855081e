"""Which run the screen shows: the sidebar's picker, mirrored in the URL as ``?run=N``."""

from __future__ import annotations

import streamlit as st

from dashboard.context import Ctx
from dashboard.data import q_runs
from dashboard.i18n import t


def run_from_url() -> None:
    """Adopt ``?run=N`` when it differs from what this session last wrote (a shared link)."""
    raw = st.query_params.get("run", "")
    if raw.isdigit() and raw != st.session_state.get("url_run"):
        st.session_state["run_id"] = st.session_state["w_run_id"] = int(raw)
        st.session_state["url_run"] = raw


def describe(run) -> str:
    """One line naming a run: ``#2 · images · grounded · blind · ja · 1,200 done``."""
    parts = [f"#{run.run_id}", run.kind, run.explainer, run.mode, run.lang]
    return " · ".join(str(p) for p in parts if p) + " · " + t("runs.done", n=int(run.n_done))


def _picked() -> None:
    st.session_state["run_id"] = st.session_state["w_run_id"]


def run_picker(ctx: Ctx) -> None:
    """The run selectbox (when the DB holds several runs); writes ``?run=`` into the URL."""
    frame = q_runs(ctx.db, ctx.mtime)
    if len(frame) > 1:
        described = {int(r.run_id): describe(r) for r in frame.itertuples()}
        st.session_state["w_run_id"] = ctx.run_id
        st.selectbox(
            t("app.run"),
            list(described),
            format_func=described.get,
            key="w_run_id",
            on_change=_picked,
        )
        st.query_params["run"] = str(ctx.run_id)
        st.session_state["url_run"] = str(ctx.run_id)
    else:
        st.session_state["run_id"] = ctx.run_id
