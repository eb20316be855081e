"""Where a job started from the page writes: the output-database field and its confirmation.

The Precompute page writes into the database it shows unless told otherwise; writing into the
open database replaces the snapshot every page reads, so the start button waits for a tick
("write into the open database") first. Another path needs no confirmation.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.i18n import t
from dashboard.text import escape_markdown

KEY = "pc_out_db"


def out_db_field(open_db: Path) -> Path:
    """The output-database text field (the open DB by default); returns the chosen path."""
    st.session_state.setdefault(KEY, str(open_db))
    raw = st.text_input(t("pc.out_db"), key=KEY, help=t("pc.out_db_help"))
    chosen = Path(str(raw).strip() or str(open_db)).expanduser()
    return chosen.resolve() if chosen.is_absolute() else (Path.cwd() / chosen).resolve()


def writes_open_db(target: Path, open_db: Path) -> bool:
    """Whether ``target`` is the database the dashboard has open (and it exists)."""
    return target == open_db.resolve() and open_db.exists()


def confirmed(target: Path, open_db: Path) -> bool:
    """True when the job may start: another DB, or the user ticked the confirmation."""
    if not writes_open_db(target, open_db):
        st.caption(escape_markdown(t("pc.writes_other", db=target)))
        return True
    return st.checkbox(
        t("pc.confirm_open_db", db=escape_markdown(str(target))), key="pc_confirm_open_db"
    )


def watched(open_db: Path) -> Path:
    """The DB whose job progress the page shows: the last target started here, else the open DB."""
    return Path(st.session_state.get("pc_last_target") or open_db)


def remember(target: Path) -> None:
    """Note that a job was started on ``target`` (its progress is shown)."""
    st.session_state["pc_last_target"] = str(target)
