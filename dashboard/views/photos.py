"""Photos: the photos behind a word, with overlays, predictions and the highlighted explanation."""

from __future__ import annotations

import json
import math
from pathlib import Path

import streamlit as st

from core.store import queries
from dashboard import context, data, fmt, urlstate, verified, widgets
from dashboard.i18n import lang, t
from dashboard.labels import localized
from dashboard.text import escape_markdown, highlight_markdown
from dashboard.urlstate import Param

PARAMS = [
    Param("word", "ph_word", ""),
    Param("ward", "ph_wards", [], "list"),
    Param("by", "ph_by", "true"),
    Param("order", "ph_order", "confidence"),
    Param("true", "ph_true", ""),
    Param("seed", "ph_seed", 0, "int"),
    Param("correct", "ph_correct", "all"),
    Param("q", "ph_search", ""),
    Param("size", "ph_size", 12, "int"),
    Param("failed", "ph_failed", False, "bool"),
    Param("page", "ph_page", 1, "int"),
]
FILTER_KEYS = [p.key for p in PARAMS if p.key not in ("ph_page", "ph_true")]


ctx = context.load_ctx()


def apply_request() -> None:
    """Arrival from another page (``nav.go_to_photos``): its filters, the others reset."""
    request = st.session_state.pop("photos_request", None)
    if request is None:
        return
    values = {
        "ph_word": request.get("word", ""),
        "ph_by": request.get("by") or "true",
        "ph_order": request.get("order") or "confidence",
        "ph_correct": "all",
        "ph_search": "",
        "ph_page": 1,
    }
    known = set(data.q_labels(*ctx.key, values["ph_by"]))
    values["ph_wards"] = [w for w in request.get("wards", []) if w in known]
    for key, value in values.items():
        st.session_state[key] = st.session_state[f"w_{key}"] = value
    truth = request.get("true") or ""
    st.session_state["ph_true"] = truth if truth in data.q_labels(*ctx.key, "true") else ""


def filters() -> queries.PhotoFilter:
    """The filter widgets; returns the filter they set (also: order, seed, page size)."""
    f1, f2, f3 = st.columns([2, 3, 2])
    word = f1.text_input(
        t("ph.word"),
        key=widgets.sticky("ph_word", ""),
        placeholder=t("ph.word_placeholder"),
        help=t("ph.word_help"),
    )
    by = widgets.ward_by_radio(f3, "ph_by")
    ward_options = data.q_labels(*ctx.key, by)
    if "w_ph_wards" in st.session_state:
        st.session_state["w_ph_wards"] = [
            w for w in st.session_state["w_ph_wards"] or [] if w in ward_options
        ]
    wards = f2.multiselect(
        t("ph.wards"),
        ward_options,
        key=widgets.sticky("ph_wards", []),
        select_all=widgets.select_all(),
        format_func=ctx.name,
        placeholder=t("ph.wards_placeholder"),
    )
    g1, g2, g3, g4 = st.columns([3, 2, 3, 2])
    correctness = g1.segmented_control(
        t("ph.prediction"),
        ["all", "correct", "incorrect"],
        format_func={c: t(f"ph.{c}") for c in ("all", "correct", "incorrect")}.get,
        key=widgets.sticky("ph_correct", "all"),
    )
    order_picker(g2)
    search = g3.text_input(
        t("ph.search"), key=widgets.sticky("ph_search", ""), placeholder=t("ph.search_placeholder")
    )
    g4.selectbox(t("ph.per_page"), [12, 24, 48], key=widgets.sticky("ph_size", 12))
    include_failed = g4.toggle(t("ph.include_failed"), key=widgets.sticky("ph_failed", False))
    for name in FILTER_KEYS:
        widgets.keep(name)
    truth = st.session_state.get("ph_true") or ""
    return queries.PhotoFilter(
        word=word.strip() or None,
        labels=tuple(wards),
        by=by,
        correctness=correctness or "all",
        search=search.strip() or None,
        include_failed=include_failed,
        true_labels=(truth,) if truth else (),
    )


def _remove(key: str, value: object = None) -> None:
    """A chip's click: drop its filter (one ward of several, or the whole setting)."""
    current = st.session_state.get(key)
    if isinstance(current, list):
        left = [v for v in current if v != value]
    else:
        left = {"ph_correct": "all", "ph_failed": False}.get(key, "")
    st.session_state[key] = st.session_state[f"w_{key}"] = left


def chips(f: queries.PhotoFilter) -> None:
    """The filters in force as removable chips (a click drops one); they are also in the URL."""
    shown: list[tuple[str, str, object]] = []
    if f.word:
        shown.append((t("ph.chip_word", word=f.word), "ph_word", None))
    ward_key = "ph.chip_pred" if f.by == "pred" else "ph.chip_ward"
    shown += [(t(ward_key, ward=ctx.name(w)), "ph_wards", w) for w in f.labels]
    shown += [(t("ph.chip_true", ward=ctx.name(w)), "ph_true", None) for w in f.true_labels]
    if f.correctness != "all":
        shown.append((t(f"ph.{f.correctness}"), "ph_correct", None))
    if f.search:
        shown.append((t("ph.chip_search", text=f.search), "ph_search", None))
    if f.include_failed:
        shown.append((t("ph.include_failed"), "ph_failed", None))
    if not shown:
        return
    with st.container(horizontal=True, gap="small"):
        for i, (label, key, value) in enumerate(shown):
            st.button(
                label,
                icon=":material/close:",
                key=f"ph_chip_{i}",
                help=t("ph.chip_help"),
                on_click=_remove,
                args=(key, value),
                width="content",
            )


def order_picker(slot) -> None:
    """The order: by id, most confident first, confident mistakes, a random sample (seeded)."""
    if st.session_state.get("w_ph_order") not in queries.PHOTO_ORDERS:
        st.session_state["w_ph_order"] = "confidence"
    order = slot.selectbox(
        t("ph.order"),
        list(queries.PHOTO_ORDERS),
        format_func={o: t(f"ph.order_{o}") for o in queries.PHOTO_ORDERS}.get,
        key=widgets.sticky("ph_order", "confidence"),
        help=t("ph.order_help"),
    )
    if order == "random":
        slot.number_input(t("ph.seed"), 0, 1_000_000, step=1, key=widgets.sticky("ph_seed", 0))
    else:
        st.session_state.setdefault("w_ph_seed", st.session_state.get("ph_seed", 0))


def pager(total: int, size: int) -> tuple[int, int]:
    """The page number input; returns ``(page, pages)``."""
    pages = max(1, math.ceil(total / size))
    if st.session_state.get("w_ph_page", 1) > pages:
        st.session_state["w_ph_page"] = pages
    p1, p2 = st.columns([1, 5], vertical_alignment="bottom")
    page = p1.number_input(
        t("ph.page_of", pages=pages), 1, pages, step=1, key=widgets.sticky("ph_page", 1)
    )
    widgets.keep("ph_page")
    return int(page), pages


def _image(slot, path: str | None, caption: str) -> None:
    image = data.asset_image(ctx.db, path) if isinstance(path, str) else None
    if image is None:
        slot.caption(f"{caption}: —")
    else:
        slot.image(image[0], caption=caption, width="stretch", output_format=image[1])


def _text(value: object) -> str | None:
    """A non-empty string, or None for NULL/NA/empty values."""
    return value if isinstance(value, str) and value else None


def topk_lines(value: str | None) -> list[str]:
    """The top-k predictions, each named in the screen's language."""
    labels = ctx.info.get("labels")
    names = localized(labels if isinstance(labels, list) else None, lang())
    try:
        items = json.loads(value) if value else []
        shown = [
            (names.get(item["label"]) or item.get("display") or item["label"], float(item["prob"]))
            for item in items
        ]
    except (ValueError, TypeError, KeyError):
        return []
    return [
        f"{i}. {escape_markdown(name)} — {fmt.number(prob)}"
        for i, (name, prob) in enumerate(shown, 1)
    ]


def verdict_line(row: dict, order: str) -> str:
    """``true X · predicted Y`` with correct/wrong, and the confidence in the sorted order."""
    true_label, pred_label = _text(row["true_label"]), _text(row["pred_label"])
    verdict = ""
    if true_label and pred_label:
        verdict = (
            f" :green[{t('ph.right')}]" if true_label == pred_label else f" :red[{t('ph.wrong')}]"
        )
    line = t(
        "ph.true_pred",
        true=escape_markdown(ctx.name(true_label) or "—"),
        pred=escape_markdown(ctx.name(pred_label) or "—"),
    )
    score = row.get("score")
    if order in ("confidence", "mistakes") and isinstance(score, float) and not math.isnan(score):
        line += "  \n" + t("ph.confidence", share=fmt.number(score))
    return line + verdict


def card(row: dict, word: str | None, order: str) -> None:
    """One photo: name, input / overlay / marks, labels, top-k and the explanation."""
    with st.container(border=True):
        name = _text(row["rel_path"]) or _text(row["path"]) or f"#{row['image_id']}"
        st.markdown(f"**{escape_markdown(Path(name).name)}**  \n:gray[{escape_markdown(name)}]")
        if _text(row["thumb_path"]) or _text(row["overlay_path"]):
            i1, i2, i3 = st.columns(3)
            _image(i1, _text(row["thumb_path"]), t("ph.input"))
            _image(i2, _text(row["overlay_path"]), t("ph.overlay"))
            _image(i3, _text(row["marks_path"]), t("ph.marks"))
        st.markdown(verdict_line(row, order))
        lines = topk_lines(_text(row["topk"]))
        if lines:
            st.markdown("  \n".join(lines))
        text = _text(row["text"])
        if text:
            st.markdown(highlight_markdown(text, word))
        for problem in (_text(row["error"]), _text(row["explanation_error"])):
            if problem:
                st.caption(f":red[{escape_markdown(problem)}]")
        verified_words(row, word)


def verified_words(row: dict, word: str | None) -> None:
    """The photo with a verified word's regions hidden, and the control (when stored)."""
    image_id = int(row["image_id"])
    effects = verified.q_photo_effects(*ctx.key, image_id)
    if not effects:
        return
    mine = [e for e in effects if word is not None and e.word == word]
    title = t("verify.photo_title_word", word=word) if mine else t("verify.photo_title")
    with st.expander(title, icon=":material/verified:", expanded=bool(mine)):
        # the picker's key names the word the user came from, so that each arrival starts on
        # that word (a picker kept from an earlier visit showed another word: issue 23)
        verified.show_comparison(
            effects,
            ctx.db,
            _text(row["thumb_path"]),
            key=f"ph_verify_{image_id}_{word or ''}",
            prefer=word,
        )


def _turn(delta: int, last: int) -> None:
    page = min(last, max(1, int(st.session_state.get("w_ph_page", 1)) + delta))
    st.session_state["w_ph_page"] = st.session_state["ph_page"] = page


def grid(records: list[dict], word: str | None, order: str) -> None:
    """The photo cards, two per row (pictures large enough to see what the words point at)."""
    for start in range(0, len(records), PER_ROW):
        for col, row in zip(st.columns(PER_ROW), records[start : start + PER_ROW], strict=False):
            with col:
                card(row, word, order)


def page_buttons(page: int, pages: int) -> None:
    """Previous / Next."""
    b1, b2, b3 = st.columns([1, 1, 4], vertical_alignment="center")
    for slot, label, icon, delta, disabled, key in (
        (b1, t("ph.previous"), ":material/chevron_left:", -1, page <= 1, "ph_prev"),
        (b2, t("ph.next"), ":material/chevron_right:", 1, page >= pages, "ph_next"),
    ):
        slot.button(
            label,
            icon=icon,
            disabled=disabled,
            key=key,
            on_click=_turn,
            args=(delta, pages),
            width="stretch",
        )
    b3.caption(t("ph.page_caption", page=page, pages=pages))


PER_ROW = 2
st.title(t("page.photos"))
apply_request()
urlstate.restore("photos", PARAMS)
photo_filter = filters()
order, seed = st.session_state["ph_order"], int(st.session_state.get("ph_seed", 0))
size = int(st.session_state["ph_size"])
if st.session_state.get("ph_last_filter") != (photo_filter, order, seed):
    if "ph_last_filter" in st.session_state:
        st.session_state["w_ph_page"] = st.session_state["ph_page"] = 1
    st.session_state["ph_last_filter"] = (photo_filter, order, seed)

chips(photo_filter)
total = data.q_count_ordered_photos(*ctx.key, photo_filter, order)
page, pages = pager(total, size)
urlstate.publish("photos", PARAMS)
word = photo_filter.word
st.markdown(
    t("ph.match", n=fmt.number(total, "count"))
    + (" · " + t("ph.with_word", word=escape_markdown(word)) if word else "")
)
if order == "mistakes":
    st.caption(t("ph.mistakes_note"))
rows = data.q_ordered_photos(*ctx.key, photo_filter, order, seed, size, (page - 1) * size)
if rows.empty:
    st.info(t("ph.none"))
    st.stop()
grid(rows.to_dict("records"), word, order)
if pages > 1:
    page_buttons(page, pages)
