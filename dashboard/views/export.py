"""Export: every table as CSV, UTF-8 with a BOM so that Excel shows Japanese correctly."""

from __future__ import annotations

import streamlit as st

from core.store import queries, reading
from dashboard import context, data, fmt, miner, tables, urlstate
from dashboard.i18n import t
from dashboard.labels import value
from dashboard.settings import mining_settings
from dashboard.text import escape_markdown

ctx = context.load_ctx()
st.title(t("page.export"))
urlstate.publish("export", [])
st.caption(t("ex.caption"))

settings = mining_settings()
run = f"run{ctx.run_id}"


def offer(
    title: str,
    frame,
    file_name: str,
    key: str,
    index: bool = False,
    note: str = "",
    rows: int | None = None,
) -> None:
    """A titled download button; ``frame`` may be a callable producing the CSV bytes."""
    csv = frame if callable(frame) else tables.to_csv_bytes(frame, index=index)
    count = rows if rows is not None else len(frame)
    with st.container(border=True):
        c1, c2 = st.columns([4, 1], vertical_alignment="center")
        c1.markdown(
            f"**{title}**  \n:gray[{t('ex.rows', n=fmt.number(count, 'count'))} · {escape_markdown(note)}]"
        )
        c2.download_button(
            t("w.csv"),
            csv,
            file_name=file_name,
            mime="text/csv",
            icon=":material/download:",
            key=key,
            on_click="ignore",
            width="stretch",
        )


problem = miner.mining_error()
result = None
if problem:
    st.warning(escape_markdown(problem))
else:
    try:
        result = miner.mined(ctx, settings)
    except Exception as exc:  # e.g. a single class: nothing to mine, the other tables remain
        st.warning(escape_markdown(t("ex.no_tables", reason=fmt.describe(exc))))
if result is not None:
    note = t("ex.note", top=settings.top, min_df=settings.min_df, by=value("by", settings.by)) + (
        t("ex.note_stopwords", n=len(settings.stopwords)) if settings.stopwords else ""
    )
    wide = tables.keywords_table(result.in_lang(ctx.ui), settings.top)  # the screen's language
    offer(
        t("ex.table"),
        wide.rename(columns=ctx.name).rename_axis(t("rp.rank")),
        f"keywords_table_{run}.csv",
        "ex_table",
        index=True,
        note=note,
    )
    # one row per ward and word: n and m apart, and (when verified) the effect, its interval
    # as two numeric columns and the verdict, headed in the screen's language
    offer(
        t("ex.keywords"),
        tables.keyword_effects_frame(
            tables.keywords_frame(result, settings.top), result, ctx.name, t
        ).drop(columns=["ward_key"]),
        f"keywords_{run}.csv",
        "ex_keywords",
        note=note + ("" if result.verification is None else " · " + t("ex.with_effects")),
    )

stats = st.session_state.get("cmp_last_stats")
if stats is not None:
    offer(
        t("ex.compare"),
        stats,
        f"word_comparison_{run}.csv",
        "ex_compare",
        note=t("ex.compare_note"),
    )
contrast = st.session_state.get("cmp_last_contrast")
if contrast is not None:
    offer(
        t("ex.contrast"),
        contrast,
        f"ward_contrast_{run}.csv",
        "ex_contrast",
        note=t("ex.contrast_note"),
    )
if stats is None and contrast is None:
    st.caption(t("ex.compare_hint"))


PHOTO_COLUMNS = ("image_id", "path", "true_label", "pred_label", "pred_prob", "correct")
PHOTO_COLUMNS += ("status", "error", "explanation", "explanation_error", "tokens")
PHOTO_HEADERS = {c: t(f"col.{c}") for c in PHOTO_COLUMNS}  # this page's language


def photo_results_csv(
    db: str = ctx.db,
    run_id: int = ctx.run_id,
    headers: dict[str, str] = PHOTO_HEADERS,
) -> bytes:
    """Generated on click, in Streamlit's download thread (30k rows take a moment); headed in
    the language of the page that offered it."""
    with reading(db) as con:
        frame = queries.photo_results(con, run_id)
    return tables.to_csv_bytes(frame.rename(columns=headers))


offer(
    t("ex.photos"),
    photo_results_csv,
    f"photos_{run}.csv",
    "ex_photos",
    note=t("ex.photos_note"),
    rows=data.q_run_stats(*ctx.key).n_images,
)
