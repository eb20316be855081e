"""Where a wordcam DB's files lie: the published snapshot, the writer's files, the pictures.

Every path is derived from the DB path alone, so the job, ``wordcam mine`` and the dashboard
agree on them without configuration (see ``docs/schema.md``, *Files beside the DB*).
"""

from __future__ import annotations

from pathlib import Path

#: The DB the CLI and the dashboard use when none is given.
DEFAULT_DB = Path("data") / "wordcam.duckdb"


def work_path(db: str | Path) -> Path:
    """The writer's private file for ``db``."""
    db = Path(db)
    return db.with_name(db.name + ".work")


def wal_path(work: str | Path) -> Path:
    """DuckDB's write-ahead log beside the work file ``work``."""
    work = Path(work)
    return work.with_name(work.name + ".wal")


def work_tmp_path(db: str | Path) -> Path:
    """Where the published ``db`` is copied before it is renamed to the work file."""
    work = work_path(db)
    return work.with_name(work.name + ".tmp")


def damaged_work_path(db: str | Path) -> Path:
    """Where a work file that failed its check is moved (kept for inspection, never published)."""
    work = work_path(db)
    return work.with_name(work.name + ".damaged")


def snapshot_tmp_path(db: str | Path) -> Path:
    """Where a snapshot is copied before it is renamed over ``db``."""
    db = Path(db)
    return db.with_name(db.name + ".tmp")


def lock_path(db: str | Path) -> Path:
    """The writer's lock file for ``db`` (holds the writing process's PID; left in place)."""
    db = Path(db)
    return db.with_name(db.name + ".lock")


def asset_dir(db: str | Path) -> Path:
    """Folder beside the DB holding overlay/panel/marks/thumbnail PNGs.

    Beside the real file when ``db`` is a link (as the writer resolves it), so the job, verify
    and the readers agree whichever name they were given.
    """
    db = Path(db).expanduser()
    if db.is_symlink():
        db = db.resolve()
    return db.with_name(db.stem + "_assets")
