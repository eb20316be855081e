"""Keywords: per ward, the words of the explanations that predict it (core.mining)."""

from __future__ import annotations

from dataclasses import replace

import streamlit as st

from dashboard import charts, context, data, fmt, miner, nav, tables, widgets
from dashboard.settings import MAX_MIN_DF, MINE_TOP, mining_settings
from dashboard.text import escape_markdown

ctx = context.load_ctx()
st.title("Keywords")

problem = miner.mining_error()
if problem:
    st.warning(escape_markdown(problem))
    st.stop()

with st.expander("Mining settings", icon=":material/tune:", expanded=False):
    s1, s2, s3, s4 = st.columns([2, 1, 2, 3])
    s1.slider("Top K words per ward", 3, MINE_TOP, key=widgets.sticky("kw_top", 10))
    s2.number_input(
        "Minimum document frequency",
        1,
        MAX_MIN_DF,
        step=1,
        key=widgets.sticky("kw_min_df", 2),
        help="ignore words found in fewer explanations than this",
    )
    s3.radio(
        "Label",
        ["true", "pred"],
        horizontal=True,
        key=widgets.sticky("kw_by", "true"),
        format_func={"true": "true (folder)", "pred": "predicted"}.get,
        help="mine words against the folder label or the model's prediction",
    )
    s4.text_input(
        "Extra stop words",
        key=widgets.sticky("kw_stopwords", ""),
        placeholder="e.g. 画像 写真 (space or comma separated)",
    )
    for name in ("kw_top", "kw_min_df", "kw_by", "kw_stopwords"):
        widgets.keep(name)
    st.caption("Changing these only re-runs the miner on the stored tokens; no precompute needed.")

settings = mining_settings()
try:
    result = miner.mined(ctx, settings)
except Exception as exc:  # e.g. too few documents for the miner; say so instead of crashing
    st.warning(escape_markdown(f"No keywords: {fmt.describe(exc)}"))
    st.stop()

miner.prefetch_mining(ctx, settings)  # the other label source, in the background
wards_all = list(result.classes)
if not wards_all:
    st.info(
        "No keywords: the corpus has no labelled explanations with enough words. Try a "
        "lower minimum document frequency."
    )
    st.stop()

saved = [w for w in st.session_state.get("kw_wards", wards_all[:4]) if w in wards_all]
if "w_kw_wards" in st.session_state:
    st.session_state["w_kw_wards"] = [w for w in st.session_state["w_kw_wards"] if w in wards_all]
wards = st.multiselect(
    "Wards",
    wards_all,
    key=widgets.sticky("kw_wards", saved),
    placeholder="choose one or more wards",
)
widgets.keep("kw_wards")

m1, m2, m3, m4 = st.columns(4)
widgets.accuracy_metric(m1, ctx, settings, "Words → label accuracy")
image_accuracy = data.q_run_stats(*ctx.key).image_accuracy  # the Overview's number
m2.metric("Image model accuracy", fmt.fmt_pct(image_accuracy))
m3.metric("Majority baseline", fmt.fmt_pct(result.baseline))
m4.metric("Documents", f"{result.documents:,}", help=f"skipped: {result.skipped}")

if not wards:
    st.info("Choose at least one ward above.")
    st.stop()

frame = tables.keywords_frame(result, settings.top, wards)
st.subheader("Top words per ward")
st.caption(
    "Bars: logistic-regression coefficient; n/m: explanations of the ward containing the "
    "word / all explanations containing it. Click a bar to see its photos."
)
chart_data = charts.keyword_chart_data(frame)
per_row = 2 if len(wards) > 1 else 1
for start in range(0, len(wards), per_row):
    for col, ward in zip(st.columns(per_row), wards[start : start + per_row], strict=False):
        with col:
            st.markdown(f"##### {escape_markdown(ward)}")
            part = chart_data[chart_data["ward"] == ward]
            if part.empty:
                st.caption("no word with a positive coefficient")
                continue
            event = charts.show(
                "keywords",
                part,
                on_select="rerun",
                selection_mode=charts.WORD_SELECTION,
                key=f"kw_chart_{ward}",
                width="stretch",
            )
            picked = event.selection.get(charts.WORD_SELECTION) or [] if event else []
            if picked and picked[0].get("word"):
                nav.go_to_photos(picked[0]["word"], [ward], settings.by)

choices = list(frame[["word", "ward", "n", "m"]].itertuples(index=False, name=None))
c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
labels = [f"{word}  ·  {ward}  ({n}/{m})" for word, ward, n, m in choices]
picked_label = c1.selectbox(
    "Word", labels, key="kw_pick", help="or click a bar in the charts above"
)
if c2.button("Show photos", icon=":material/photo_library:", key="kw_show") and picked_label:
    word, ward = choices[labels.index(picked_label)][:2]
    nav.go_to_photos(word, [ward], settings.by)

st.subheader("Precision vs coefficient")
charts.show("scatter", frame, width="stretch")

st.subheader("Table (as `wordcam mine` prints it)")
table = tables.keywords_table(result, settings.top, wards)
summary = replace(result, image_accuracy=image_accuracy).summary()
st.caption(escape_markdown(summary.replace("text accuracy n/a · ", "")))
st.dataframe(table, width="stretch")
st.download_button(
    "Download table (CSV)",
    tables.to_csv_bytes(table, index=True),
    file_name=f"keywords_run{ctx.run_id}.csv",
    mime="text/csv",
    icon=":material/download:",
    on_click="ignore",
    key="kw_csv",
)
