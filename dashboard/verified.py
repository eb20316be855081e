"""Verified words in the dashboard: small pieces the Keywords, Photos and Precompute pages call.

Everything here reads what ``wordcam verify`` stored (``word_effects``, ``word_effect_photos``
and the pictures it wrote to the DB's asset folder): the dashboard never imports torch. The
step itself runs as a child process, like the precompute job (:mod:`dashboard.job`).

* :func:`q_effects` / :func:`add_effects` / :func:`sort_by_effect`: an ``effect`` and a
  ``verified`` column for a keyword table (columns ``class`` and ``word``), sortable by effect.
* :func:`q_photo_effects` / :func:`show_comparison`: for a photo and a word, the photo, the
  photo with the word's regions hidden and the control, with the probabilities.
* :func:`start_verify`, :func:`running_verify`, :func:`verify_log_tail`, :func:`verify_button`.

UI strings live in :data:`STRINGS` (key -> English, Japanese) for the i18n catalogue.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from dashboard.state import cursor

STRINGS: dict[str, dict[str, str]] = {
    "verified.column": {"en": "verified", "ja": "検証済み"},
    "effect.column": {"en": "effect", "ja": "効果"},
    "effect.help": {
        "en": "Drop of the class probability when the word's regions are hidden, minus the "
        "drop for a same-area control elsewhere (95% bootstrap interval). ✓ causal: the "
        "interval is above zero after a Benjamini-Hochberg correction over all words tested.",
        "ja": "語の領域を隠したときのクラス確率の低下から、同じ面積の別の場所を隠したときの低下を"
        "引いた値(95%ブートストラップ区間)。✓ 因果的: 全検証語でBenjamini-Hochberg補正後も区間が"
        "0より上。",
    },
    "causal": {"en": "✓ causal", "ja": "✓ 因果的"},
    "no_effect": {"en": "no effect shown", "ja": "効果は示されず"},
    "sort_by_effect": {"en": "Sort by effect", "ja": "効果で並べ替え"},
    "photo.original": {"en": "Photo · {p}", "ja": "元の写真 · {p}"},
    "photo.hidden": {"en": "“{word}” hidden · {p}", "ja": "「{word}」を隠す · {p}"},
    "photo.control": {"en": "Control (same area) · {p}", "ja": "対照(同じ面積) · {p}"},
    "photo.fallback": {
        "en": "The regions cover most of the photo: the control overlaps them ({share}).",
        "ja": "領域が写真の大部分を占めるため、対照が領域と重なっています({share})。",
    },
    "photo.none": {
        "en": "No verified word on this photo yet: run the verification step.",
        "ja": "この写真にはまだ検証済みの語がありません。検証ステップを実行してください。",
    },
    "photo.word": {"en": "Word", "ja": "語"},
    "start": {"en": "Verify the top words", "ja": "上位の語を検証する"},
    "start.help": {
        "en": "Runs `wordcam verify` on this DB as a background job (it needs the model).",
        "ja": "このDBで `wordcam verify` をバックグラウンドで実行します(モデルが必要です)。",
    },
    "running": {"en": "Verification running…", "ja": "検証を実行中…"},
    "finished": {
        "en": "Verification finished (exit {rc}).",
        "ja": "検証が終了しました(終了コード {rc})。",
    },
}


def t(key: str, lang: str = "en", **values: Any) -> str:
    """The UI string ``key`` in ``lang`` (English when missing), formatted with ``values``."""
    entry = STRINGS[key]
    return entry.get(lang, entry["en"]).format(**values)


# ----------------------------------------------------------------------------- reads


@st.cache_resource(max_entries=16, show_spinner=False)
def q_effects(db: str, mtime: int, run_id: int, by: str = "true") -> pd.DataFrame:
    """The latest verification of ``run_id`` by label source ``by`` (empty when none)."""
    from core.store.effects import read_effects

    with cursor(db, mtime) as con:
        effects = read_effects(con, run_id, by)
    rows = [e.to_dict() | {"causal": e.causal} for e in effects.values()]
    return (
        pd.DataFrame(rows, columns=_EFFECT_COLUMNS)
        if rows
        else pd.DataFrame(columns=_EFFECT_COLUMNS)
    )


_EFFECT_COLUMNS = ["class", "word", "n", "effect", "ci_low", "ci_high", "verdict", "causal"]


def add_effects(table: pd.DataFrame, effects: pd.DataFrame, lang: str = "en") -> pd.DataFrame:
    """``table`` (columns ``class``, ``word``) with ``effect``, interval and ``verified`` columns."""
    if effects.empty:
        return table
    keep = effects[["class", "word", "effect", "ci_low", "ci_high", "causal"]]
    out = table.merge(keep, on=["class", "word"], how="left")
    out[t("verified.column", lang)] = out["causal"].map(
        lambda c: t("causal", lang) if c is True else ("" if pd.isna(c) else t("no_effect", lang))
    )
    return out.drop(columns=["causal"])


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


def show_comparison(photo_effects: list[Any], original: str | None, lang: str = "en") -> None:
    """A word picker and the photo / hidden / control pictures with their probabilities."""
    if not photo_effects:
        st.caption(t("photo.none", lang))
        return
    labels = [f"{e.word} ({e.cls})" for e in photo_effects]
    choice = st.selectbox(t("photo.word", lang), range(len(labels)), format_func=labels.__getitem__)
    e = photo_effects[int(choice)]
    columns = st.columns(3)
    pictures = (
        (original, t("photo.original", lang, p=f"{e.p_before:.2f}")),
        (e.hidden_path, t("photo.hidden", lang, word=e.word, p=f"{e.p_hidden:.2f}")),
        (e.control_path, t("photo.control", lang, p=f"{e.p_control:.2f}")),
    )
    for column, (path, caption) in zip(columns, pictures, strict=True):
        with column:
            if path and Path(path).is_file():
                st.image(path, caption=caption, use_container_width=True)
            else:
                st.caption(caption)
    if e.fallback:
        st.caption(t("photo.fallback", lang, share=f"{e.control_overlap:.0%}"))


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
    """``python -m core verify --db DB --no-progress ...`` detached from the script run."""
    command = [sys.executable, "-m", "core", "verify", "--db", str(db), "--no-progress"]
    for flag, value in (options or {}).items():
        if value not in (None, ""):
            command += [flag, str(value)]
    log = open(verify_log_path(db), "wb")  # noqa: SIM115 - handed to the child, closed below
    try:
        job = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    finally:
        log.close()
    _jobs()[str(db)] = job
    return job


def verify_log_tail(db: Path, lines: int = 20) -> str:
    """The last ``lines`` lines of the verification log ("" when there is none)."""
    try:
        text = verify_log_path(db).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def verify_button(db: Path, lang: str = "en", options: dict[str, Any] | None = None) -> None:
    """The Precompute page's button: start the step, or show that it runs / how it ended."""
    job = running_verify(db)
    if job is not None:
        st.info(t("running", lang))
    elif st.button(t("start", lang), help=t("start.help", lang)):
        start_verify(db, options)
        st.rerun()
    started = _jobs().get(str(db))
    if started is not None and started.poll() is not None:
        st.caption(t("finished", lang, rc=started.returncode))
    tail = verify_log_tail(db)
    if tail:
        st.code(tail, language=None)
