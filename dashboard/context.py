"""What a data page needs (the DB snapshot and the chosen run), or a friendly message."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import streamlit as st

from core.errors import WordcamError
from core.store import queries, work_path
from dashboard.data import q_run_info, q_runs
from dashboard.i18n import lang, t
from dashboard.labels import namer
from dashboard.state import db_path
from dashboard.text import escape_markdown

__all__ = ["Ctx", "db_path", "load_ctx", "missing_db_message"]


@dataclass(frozen=True)
class Ctx:
    """What a data page needs: the DB, its snapshot version, the chosen run and its info."""

    db: str
    mtime: int
    run_id: int
    info: dict[str, Any]
    ui: str = "ja"  # the screen's language when the page asked for its context

    @property
    def key(self) -> tuple[str, int, int]:
        return self.db, self.mtime, self.run_id

    @property
    def lang(self) -> str:
        """The run's explanation language (``"ja"`` when it recorded none)."""
        return str(self.info.get("lang") or "ja")

    def name(self, label: object) -> object:
        """A class label as the screen's language names it (the model's localized name)."""
        labels = self.info.get("labels")
        return namer(labels if isinstance(labels, list) else None, self.ui)(label)


def missing_db_message(db: Path, reason: str | None = None) -> None:
    """A friendly explanation of how to create the DB, instead of a traceback."""
    from dashboard.nav import PAGES

    st.info(
        t("ctx.no_results")
        + (f" ({escape_markdown(reason)})" if reason else "")
        + "\n\n"
        + t("ctx.create_them")
    )
    st.code(f"wordcam precompute DATA_DIR --db {db}\nwordcam dashboard --db {db}", language="bash")
    st.page_link(PAGES["precompute"], label=t("ctx.open_precompute"), icon=":material/play_arrow:")


def _chosen_run(version: tuple[str, int]) -> Ctx | str:
    """The run picked in the sidebar (else the newest) of a snapshot, or why there is none."""
    runs = q_runs(*version)
    if runs.empty:
        return t("ctx.no_runs")
    run_ids = [int(r) for r in runs["run_id"]]
    chosen = st.session_state.get("run_id")
    run_id = chosen if chosen in run_ids else run_ids[0]
    return Ctx(version[0], version[1], run_id, q_run_info(*version, run_id), lang())


def load_ctx(stop: bool = True) -> Ctx | None:
    """The current DB snapshot and run, or a friendly message (and ``st.stop()``) when absent."""
    db = db_path()
    version = queries.db_version(db)
    reason = None
    if version is not None:
        try:
            found = _chosen_run(version)
            if isinstance(found, Ctx):
                return found
            reason = found
        except WordcamError as exc:
            reason = str(exc)
        except Exception as exc:  # a corrupt or foreign file: say so, do not crash the page
            reason = f"cannot read {db}: {type(exc).__name__}: {exc}"
    if version is None and work_path(db).exists():
        reason = t("ctx.being_written")
    if stop:
        missing_db_message(db, reason)
        st.stop()
    return None
