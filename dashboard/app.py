"""Entry point of the wordcam dashboard: ``streamlit run dashboard/app.py -- --db DB``.

(``wordcam dashboard --db DB`` runs exactly that.) The DB may also be given through the
``WORDCAM_DB`` environment variable; it defaults to ``core.store.DEFAULT_DB``.
"""

from __future__ import annotations

import streamlit as st

from dashboard import context, fmt, i18n, icon, nav, runs
from dashboard.i18n import t

# The icon is drawn here: a Material icon or an emoji as page_icon makes the browser fetch the
# favicon from a font CDN, and the dashboard makes no request outside the machine (issue 23).
st.set_page_config(page_title="wordcam", page_icon=icon.favicon(), layout="wide")

runs.run_from_url()
ctx = context.load_ctx(stop=False)
i18n.choose_lang(ctx.lang if ctx is not None else None)
page = st.navigation(nav.pages())

with st.sidebar:
    i18n.language_switch()
    st.caption(t("app.database"))
    st.text(str(context.db_path()))
    if ctx is not None:
        runs.run_picker(ctx)
        st.caption(t("app.snapshot", time=fmt.snapshot_time(ctx.mtime)))
    if st.button(t("app.reload"), icon=":material/refresh:", help=t("app.reload_help")):
        st.rerun()

page.run()
