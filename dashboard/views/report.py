"""Report: the ward report of the open run (core.report), previewed and downloaded as one file."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import context, fmt, nav, urlstate, widgets
from dashboard.i18n import lang, t
from dashboard.text import escape_markdown
from dashboard.urlstate import Param

PARAMS = [Param("top", "rp_top", 5, "int"), Param("photos", "rp_photos", 2, "int")]


@st.cache_resource(max_entries=8, show_spinner=False)
def build(db: str, mtime: int, run_id: int, language: str, top: int, photos: int):
    """The report (cached per snapshot, run, language and sizes), its HTML and its Markdown ZIP."""
    from core.report import build_report, render_html
    from core.report.render import markdown_zip

    report = build_report(db, run_id, language, top=top, photos=photos)
    name = f"wordcam_report_run{run_id}_{language}"
    return report, render_html(report).encode("utf-8"), markdown_zip(report, name)


def preview(report) -> None:
    """Per ward its words: n, m, coefficient and the verified effect (the report's tables).

    A click on a row opens that word's photos in that ward; the CSV has the same columns.
    """
    rows = [
        (s.name, i, w.word, w.n, w.m, round(w.weight, 3), w.effect, s.ward)
        for s in report.sections
        for i, w in enumerate(s.words, start=1)
    ]
    columns = [t("rp.ward"), t("rp.rank"), t("rp.word"), "n", "m", t("rp.coefficient")]
    frame = pd.DataFrame(rows, columns=[*columns, t("verify.effect_column"), "ward_key"])
    if not frame[t("verify.effect_column")].astype(bool).any():
        frame = frame.drop(columns=[t("verify.effect_column")])
    event = st.dataframe(
        fmt.styled(frame, {t("rp.coefficient"): "coef"}),
        hide_index=True,
        width="stretch",
        column_config={"ward_key": None},
        on_select="rerun",
        selection_mode="single-row",
        key="rp_pick",
    )
    row = nav.picked_row(event)
    if row is not None and row < len(frame):
        nav.go_to_photos(str(frame[t("rp.word")].iloc[row]), [frame["ward_key"].iloc[row]])
    st.caption(t("kw.table_click"))
    widgets.csv_button(
        frame.drop(columns=["ward_key"]), f"report_words_run{report.run_id}.csv", "rp_csv"
    )


ctx = context.load_ctx()
st.title(t("page.report"))
st.caption(t("rp.caption"))
urlstate.restore("report", PARAMS)
c1, c2 = st.columns(2)
top = c1.number_input(t("rp.top"), 1, 20, step=1, key=widgets.sticky("rp_top", 5))
photos = c2.number_input(t("rp.photos"), 0, 5, step=1, key=widgets.sticky("rp_photos", 2))
for name in ("rp_top", "rp_photos"):
    widgets.keep(name)
urlstate.publish("report", PARAMS)
try:
    with st.spinner(t("rp.building")):
        report, html, markdown = build(*ctx.key, lang(), int(top), int(photos))
except Exception as exc:  # e.g. a single class: nothing to mine
    from dashboard.fmt import describe

    st.warning(escape_markdown(t("rp.cannot", reason=describe(exc))))
    st.stop()
d1, d2 = st.columns(2)
d1.download_button(
    t("rp.download_html"),
    html,
    file_name=f"wordcam_report_run{ctx.run_id}_{lang()}.html",
    mime="text/html",
    icon=":material/download:",
    on_click="ignore",
    key="rp_html",
    type="primary",
)
d2.download_button(
    t("rp.download_md"),
    markdown,
    file_name=f"wordcam_report_run{ctx.run_id}_{lang()}.zip",
    mime="application/zip",
    icon=":material/download:",
    on_click="ignore",
    key="rp_md",
)
st.caption(t("rp.size", kb=f"{len(html) / 1024:,.0f}", wards=len(report.sections)))
preview(report)
