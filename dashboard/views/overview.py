"""Overview: what was run, how good the image model is, and how well words predict labels."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, context, data, fmt, labels, miner, nav, urlstate, widgets
from dashboard.i18n import t
from dashboard.settings import mining_settings
from dashboard.text import escape_markdown

# the CSVs' headers in the UI language (the chart's own titles): column -> chart.* key
CSV_NAMES = {
    "label": "class",
    "support": "support",
    "true_label": "true",
    "pred_label": "predicted",
    "n": "photos",
    "share": "row_share",
}
ctx = context.load_ctx()
info = ctx.info
stats = data.q_run_stats(*ctx.key)

st.title(t("page.overview"))
urlstate.publish("overview", [])
st.caption(
    escape_markdown(
        t(
            "ov.caption",
            run=ctx.run_id,
            kind=labels.value("kind", info.get("kind") or "images"),
            status=labels.value("status", info.get("status")),
        )
    )
)


def setting_value(name: str, raw: object) -> str:
    """A run setting as shown: times to the second, stored words (mode) in the screen's language."""
    if raw is None:
        return "—"
    if name == "created_at":
        return fmt.when(raw)
    if name == "mode":
        return labels.value("mode", raw)
    return str(raw)


def setup_table() -> pd.DataFrame:
    """The run's settings as a two-column table (setting, value)."""
    names = ("model", "explainer", "mode", "method", "lang", "source", "created_at")
    return pd.DataFrame(
        {
            t("ov.setting"): [t(f"setting.{n}") for n in names],
            t("ov.value"): [setting_value(n, info.get(n)) for n in names],
        }
    )


left, right = st.columns([3, 2])
with left:
    setup = setup_table()
    st.dataframe(setup, hide_index=True, width="stretch")
    widgets.csv_button(setup, f"run{ctx.run_id}_settings.csv", "ov_setup_csv")
with right:
    a, b = st.columns(2)
    a.metric(t("ov.done"), fmt.number(stats.n_done, "count"))
    b.metric(t("ov.failed"), fmt.number(stats.n_failed, "count"))
    a.metric(t("ov.explained"), fmt.number(stats.n_explained, "count"))
    b.metric(t("ov.labelled"), fmt.number(stats.n_labeled, "count"))

st.subheader(t("ov.accuracy"))
m1, m2, m3 = st.columns(3)
m1.metric(
    t("ov.image_accuracy"), fmt.fmt_pct(stats.image_accuracy), help=t("ov.image_accuracy_help")
)
problem = miner.mining_error()
if problem is None and stats.n_explained:
    miner.prefetch_mining(ctx, mining_settings())  # ready when Keywords opens
    widgets.accuracy_metric(m2, ctx, mining_settings(), t("ov.text_accuracy"))
else:
    m2.metric(t("ov.text_accuracy"), "—", help=escape_markdown(problem or t("ov.no_explanations")))
m3.metric(
    t("ov.baseline"),
    fmt.fmt_pct(stats.baseline),
    help=t("ov.baseline_help")
    + (f" ({ctx.name(stats.majority_label)})" if stats.majority_label else ""),
)

recall = data.q_class_recall(*ctx.key)
conf = data.q_confusion(*ctx.key)
if recall.empty:
    st.info(t("ov.no_labels"))
else:
    recall = recall.assign(label=recall["label"].map(ctx.name))
    conf = conf.assign(
        true_key=conf["true_label"],
        pred_key=conf["pred_label"],
        true_label=conf["true_label"].map(ctx.name),
        pred_label=conf["pred_label"].map(ctx.name),
    )
    c1, c2 = st.columns([2, 3])
    with c1:
        st.subheader(t("ov.recall"))
        charts.show("recall", recall, width="stretch")
        widgets.csv_button(
            recall.rename(columns={c: t(f"chart.{CSV_NAMES.get(c, c)}") for c in recall.columns}),
            f"recall_run{ctx.run_id}.csv",
            "ov_recall_csv",
        )
    with c2:
        st.subheader(t("ov.confusion"))
        st.caption(t("ov.confusion_click"))
        event = charts.show(
            "confusion",
            conf,
            width="content",
            on_select="rerun",
            selection_mode=charts.WORD_SELECTION,
            key="ov_confusion",
        )
        cell = nav.picked(event, charts.WORD_SELECTION)
        if cell and cell.get("pred_key") is not None:
            # the photos of ward A predicted as B: by predicted label B, truly A
            nav.go_to_photos(None, [cell["pred_key"]], "pred", true=cell.get("true_key"))
        shown = conf.drop(columns=["true_key", "pred_key"])
        widgets.csv_button(
            shown.rename(columns={c: t(f"chart.{CSV_NAMES.get(c, c)}") for c in shown.columns}),
            f"confusion_run{ctx.run_id}.csv",
            "ov_conf_csv",
        )
