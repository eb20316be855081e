"""Compare words (e.g. 密集 vs 群) across wards, and contrast two wards."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, context, data, fmt, miner, nav, urlstate, widgets
from dashboard.i18n import t
from dashboard.text import escape_markdown, highlight_markdown
from dashboard.urlstate import Param

PARAMS = [
    Param("word", "cmp_words", None, "list"),
    Param("by", "cmp_by", "true"),
    Param("from", "cmp_example_ward", ""),
    Param("a", "cmp_a", ""),
    Param("b", "cmp_b", ""),
    Param("top", "cmp_top", 10, "int"),
]


ctx = context.load_ctx()


def word_picker(options: list[str]) -> tuple[list[str], str]:
    """The words multiselect and the label source; words of a link the run lacks are named."""
    known = set(options)
    defaults = [w for w in ("密集", "群") if w in known] or options[:2]
    asked = st.session_state.get("w_cmp_words")
    if isinstance(asked, list):
        dropped = [w for w in asked if w not in known]
        if dropped:
            kept = [w for w in asked if w in known]
            st.session_state["cmp_dropped"] = (dropped, kept)
            st.session_state["w_cmp_words"] = kept or None
    dropped, kept = st.session_state.get("cmp_dropped") or ([], None)
    if dropped and st.session_state.get("w_cmp_words") in (kept, None):
        st.warning(
            t("cmp.dropped", words=escape_markdown(", ".join(dropped))), icon=":material/warning:"
        )
    if st.session_state.get("w_cmp_words") is None:
        st.session_state.pop("w_cmp_words", None)
        st.session_state["cmp_words"] = st.session_state.get("cmp_words") or defaults
    c1, c2 = st.columns([4, 2])
    words = c1.multiselect(
        t("cmp.words"),
        options,
        key=widgets.sticky("cmp_words", defaults),
        select_all=widgets.select_all(),
        max_selections=6,
        placeholder=t("cmp.words_placeholder"),
        help=t("cmp.words_help"),
    )
    by = widgets.ward_by_radio(c2, "cmp_by")
    widgets.keep("cmp_words")
    return words, by


def word_charts(stats: pd.DataFrame) -> None:
    """Precision and document share of the words, per ward."""
    shown = stats.assign(label_key=stats["label"], label=stats["label"].map(ctx.name))
    left, right = st.columns(2)
    for slot, field, title in (
        (left, "precision", "precision_nm"),
        (right, "doc_share", "doc_share"),
    ):
        with slot:
            st.subheader(t(f"cmp.{field}"))
            st.caption(t(f"cmp.{field}_caption"))
            event = charts.show(
                "compare",
                shown,
                {"field": field, "title": t(f"chart.{title}")},
                width="stretch",
                on_select="rerun",
                selection_mode=charts.WORD_SELECTION,
                key=f"cmp_chart_{field}",
            )
            picked = nav.picked(event, charts.WORD_SELECTION)
            if picked and picked.get("word"):
                nav.go_to_photos(picked["word"], [picked.get("label_key")], by_now())


def word_table(stats: pd.DataFrame, words: list[str]) -> None:
    """Ward x word table of ``n/m`` cells (a click opens the photos), and its CSV (n, m apart)."""
    wide = stats.assign(cell=stats["n"].astype(str) + "/" + stats["m"].astype(str)).pivot(
        index="label", columns="word", values="cell"
    )[list(words)]
    keys = list(wide.index)
    wide = wide.rename(index=ctx.name).rename_axis(index=t("cmp.ward"), columns=None)
    event = st.dataframe(
        wide, width="stretch", on_select="rerun", selection_mode="single-cell", key="cmp_table"
    )
    cell = nav.picked_cell(event)
    if cell is not None and cell[1] in words and cell[0] < len(keys):
        nav.go_to_photos(cell[1], [keys[cell[0]]], by_now())
    widgets.csv_button(comparison_frame(stats), f"word_comparison_run{ctx.run_id}.csv", "cmp_csv")


def comparison_frame(stats: pd.DataFrame) -> pd.DataFrame:
    """The comparison for a spreadsheet: one row per ward and word, n and m apart."""
    return pd.DataFrame(
        {
            t("chart.ward"): stats["label"].map(ctx.name),
            t("chart.word"): stats["word"],
            "n": stats["n"].astype(int),
            "m": stats["m"].astype(int),
            t("chart.precision"): stats["precision"].astype(float),
            t("chart.documents"): stats["docs"].astype(int),
            t("chart.doc_share"): stats["doc_share"].astype(float),
        }
    )


def by_now() -> str:
    """The label source chosen on this page ("true" or "pred")."""
    return str(st.session_state.get("cmp_by") or "true")


def example_sentences(words: list[str], by: str) -> None:
    """Sentences around each word (from one ward or any), and buttons to their photos."""
    st.subheader(t("cmp.examples"))
    wards = data.q_labels(*ctx.key, by)
    if st.session_state.get("w_cmp_example_ward") not in ["", *wards]:
        st.session_state["w_cmp_example_ward"] = ""
    example_ward = st.selectbox(
        t("cmp.from_ward"),
        ["", *wards],
        format_func={"": t("cmp.any_ward"), **{w: ctx.name(w) for w in wards}}.get,
        key=widgets.sticky("cmp_example_ward", ""),
    )
    widgets.keep("cmp_example_ward")
    for col, word in zip(st.columns(len(words)), words, strict=True):
        with col:
            st.markdown(f"##### {escape_markdown(word)}")
            examples = miner.word_examples(ctx, word, example_ward or None, by, 4)
            if not examples:
                st.caption(t("cmp.no_example"))
            for label, sentence in examples:
                st.markdown(
                    f":gray[{escape_markdown(ctx.name(label) or '—')}] · "
                    + highlight_markdown(sentence, word)
                )
            if st.button(
                t("cmp.show_photos"), key=f"cmp_photos_{word}", icon=":material/photo_library:"
            ):
                nav.go_to_photos(word, [example_ward] if example_ward else [], by)


def ward_pair(wards: list[str]) -> tuple[str, str, int]:
    """The two wards to contrast and the number of words per side."""
    for key, index in (("cmp_a", 0), ("cmp_b", 1)):
        if st.session_state.get(key) not in wards:
            st.session_state[key] = st.session_state[f"w_{key}"] = wards[index]
    a_col, b_col, k_col = st.columns([2, 2, 1])
    a = a_col.selectbox(
        t("cmp.first"), wards, key=widgets.sticky("cmp_a", wards[0]), format_func=ctx.name
    )
    b = b_col.selectbox(
        t("cmp.second"), wards, key=widgets.sticky("cmp_b", wards[1]), format_func=ctx.name
    )
    top = k_col.number_input(t("cmp.per_side"), 3, 30, key=widgets.sticky("cmp_top", 10))
    for name in ("cmp_a", "cmp_b", "cmp_top"):
        widgets.keep(name)
    return a, b, int(top)


def contrast(by: str) -> None:
    """Ward vs ward: the words that mark one ward against the other."""
    st.header(t("cmp.ward_vs_ward"))
    problem = miner.mining_error()
    wards = data.q_labels(*ctx.key, by)
    if problem:
        st.warning(escape_markdown(problem))
        return
    if len(wards) < 2:
        st.info(t("cmp.need_two"))
        return
    a, b, top = ward_pair(wards)
    if a == b:
        st.info(t("cmp.pick_two"))
        return
    from core.mining import shown_kinds

    kinds = shown_kinds(list(data.q_word_kinds(*ctx.key)))  # guesses hidden, as in Keywords
    if kinds:
        st.caption(t("cmp.guesses_hidden"))
    try:
        result = miner.contrast(*ctx.key, by, ctx.lang, a, b, top, 2, kinds)
    except Exception as exc:  # the miner refuses some inputs; say why
        st.warning(escape_markdown(t("cmp.cannot", reason=fmt.describe(exc))))
        return
    rows = pd.DataFrame(result.rows, columns=["side", "word", "n_a", "n_b", "z"])
    rows = rows.assign(side_key=rows["side"], side=rows["side"].map(ctx.name))
    st.caption(t("cmp.documents", a=result.docs_a, b=result.docs_b))
    event = charts.show(
        "contrast",
        rows,
        {"a": ctx.name(a), "b": ctx.name(b)},
        width="stretch",
        on_select="rerun",
        selection_mode=charts.WORD_SELECTION,
        key="cmp_contrast_chart",
    )
    picked = nav.picked(event, charts.WORD_SELECTION)
    if picked and picked.get("word"):
        nav.go_to_photos(picked["word"], [picked.get("side_key")], by)
    shown = rows.rename(
        columns={
            "side": t("chart.marks"),
            "word": t("chart.word"),
            "n_a": t("chart.docs_first"),
            "n_b": t("chart.docs_second"),
            "z": t("chart.z"),
        }
    )
    st.session_state["cmp_last_contrast"] = shown.drop(columns=["side_key"])
    event = st.dataframe(
        fmt.styled(shown, {t("chart.z"): "z"}),
        hide_index=True,
        width="stretch",
        column_config={"side_key": None},
        on_select="rerun",
        selection_mode="single-row",
        key="cmp_contrast_table",
    )
    row = nav.picked_row(event)
    if row is not None and row < len(rows):
        nav.go_to_photos(str(rows["word"].iloc[row]), [rows["side_key"].iloc[row]], by)
    widgets.csv_button(
        shown.drop(columns=["side_key"]), f"ward_contrast_run{ctx.run_id}.csv", "cmp_contrast_csv"
    )


st.title(t("page.compare"))
vocab = data.q_vocabulary(*ctx.key, 1)
if vocab.empty:
    st.info(t("cmp.no_tokens"))
    st.stop()
urlstate.restore("compare", PARAMS)
words, by = word_picker(vocab["term"].tolist())
if words:
    stats = data.q_word_stats(*ctx.key, tuple(words), by)
    st.session_state["cmp_last_stats"] = comparison_frame(stats)
    word_charts(stats)
    word_table(stats, words)
    example_sentences(words, by)
else:
    st.info(t("cmp.pick_words"))
st.divider()
contrast(by)
urlstate.publish("compare", PARAMS)
