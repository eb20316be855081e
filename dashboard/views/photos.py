"""Photos: the photos behind a word, with overlays, predictions and the highlighted explanation."""

from __future__ import annotations

import math
from pathlib import Path

import streamlit as st

from core.store import queries
from dashboard import context, data, widgets
from dashboard.text import escape_markdown, highlight_markdown

ctx = context.load_ctx()
st.title("Photos")

# -- arrival from another page (session state) or from a shared URL (?word=...&ward=...)
request = st.session_state.pop("photos_request", None)
url_filter = (st.query_params.get("word", ""), tuple(st.query_params.get_all("ward")))
if request is None and any(url_filter) and url_filter != st.session_state.get("ph_url"):
    request = {"word": url_filter[0], "wards": list(url_filter[1])}
if request is not None:
    st.session_state["w_ph_word"] = request.get("word", "")
    st.session_state["w_ph_by"] = request.get("by") or st.session_state.get("ph_by", "true")
    known = set(data.q_labels(*ctx.key, st.session_state["w_ph_by"]))
    st.session_state["w_ph_wards"] = [w for w in request.get("wards", []) if w in known]
    st.session_state["w_ph_correct"] = "all"
    st.session_state["w_ph_search"] = ""

f1, f2, f3 = st.columns([2, 3, 2])
word = f1.text_input(
    "Word",
    key=widgets.sticky("ph_word", ""),
    placeholder="any word",
    help="photos whose explanation contains this word (as a token)",
)
by = widgets.ward_by_radio(f3, "ph_by")
ward_options = data.q_labels(*ctx.key, by)
if "w_ph_wards" in st.session_state:
    st.session_state["w_ph_wards"] = [
        w for w in st.session_state["w_ph_wards"] if w in ward_options
    ]
wards = f2.multiselect(
    "Wards", ward_options, key=widgets.sticky("ph_wards", []), placeholder="all wards"
)
g1, g2, g3 = st.columns([2, 3, 2])
correctness = g1.segmented_control(
    "Prediction",
    ["all", "correct", "incorrect"],
    key=widgets.sticky("ph_correct", "all"),
)
search = g2.text_input(
    "Search explanations and file names",
    key=widgets.sticky("ph_search", ""),
    placeholder="free text",
)
page_size = g3.selectbox("Per page", [12, 24, 48], key=widgets.sticky("ph_size", 12))
include_failed = g3.toggle("Include failed photos", key=widgets.sticky("ph_failed", False))
for name in ("ph_word", "ph_wards", "ph_correct", "ph_search", "ph_size", "ph_failed"):
    widgets.keep(name)

word = word.strip()
st.session_state["ph_url"] = (word, tuple(wards))
st.query_params.clear()
if word:
    st.query_params["word"] = word
if wards:
    st.query_params["ward"] = list(wards)

photo_filter = queries.PhotoFilter(
    word=word or None,
    labels=tuple(wards),
    by=by,
    correctness=correctness or "all",
    search=search.strip() or None,
    include_failed=include_failed,
)
if st.session_state.get("ph_last_filter") != photo_filter:
    st.session_state["ph_last_filter"] = photo_filter
    st.session_state["w_ph_page"] = 1
    st.session_state["ph_page"] = 1

total = data.q_count_photos(*ctx.key, photo_filter)
pages = max(1, math.ceil(total / page_size))
if st.session_state.get("w_ph_page", 1) > pages:
    st.session_state["w_ph_page"] = pages
p1, p2 = st.columns([1, 5], vertical_alignment="bottom")
page = p1.number_input(f"Page (of {pages})", 1, pages, step=1, key=widgets.sticky("ph_page", 1))
widgets.keep("ph_page")
p2.markdown(
    f"**{total:,}** photos match" + (f" · word **{escape_markdown(word)}**" if word else "")
)

rows = data.q_photos(*ctx.key, photo_filter, page_size, (page - 1) * page_size)
if rows.empty:
    st.info("No photos match these filters.")
    st.stop()


def _image(slot, path: str | None, caption: str) -> None:
    image = data.asset_image(ctx.db, path) if isinstance(path, str) else None
    if image is None:
        slot.caption(f"{caption}: —")
    else:
        slot.image(image[0], caption=caption, width="stretch", output_format=image[1])


def _text(value: object) -> str | None:
    """A non-empty string, or None for NULL/NA/empty values."""
    return value if isinstance(value, str) and value else None


def _card(row: dict) -> None:
    with st.container(border=True):
        name = _text(row["rel_path"]) or _text(row["path"]) or f"#{row['image_id']}"
        st.markdown(f"**{escape_markdown(Path(name).name)}**  \n:gray[{escape_markdown(name)}]")
        if _text(row["thumb_path"]) or _text(row["overlay_path"]):
            i1, i2, i3 = st.columns(3)
            _image(i1, _text(row["thumb_path"]), "input")
            _image(i2, _text(row["overlay_path"]), "CAM overlay")
            _image(i3, _text(row["marks_path"]), "marks")
        true_label, pred_label = _text(row["true_label"]), _text(row["pred_label"])
        verdict = ""
        if true_label and pred_label:
            verdict = " :green[correct]" if true_label == pred_label else " :red[wrong]"
        st.markdown(
            f"true **{escape_markdown(true_label or '—')}** · predicted "
            f"**{escape_markdown(pred_label or '—')}**{verdict}"
        )
        topk = queries.parse_topk(_text(row["topk"]))
        if topk:
            st.markdown(
                "  \n".join(
                    f"{i}. {escape_markdown(label)} — {prob:.1%}"
                    for i, (label, prob) in enumerate(topk, start=1)
                )
            )
        text = _text(row["text"])
        if text:
            st.markdown(highlight_markdown(text, word or None))
        for problem in (_text(row["error"]), _text(row["explanation_error"])):
            if problem:
                st.caption(f":red[{escape_markdown(problem)}]")


def _turn(delta: int, last: int) -> None:
    page = min(last, max(1, int(st.session_state.get("w_ph_page", 1)) + delta))
    st.session_state["w_ph_page"] = st.session_state["ph_page"] = page


columns_per_row = 3
records = rows.to_dict("records")
for start in range(0, len(records), columns_per_row):
    for col, row in zip(
        st.columns(columns_per_row), records[start : start + columns_per_row], strict=False
    ):
        with col:
            _card(row)

if pages > 1:
    b1, b2, b3 = st.columns([1, 1, 4], vertical_alignment="center")
    b1.button(
        "Previous",
        icon=":material/chevron_left:",
        disabled=page <= 1,
        key="ph_prev",
        on_click=_turn,
        args=(-1, pages),
        width="stretch",
    )
    b2.button(
        "Next",
        icon=":material/chevron_right:",
        disabled=page >= pages,
        key="ph_next",
        on_click=_turn,
        args=(1, pages),
        width="stretch",
    )
    b3.caption(f"page {page} of {pages}")
