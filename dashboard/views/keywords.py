"""Keywords: per ward, the words of the explanations that predict it (core.mining)."""

from __future__ import annotations

import shlex
from dataclasses import replace

import pandas as pd
import streamlit as st

from dashboard import charts, context, data, fmt, miner, nav, tables, urlstate, widgets
from dashboard.i18n import t
from dashboard.settings import DEFAULTS, MAX_MIN_DF, MINE_TOP, MiningSettings, mining_settings
from dashboard.sidebyside import side_by_side_frame
from dashboard.text import escape_markdown
from dashboard.urlstate import Param

PARAMS = [
    Param("top", "kw_top", DEFAULTS.top, "int"),
    Param("min_df", "kw_min_df", DEFAULTS.min_df, "int"),
    Param("by", "kw_by", DEFAULTS.by),
    Param("stop", "kw_stopwords", ""),
    Param("ward", "kw_wards", None, "list"),
    Param("vs", "kw_vs", 0, "int"),
    Param("kind", "kw_kinds", [], "list"),  # [] (all kinds): a link without it resets to []
]
MAX_DEFAULT_WARDS = 12  # every ward of a typical run; a 1000-class model shows the first 12
SETTING_KEYS = ("kw_top", "kw_min_df", "kw_by", "kw_stopwords", "kw_kinds")


ctx = context.load_ctx()


def kinds_filter(slot, kinds_present: dict[str, int]) -> None:
    """Mine only some kinds of word (e.g. objects); a run without stored kinds says why not."""
    if not kinds_present:
        st.session_state["kw_kinds"] = []
        st.session_state.pop("w_kw_kinds", None)
        slot.caption(t("kw.kinds_missing"))
        return
    slot.multiselect(
        t("kw.kinds"),
        list(kinds_present),
        key=widgets.sticky("kw_kinds", []),
        select_all=widgets.select_all(),
        format_func=lambda k: t(f"kind.{k}"),
        placeholder=t("kw.kinds_all"),
        help=t("kw.kinds_help")
        + " "
        + ", ".join(
            t("kw.kind_count", kind=t(f"kind.{k}"), n=fmt.number(n, "count"))
            for k, n in kinds_present.items()
        ),
    )


def settings_panel(kinds_present: dict[str, int]) -> MiningSettings:
    """The mining settings expander; returns the settings it sets."""
    with st.expander(t("kw.settings"), icon=":material/tune:", expanded=False):
        s1, s2, s3, s4 = st.columns([2, 1, 2, 3])
        s1.slider(t("kw.top"), 3, MINE_TOP, key=widgets.sticky("kw_top", DEFAULTS.top))
        s2.number_input(
            t("kw.min_df"),
            1,
            MAX_MIN_DF,
            step=1,
            key=widgets.sticky("kw_min_df", DEFAULTS.min_df),
            help=t("kw.min_df_help"),
        )
        s3.radio(
            t("kw.label"),
            ["true", "pred"],
            horizontal=True,
            key=widgets.sticky("kw_by", DEFAULTS.by),
            format_func={"true": t("kw.label_true"), "pred": t("kw.label_pred")}.get,
            help=t("kw.label_help"),
        )
        s4.text_input(
            t("kw.stopwords"),
            key=widgets.sticky("kw_stopwords", ""),
            placeholder=t("kw.stopwords_placeholder"),
        )
        kinds_filter(st, kinds_present)
        for name in SETTING_KEYS:
            if f"w_{name}" in st.session_state:  # (no kinds widget on a run without kinds)
                widgets.keep(name)
        st.caption(t("kw.settings_note"))
    return mining_settings()


def mine_or_stop(ctx: context.Ctx, settings: MiningSettings):
    """The table for ``settings`` (or the previous one while it is refit), else stop."""
    try:
        result, fresh = miner.mined_at_once(ctx, settings, st.session_state.get("kw_shown"))
    except Exception as exc:  # e.g. too few documents for the miner; say so instead of crashing
        st.warning(escape_markdown(t("kw.no_keywords", reason=fmt.describe(exc))))
        st.stop()
    if fresh:
        st.session_state["kw_shown"] = settings
    else:
        updating_notice(ctx, settings)
    return result


def updating_notice(ctx: context.Ctx, settings: MiningSettings) -> None:
    """ "Updating…" over the previous table; reruns the page when the new one is ready."""

    @st.fragment(run_every=0.5)
    def _watch() -> None:
        if miner.mining_ready(ctx, settings):
            st.rerun(scope="app")
        st.info(t("kw.updating"), icon=":material/hourglass_top:")

    _watch()


def ward_picker(wards_all: list[str]) -> list[str]:
    """The wards multiselect: every ward by default (the first ``MAX_DEFAULT_WARDS`` of many)."""
    saved = st.session_state.get("kw_wards") or wards_all[:MAX_DEFAULT_WARDS]
    if len(wards_all) > MAX_DEFAULT_WARDS and not st.session_state.get("kw_wards"):
        st.caption(t("kw.first_wards", n=MAX_DEFAULT_WARDS, total=len(wards_all)))
    st.session_state["kw_wards"] = [w for w in saved if w in wards_all]
    if "w_kw_wards" in st.session_state:
        current = st.session_state["w_kw_wards"]
        st.session_state["w_kw_wards"] = (
            st.session_state["kw_wards"]
            if current is None
            else [w for w in current if w in wards_all]
        )
    wards = st.multiselect(
        t("kw.wards"),
        wards_all,
        key=widgets.sticky("kw_wards", st.session_state["kw_wards"]),
        select_all=widgets.select_all(),
        format_func=ctx.name,
        placeholder=t("kw.wards_placeholder"),
    )
    widgets.keep("kw_wards")
    return wards


def metrics(result, settings: MiningSettings) -> float | None:
    """The four headline numbers; returns the image model's accuracy."""
    m1, m2, m3, m4 = st.columns(4)
    widgets.accuracy_metric(m1, ctx, settings, t("kw.text_accuracy"))
    image_accuracy = data.q_run_stats(*ctx.key).image_accuracy  # the Overview's number
    m2.metric(t("kw.image_accuracy"), fmt.fmt_pct(image_accuracy))
    m3.metric(t("kw.baseline"), fmt.fmt_pct(result.baseline))
    m4.metric(
        t("kw.documents"),
        fmt.number(result.documents, "count"),
        help=t("kw.skipped", n=result.skipped),
    )
    return image_accuracy


def ward_charts(frame, wards: list[str], by: str, result) -> None:
    """One bar chart per ward (✓: a causal verified word); a click opens its confident photos."""
    chart_data = charts.keyword_chart_data(frame, result)
    x_domain = shared_domain(chart_data["weight"])
    per_row = 2 if len(wards) > 1 else 1
    for start in range(0, len(wards), per_row):
        for col, ward in zip(st.columns(per_row), wards[start : start + per_row], strict=False):
            with col:
                st.markdown(f"##### {escape_markdown(ctx.name(ward))}")
                part = chart_data[chart_data["ward"] == ward]
                if part.empty:
                    st.caption(t("kw.no_positive"))
                    continue
                event = charts.show(
                    "keywords",
                    part,
                    x_domain=x_domain,
                    on_select="rerun",
                    selection_mode=charts.WORD_SELECTION,
                    key=f"kw_chart_{ward}",
                    width="stretch",
                )
                picked = nav.picked(event, charts.WORD_SELECTION)
                if picked and picked.get("word"):
                    nav.go_to_photos(picked["word"], [ward], by)


def shared_domain(weights: pd.Series) -> list[float]:
    """One coefficient scale for every ward's chart (room on the right for the n/m labels)."""
    low = min(0.0, float(weights.min())) if len(weights) else 0.0
    high = max(0.0, float(weights.max())) if len(weights) else 1.0
    return [round(low * 1.1, 2), round(high * 1.25 + 0.01, 2)]


def scatter(frame: pd.DataFrame, by: str) -> None:
    """Precision against coefficient, each ward's top words named; a click opens the photos."""
    st.subheader(t("kw.scatter"))
    shown = frame.assign(ward_key=frame["ward"], ward=frame["ward"].map(ctx.name))
    shown["label"] = charts.scatter_labels(shown)
    event = charts.show(
        "scatter",
        shown,
        width="stretch",
        on_select="rerun",
        selection_mode=charts.WORD_SELECTION,
        key="kw_scatter",
    )
    picked = nav.picked(event, charts.WORD_SELECTION)
    if picked and picked.get("word"):
        nav.go_to_photos(picked["word"], [picked.get("ward_key")], by)


def word_picker(frame, by: str) -> None:
    """A word selectbox and the button to its ward's most confident photos."""
    choices = list(frame[["word", "ward", "n", "m"]].itertuples(index=False, name=None))
    c1, c2 = st.columns([4, 1], vertical_alignment="bottom")
    labels = [f"{word}  ·  {ctx.name(ward)}  ({n}/{m})" for word, ward, n, m in choices]
    picked_label = c1.selectbox(t("kw.word"), labels, key="kw_pick", help=t("kw.word_help"))
    if c2.button(t("kw.show_photos"), icon=":material/photo_library:", key="kw_show") and (
        picked_label
    ):
        word, ward = choices[labels.index(picked_label)][:2]
        nav.go_to_photos(word, [ward], by)


def summary_line(result, image_accuracy: float | None) -> str:
    """The table's summary in the screen's language (the numbers of ``MiningResult.summary``)."""
    full = replace(result, image_accuracy=image_accuracy)
    return t(
        "kw.summary",
        image=fmt.number(full.image_accuracy),
        baseline=fmt.number(full.baseline),
        documents=fmt.number(full.documents, "count"),
        skipped=fmt.number(full.skipped, "count"),
    )


def keyword_table(result, settings: MiningSettings, wards: list[str], image_accuracy) -> None:
    """The table as ``wordcam mine`` prints it and its CSV; with stored effects, by word.

    A click on a cell (a word of a ward) or a row opens that word's photos in that ward.
    """
    st.subheader(t("kw.table"))
    st.caption(escape_markdown(summary_line(result, image_accuracy)))
    frame = tables.keywords_frame(result, settings.top, wards)
    if result.verification is not None:
        effect_table(frame, result, settings.by)
        return
    table = tables.keywords_table(result.in_lang(ctx.ui), settings.top, wards)  # issue 23
    shown_wards = list(table.columns)
    table = table.rename(columns=ctx.name).rename_axis(t("rp.rank"))
    event = st.dataframe(
        table,
        width="stretch",
        on_select="rerun",
        selection_mode="single-cell",
        key="kw_table_pick",
    )
    cell = nav.picked_cell(event)
    if cell is not None and cell[1] in list(table.columns):
        ward = shown_wards[list(table.columns).index(cell[1])]
        hit = frame[(frame["ward"] == ward) & (frame["rank"] == cell[0] + 1)]
        if not hit.empty:
            nav.go_to_photos(str(hit["word"].iloc[0]), [ward], settings.by)
    st.caption(t("kw.table_click"))
    widgets.csv_button(
        tables.keyword_effects_frame(frame, result, ctx.name, t).drop(columns=["ward_key"]),
        f"keywords_run{ctx.run_id}.csv",
        "kw_csv",
    )
    db = shlex.quote(str(ctx.db)).replace("`", "")
    st.caption(t("verify.none_stored", db=db))


def effect_table(frame: pd.DataFrame, result, by: str) -> None:
    """The keywords with their stored effects, optionally sorted by effect, and its CSV.

    Interval as two numeric columns, n and m apart; a click on a row opens its photos.
    """
    by_effect = st.toggle(t("verify.sort_by_effect"), key="kw_sort_effect")
    table = tables.keyword_effects_frame(frame, result, ctx.name, t, by_effect)
    kinds = {
        t("chart.precision"): "share",
        t("chart.coefficient"): "coef",
        t("verify.effect_column"): "effect",
        t("tab.ci_low"): "effect",
        t("tab.ci_high"): "effect",
    }
    event = st.dataframe(
        fmt.styled(table, kinds),
        hide_index=True,
        width="stretch",
        column_config={
            t("verify.effect_column"): st.column_config.NumberColumn(help=t("verify.effect_help")),
            "ward_key": None,
        },
        on_select="rerun",
        selection_mode="single-row",
        key="kw_effects_pick",
    )
    row = nav.picked_row(event)
    if row is not None and row < len(table):
        nav.go_to_photos(str(table[t("chart.word")].iloc[row]), [table["ward_key"].iloc[row]], by)
    st.caption(t("kw.table_click"))
    widgets.csv_button(
        table.drop(columns=["ward_key"]), f"keywords_run{ctx.run_id}_effects.csv", "kw_csv"
    )


def other_runs() -> dict[int, str]:
    """The DB's other runs, described, for the side-by-side comparison."""
    from dashboard.runs import describe

    frame = data.q_runs(ctx.db, ctx.mtime)
    return {int(r.run_id): describe(r) for r in frame.itertuples() if int(r.run_id) != ctx.run_id}


def side_by_side(result, settings: MiningSettings, wards: list[str]) -> None:
    """Two runs' top words per ward next to each other (e.g. grounded vs a VLM)."""
    others = other_runs()
    if not others:
        return
    st.subheader(t("kw.side_by_side"))
    options = [0, *others]
    if st.session_state.get("kw_vs") not in options:
        st.session_state["kw_vs"] = st.session_state["w_kw_vs"] = 0
    other = st.selectbox(
        t("kw.vs_run"),
        options,
        key=widgets.sticky("kw_vs", 0),
        format_func={0: t("kw.vs_none"), **others}.get,
    )
    widgets.keep("kw_vs")
    if not other:
        return
    info = data.q_run_info(ctx.db, ctx.mtime, other)
    other_ctx = context.Ctx(ctx.db, ctx.mtime, other, info, ctx.ui)
    try:
        theirs = miner.mined(other_ctx, settings)
    except Exception as exc:  # the other run cannot be mined with these settings
        st.warning(escape_markdown(t("kw.no_keywords", reason=fmt.describe(exc))))
        return
    ours, theirs = result.in_lang(ctx.ui), theirs.in_lang(ctx.ui)  # the screen's language
    frame = side_by_side_frame(ours, theirs, settings.top, wards, (ctx.run_id, other), ctx.name)
    frame = frame.rename_axis(t("rp.rank"))
    st.dataframe(frame, width="stretch")
    widgets.csv_button(frame, f"keywords_run{ctx.run_id}_vs_run{other}.csv", "kw_vs_csv", True)


st.title(t("page.keywords"))
problem = miner.mining_error()
if problem:
    st.warning(escape_markdown(problem))
    st.stop()

urlstate.restore("keywords", PARAMS)
settings = settings_panel(data.q_word_kinds(*ctx.key))
result = mine_or_stop(ctx, settings)
miner.prefetch_mining(ctx, settings)  # the other label source, in the background
wards_all = list(result.classes)
if not wards_all:
    st.info(t("kw.no_words"))
    st.stop()
wards = ward_picker(wards_all)
image_accuracy = metrics(result, settings)
if not wards:
    urlstate.publish("keywords", PARAMS)
    st.info(t("kw.choose_ward"))
    st.stop()

frame = tables.keywords_frame(result, settings.top, wards)
st.subheader(t("kw.top_words"))
st.caption(t("kw.top_words_caption"))
ward_charts(frame, wards, settings.by, result)
word_picker(frame, settings.by)

scatter(frame, settings.by)
keyword_table(result, settings, wards, image_accuracy)
side_by_side(result, settings, wards)
urlstate.publish("keywords", PARAMS)
