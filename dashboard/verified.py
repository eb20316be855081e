"""Verified words in the dashboard: small pieces the Keywords, Photos and Precompute pages call.

Everything here reads what ``wordcam verify`` stored (``word_effects``, ``word_effect_photos``
and the pictures it wrote to the DB's asset folder): the dashboard never imports torch. The
step itself runs as a child process, like the precompute job (:mod:`dashboard.job`).

* :func:`add_effects` / :func:`sort_by_effect`: an ``effect`` and a ``verified`` column for
  a keyword table (columns ``class`` and ``word``) from the effects attached to the mined
  words (:func:`core.mining.keyword_table`), sortable by effect.
* :func:`q_photo_effects` / :func:`show_comparison`: for a photo and a word, the photo, the
  photo with the word's regions hidden and the control, with the probabilities.
* :func:`start_verify`, :func:`running_verify`, :func:`verify_log_tail`, :func:`verify_button`.

UI strings are the ``verify.`` keys of :mod:`dashboard.catalogue` (:func:`dashboard.i18n.t`).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from core.mining.effects import NOT_TESTED
from dashboard.data import asset_image
from dashboard.fmt import number  # issue 23: every number through one function
from dashboard.i18n import t
from dashboard.job import spawn, tail_of
from dashboard.state import cursor

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
    out[t("verify.verified_column")] = [_verdict_text(s) for s in states]
    return out


_EFFECT_COLUMNS = ("effect", "ci_low", "ci_high")


def _verdict_text(state: Any) -> str:
    """``✓ causal`` / ``no effect shown`` / "" (not verified) in the screen's language."""
    if state is NOT_TESTED:
        return ""
    return t("verify.causal") if state.causal else t("verify.no_effect")


def sort_by_effect(table: pd.DataFrame) -> pd.DataFrame:
    """Largest effect first, unverified words last (stable within equal effects)."""
    if "effect" not in table:
        return table
    return table.sort_values("effect", ascending=False, na_position="last", kind="stable")


@st.cache_resource(max_entries=32, show_spinner=False)
def q_photo_effects(db: str, mtime: int, run_id: int, image_id: int) -> list[Any]:
    """The verified words of one photo (latest verification), with pictures and probabilities."""
    from core.store.effects import read_photo_effects

    with cursor(db, mtime) as con:
        return read_photo_effects(con, run_id, image_id)


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


# ----------------------------------------------------------------------------- the job


def verify_log_path(db: Path) -> Path:
    """The verification job's stdout/stderr log, beside the DB."""
    return db.with_name(db.name + ".verify.log")


@st.cache_resource(show_spinner=False)
def _jobs() -> dict[str, subprocess.Popen]:
    """Verification jobs started from this server, by DB path."""
    return {}


def running_verify(db: Path) -> subprocess.Popen | None:
    """The verification job this server started on ``db`` if it is still running."""
    job = _jobs().get(str(db))
    return job if job is not None and job.poll() is None else None


def start_verify(db: Path, options: dict[str, str | int | None] | None = None) -> subprocess.Popen:
    """``python -m core verify --db=DB --no-progress --FLAG=VALUE ...`` detached from the run."""
    command = [sys.executable, "-m", "core", "verify", f"--db={os.path.abspath(db)}"]
    command.append("--no-progress")
    command += [
        f"{flag}={value}" for flag, value in (options or {}).items() if value not in (None, "")
    ]
    job = spawn(command, verify_log_path(db))
    _jobs()[str(db)] = job
    return job


def verify_log_tail(db: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of the verification log ("" when there is none)."""
    return tail_of(verify_log_path(db), lines)


def verify_button(db: Path, options: dict[str, Any] | None = None) -> None:
    """The Precompute page's button: start the step, or show that it runs / how it ended."""
    job = running_verify(db)
    if job is not None:
        st.info(t("verify.running"))
    elif st.button(t("verify.start"), help=t("verify.start_help"), key="verify_start"):
        start_verify(db, options)
        st.rerun()
    started = _jobs().get(str(db))
    if started is not None and started.poll() is not None:
        st.caption(t("verify.finished", rc=started.returncode))
    tail = verify_log_tail(db)
    if tail:
        st.code(tail, language=None)
