"""Compare words (e.g. 密集 vs 群) across wards, and contrast two wards."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, context, data, fmt, miner, nav, widgets
from dashboard.text import escape_markdown, highlight_markdown

ctx = context.load_ctx()
st.title("Compare words")

vocab = data.q_vocabulary(*ctx.key, 1)
if vocab.empty:
    st.info("This run has no tokenized explanations yet.")
    st.stop()
options = vocab["term"].tolist()
defaults = [w for w in ("密集", "群") if w in set(options)] or options[:2]
c1, c2 = st.columns([4, 2])
words = c1.multiselect(
    "Words",
    options,
    key=widgets.sticky("cmp_words", defaults),
    max_selections=6,
    placeholder="pick two or more words",
    help="sorted by how many explanations contain them",
)
by = widgets.ward_by_radio(c2, "cmp_by")
widgets.keep("cmp_words")

if words:
    stats = data.q_word_stats(*ctx.key, tuple(words), by)
    st.session_state["cmp_last_stats"] = stats
    left, right = st.columns(2)
    with left:
        st.subheader("Precision per ward")
        st.caption("n/m: explanations of the ward with the word / all explanations with it")
        charts.show(
            "compare", stats, {"field": "precision", "title": "precision n/m"}, width="stretch"
        )
    with right:
        st.subheader("Document frequency per ward")
        st.caption("share of the ward's explanations that contain the word")
        charts.show(
            "compare", stats, {"field": "doc_share", "title": "share of documents"}, width="stretch"
        )
    wide = stats.assign(cell=stats["n"].astype(str) + "/" + stats["m"].astype(str)).pivot(
        index="label", columns="word", values="cell"
    )[list(words)]
    st.dataframe(wide.rename_axis(index="ward", columns=None), width="stretch")

    st.subheader("Example sentences")
    example_ward = st.selectbox(
        "From ward",
        [None, *data.q_labels(*ctx.key, by)],
        format_func=lambda w: "any ward" if w is None else w,
        key="cmp_example_ward",
    )
    cols = st.columns(len(words))
    for col, word in zip(cols, words, strict=True):
        with col:
            st.markdown(f"##### {escape_markdown(word)}")
            examples = miner.word_examples(ctx, word, example_ward, by, 4)
            if not examples:
                st.caption("no explanation contains it")
            for label, sentence in examples:
                st.markdown(
                    f":gray[{escape_markdown(label or '—')}] · "
                    + highlight_markdown(sentence, word)
                )
            if st.button("Show photos", key=f"cmp_photos_{word}", icon=":material/photo_library:"):
                nav.go_to_photos(word, [example_ward] if example_ward else [], by)
else:
    st.info("Pick words to compare.")

st.divider()
st.header("Ward vs ward")
problem = miner.mining_error()
wards = data.q_labels(*ctx.key, by)
if problem:
    st.warning(escape_markdown(problem))
elif len(wards) < 2:
    st.info("Contrasting needs at least two wards.")
else:
    a_col, b_col, k_col = st.columns([2, 2, 1])
    a = a_col.selectbox("First ward", wards, index=0, key="cmp_a")
    b = b_col.selectbox("Second ward", wards, index=1, key="cmp_b")
    top = k_col.number_input("Words per side", 3, 30, 10, key="cmp_top")
    if a == b:
        st.info("Pick two different wards.")
    else:
        try:
            result = miner.contrast(*ctx.key, by, ctx.lang, a, b, int(top), 2)
        except Exception as exc:  # the miner refuses some inputs; say why
            st.warning(escape_markdown(f"Cannot contrast: {fmt.describe(exc)}"))
        else:
            rows = pd.DataFrame(result.rows, columns=["side", "word", "n_a", "n_b", "z"])
            st.session_state["cmp_last_contrast"] = rows
            st.caption(f"documents: {result.docs_a:,} vs {result.docs_b:,}")
            charts.show("contrast", rows, {"a": a, "b": b}, width="stretch")
            st.dataframe(
                rows.rename(
                    columns={"side": "marks", "n_a": "docs in first", "n_b": "docs in second"}
                ),
                hide_index=True,
                width="stretch",
                column_config={"z": st.column_config.NumberColumn(format="%.2f")},
            )
