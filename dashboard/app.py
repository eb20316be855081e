"""Entry point of the wordcam dashboard: ``streamlit run dashboard/app.py -- --db DB``.

(``wordcam dashboard --db DB`` runs exactly that.) The DB may also be given through the
``WORDCAM_DB`` environment variable; it defaults to ``core.store.DEFAULT_DB``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import context, data, fmt, nav, state

st.set_page_config(page_title="wordcam", page_icon=":material/image_search:", layout="wide")

pages = [
    st.Page(nav.PAGES["overview"], title="Overview", icon=":material/dashboard:", default=True),
    st.Page(nav.PAGES["keywords"], title="Keywords", icon=":material/sell:"),
    st.Page(nav.PAGES["compare"], title="Compare words", icon=":material/compare_arrows:"),
    st.Page(nav.PAGES["photos"], title="Photos", icon=":material/photo_library:"),
    st.Page(nav.PAGES["precompute"], title="Precompute", icon=":material/play_circle:"),
    st.Page(nav.PAGES["export"], title="Export", icon=":material/download:"),
]
page = st.navigation(pages)

db = state.db_path()
with st.sidebar:
    st.caption("Database")
    st.text(str(db))
    ctx = context.load_ctx(stop=False)
    if ctx is not None:
        runs = data.q_runs(ctx.db, ctx.mtime)
        if len(runs) > 1:
            described = {
                int(r.run_id): f"#{r.run_id} · {r.kind} · {r.explainer} · {r.mode} · "
                f"{r.n_done} done"
                for r in runs.itertuples()
            }
            st.selectbox("Run", list(described), format_func=described.get, key="run_id")
        else:
            st.session_state["run_id"] = ctx.run_id
        st.caption(f"snapshot {fmt.snapshot_time(ctx.mtime)}")
    if st.button("Reload results", icon=":material/refresh:", help="pick up a newly published DB"):
        st.rerun()

page.run()
