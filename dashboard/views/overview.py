"""Overview: what was run, how good the image model is, and how well words predict labels."""

from __future__ import annotations

import streamlit as st

from dashboard import charts, context, data, fmt, miner, widgets
from dashboard.settings import mining_settings
from dashboard.text import escape_markdown

ctx = context.load_ctx()
info = ctx.info
stats = data.q_run_stats(*ctx.key)

st.title("Overview")
st.caption(
    escape_markdown(
        f"Run #{ctx.run_id} · {info.get('kind') or 'images'} · status {info.get('status')}"
    )
)

left, right = st.columns([3, 2])
with left:
    setup = {
        "model": info.get("model"),
        "explainer": info.get("explainer"),
        "mode": info.get("mode"),
        "CAM method": info.get("method"),
        "language": info.get("lang"),
        "source": info.get("source"),
        "created": str(info.get("created_at") or ""),
    }
    st.dataframe(
        {
            "setting": list(setup),
            "value": [str(v) if v is not None else "—" for v in setup.values()],
        },
        hide_index=True,
        width="stretch",
    )
with right:
    a, b = st.columns(2)
    a.metric("Photos done", f"{stats.n_done:,}")
    b.metric("Failed", f"{stats.n_failed:,}")
    a.metric("Explained", f"{stats.n_explained:,}")
    b.metric("Labelled", f"{stats.n_labeled:,}")

st.subheader("Accuracy")
m1, m2, m3 = st.columns(3)
m1.metric(
    "Image model (pred = true)",
    fmt.fmt_pct(stats.image_accuracy),
    help="share of labelled photos whose predicted label equals the folder label",
)
problem = miner.mining_error()
if problem is None and stats.n_explained:
    miner.prefetch_mining(ctx, mining_settings())  # ready when Keywords opens
    widgets.accuracy_metric(m2, ctx, mining_settings(), "Words → label (cross-validated)")
else:
    m2.metric(
        "Words → label (cross-validated)",
        "—",
        help=escape_markdown(problem or "no explanations yet"),
    )
m3.metric(
    "Majority baseline",
    fmt.fmt_pct(stats.baseline),
    help="accuracy of always answering the most frequent label"
    + (f" ({stats.majority_label})" if stats.majority_label else ""),
)

recall = data.q_class_recall(*ctx.key)
conf = data.q_confusion(*ctx.key)
if recall.empty:
    st.info(
        "No labelled photos in this run (no class sub-folders), so there is no recall or "
        "confusion matrix to show."
    )
else:
    c1, c2 = st.columns([2, 3])
    with c1:
        st.subheader("Recall per class")
        charts.show("recall", recall, width="stretch")
    with c2:
        st.subheader("Confusion matrix")
        charts.show("confusion", conf, width="content")
