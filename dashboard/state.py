"""Which DB this session reads, and the one shared read-only connection to its snapshot.

A snapshot is identified by ``(db path, file mtime)``: the precompute job re-publishes the DB
by an atomic rename (hence a new mtime), so every cache keyed by it picks the new file up on
the next interaction.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
from pathlib import Path
from typing import Any

import streamlit as st

from core.store import queries

DB_ENV = "WORDCAM_DB"

_CONNECTIONS: dict[str, tuple[int, Any]] = {}
_CONNECTIONS_LOCK = threading.Lock()


def _db_from_argv(argv: list[str]) -> str | None:
    """``--db`` after ``streamlit run dashboard/app.py --`` (ignored under other programs)."""
    if not argv or not argv[0].endswith("app.py"):
        return None
    parser = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    parser.add_argument("--db")
    known, _ = parser.parse_known_args(argv[1:])
    return known.db


def db_path() -> Path:
    """The DB this session reads: ``--db`` argument, else ``$WORDCAM_DB``, else the default."""
    if "wordcam_db" not in st.session_state:
        from core.store import DEFAULT_DB

        chosen = _db_from_argv(sys.argv) or os.environ.get(DB_ENV) or str(DEFAULT_DB)
        st.session_state["wordcam_db"] = str(Path(chosen).expanduser().resolve())
    return Path(st.session_state["wordcam_db"])


def cursor(db: str, mtime: int):
    """A thread-private cursor on the current snapshot (one shared connection per snapshot).

    When the DB is re-published (new mtime) the old connection is closed and the new file
    attached, so every session sees the new results on its next interaction.
    """
    with _CONNECTIONS_LOCK:
        held = _CONNECTIONS.get(db)
        if held is None or held[0] != mtime:
            if held is not None:
                held[1].close()
            _CONNECTIONS[db] = (mtime, queries.open_snapshot(db))
        return queries.snapshot_cursor(_CONNECTIONS[db][1])
