"""Verified words in the dashboard: small pieces the Keywords, Photos and Precompute pages call.

Everything here reads what ``wordcam verify`` stored (``word_effects``, ``word_effect_photos``
and the pictures it wrote to the DB's asset folder): the dashboard never imports torch. The
step itself runs through the dashboard's one job runner (:mod:`dashboard.job`), started from
the Precompute page.

* :func:`add_effects` / :func:`sort_by_effect`: an ``effect`` and a ``verified`` column for
  a keyword table (columns ``class`` and ``word``) from the effects attached to the mined
  words (:func:`core.mining.keyword_table`), sortable by effect.
* :func:`q_photo_effects` / :func:`show_comparison`: for a photo and a word, the photo, the
  photo with the word's regions hidden and the control, with the probabilities.

UI strings are the ``verify.`` keys of :mod:`dashboard.catalogue` (:func:`dashboard.i18n.t`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard.data import asset_image
from dashboard.fmt import number  # issue 23: every number through one function
from dashboard.i18n import t
from dashboard.labels import skip_reason, verdict_label
from dashboard.state import cursor
from dashboard.text import escape_markdown

# ----------------------------------------------------------------------------- reads


def add_effects(table: pd.DataFrame, result: Any) -> pd.DataFrame:
    """``table`` (columns ``class``, ``word``) with ``effect``, interval and ``verified`` columns.

    The values are the verifications :func:`core.mining.keyword_table` attached to
    ``result``'s words; none when the run has no verification. The ``verified`` column is
    named and filled in the screen's language (``verify.`` keys).
    """
    if result.verification is None:
        return table
    states = [
        result.verification_of(c, w) for c, w in zip(table["class"], table["word"], strict=True)
    ]
    shown = [s.to_dict() for s in states]
    out = table.assign(
        **{k: pd.to_numeric([d[k] for d in shown], errors="coerce") for k in _EFFECT_COLUMNS}
    )
    out[t("verify.verified_column")] = [verdict_label(s) for s in states]
    return out


_EFFECT_COLUMNS = ("effect", "ci_low", "ci_high")


def sort_by_effect(table: pd.DataFrame) -> pd.DataFrame:
    """Largest effect first, unverified words last (stable within equal effects)."""
    if "effect" not in table:
        return table
    return table.sort_values("effect", ascending=False, na_position="last", kind="stable")


@st.cache_resource(max_entries=8, show_spinner=False)
def q_effects_key(db: str, mtime: int, run_id: int) -> str | None:
    """The settings of the run's latest verification; None when it has none (the snapshot's
    ``mtime`` in the key: a new verification is seen when the DB is re-published)."""
    from core.store.effects import latest_key

    with cursor(db, mtime) as con:
        return latest_key(con, run_id)


def q_photo_effects(db: str, mtime: int, run_id: int, image_id: int) -> list[Any]:
    """The verified words of one photo (latest verification), with pictures and probabilities.

    Photos asks this for each of its cards: the latest verification is looked up once per
    snapshot, and a run without one asks nothing more (each card cost three statements, a
    third of a Photos rerun on 300,000 photos).
    """
    key = q_effects_key(db, mtime, run_id)
    return [] if key is None else _q_photo_effects(db, mtime, run_id, image_id, key)


@st.cache_resource(max_entries=64, show_spinner=False)
def _q_photo_effects(db: str, mtime: int, run_id: int, image_id: int, key: str) -> list[Any]:
    from core.store.effects import read_photo_effects

    with cursor(db, mtime) as con:
        return read_photo_effects(con, run_id, image_id, key=key)


# ----------------------------------------------------------------------------- Photos


def show_comparison(
    photo_effects: list[Any],
    db: str,
    original: str | None,
    key: str,
    prefer: str | None = None,
) -> None:
    """A word picker and the photo / hidden / control pictures with their probabilities.

    ``original`` is the photo's stored thumbnail; pictures are read through
    :func:`dashboard.data.asset_image` (paths relative to the DB work too). ``key`` names the
    picker (one per photo card); ``prefer`` is the word picked first when the photo has it.
    """
    if not photo_effects:
        st.caption(t("verify.photo_none"))
        return
    labels = [f"{e.word} ({e.cls})" for e in photo_effects]
    words = [e.word for e in photo_effects]
    first = words.index(prefer) if prefer in words else 0
    choice = st.selectbox(
        t("verify.photo_word"),
        range(len(labels)),
        index=first,
        format_func=labels.__getitem__,
        key=key,
        help=t("verify.effect_help"),
    )
    e = photo_effects[int(choice)]
    if e.skipped:  # verify sampled the photo but could not measure it (no fair control, ...)
        st.caption(
            t("verify.photo_skipped", word=escape_markdown(e.word), reason=skip_reason(e.skipped))
        )
        return
    pictures = (
        (original, t("verify.photo_original", p=number(e.p_before))),
        (e.hidden_path, t("verify.photo_hidden", word=e.word, p=number(e.p_hidden))),
        (e.control_path, t("verify.photo_control", p=number(e.p_control))),
    )
    for column, (path, caption) in zip(st.columns(3), pictures, strict=True):
        image = asset_image(db, path) if path else None
        if image is None:
            column.caption(caption)
        else:
            column.image(image[0], caption=caption, width="stretch", output_format=image[1])
    if e.fallback:
        st.caption(t("verify.photo_fallback", share=number(e.control_overlap)))
