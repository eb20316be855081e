"""The DuckDB store: schema, the single writer, and read-only connections.

Concurrency design (DuckDB allows one writing process and no readers beside it):
the precompute job writes to a private *work file* ``<db>.work`` and, every
``publish_every`` seconds and at the end, checkpoints it and publishes a snapshot by copying
it to ``<db>.tmp`` and atomically renaming that over ``<db>``. Readers (``wordcam mine``,
the dashboard) only ever open ``<db>`` read-only, so they never block the job and always see
a consistent snapshot (a reader holding the old file keeps its inode until it reconnects).
After ``kill -9`` the work file survives (DuckDB replays its WAL), and rerunning the job
resumes from it; a clean finish publishes and removes it. A run that finds no work file but
an existing ``<db>`` starts from a copy of ``<db>``.

Single writer: the writer holds an exclusive ``flock`` on ``<db>.lock`` (containing its PID)
for its whole life; a second writer fails at once with a clear error. DuckDB's own lock on the
work file is not enough: it is a POSIX ``fcntl`` lock, which the kernel drops as soon as the
same process closes *any* descriptor of that file (as the snapshot copy does).

Schema (one DB may hold several runs; readers default to the latest):

runs          run_id, created_at, updated_at, kind ('images'|'texts'), source, model,
              explainer, mode ('blind'|'informed'), method, lang, labels (JSON list of the
              model's classes), settings (JSON), status ('running'|'done'|'interrupted'|'failed'),
              image_accuracy (DOUBLE, NULL until known)
images        image_id, run_id, path, rel_path, sha256, true_label, pred_label, pred_prob,
              topk (JSON [{"label","prob"}]), probs (FLOAT[] in the model's label order),
              overlay_path, panel_path, marks_path, thumb_path, status ('done'|'failed'),
              error, updated_at.  One row per (run_id, path).  For a text corpus ``path`` is
              the document id and the image columns are NULL.
explanations  image_id, run_id, explainer, mode, lang, text, error, details (JSON), created_at
tokens        image_id, run_id, tokens (VARCHAR[]; content words, in order, each text tokenized once)
terms         run_id, term_id, term, df (documents containing the term)
doc_terms     run_id, image_id, term_id: the presence (bag-of-words) term matrix, one row per
              (document, term) pair
mining        run_id, settings (canonical JSON of the miner's settings), corpus_key (fingerprint
              of the documents, labels and tokens fit on), result (the keyword table as JSON),
              created_at: keyword tables fit by the precompute job, so that ``wordcam mine`` and
              the dashboard answer default settings without refitting
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DataError

if TYPE_CHECKING:
    import duckdb

DEFAULT_DB = Path("data") / "wordcam.duckdb"

SCHEMA = """
CREATE SEQUENCE IF NOT EXISTS run_id_seq START 1;
CREATE SEQUENCE IF NOT EXISTS image_id_seq START 1;
CREATE TABLE IF NOT EXISTS runs (
    run_id INTEGER PRIMARY KEY DEFAULT nextval('run_id_seq'),
    created_at TIMESTAMP DEFAULT current_timestamp,
    updated_at TIMESTAMP DEFAULT current_timestamp,
    kind VARCHAR NOT NULL DEFAULT 'images',
    source VARCHAR,
    model VARCHAR,
    explainer VARCHAR,
    mode VARCHAR,
    method VARCHAR,
    lang VARCHAR,
    labels JSON,
    settings JSON,
    status VARCHAR DEFAULT 'running',
    image_accuracy DOUBLE
);
CREATE TABLE IF NOT EXISTS images (
    image_id BIGINT PRIMARY KEY DEFAULT nextval('image_id_seq'),
    run_id INTEGER NOT NULL,
    path VARCHAR NOT NULL,
    rel_path VARCHAR,
    sha256 VARCHAR,
    true_label VARCHAR,
    pred_label VARCHAR,
    pred_prob DOUBLE,
    topk JSON,
    probs FLOAT[],
    overlay_path VARCHAR,
    panel_path VARCHAR,
    marks_path VARCHAR,
    thumb_path VARCHAR,
    status VARCHAR NOT NULL,
    error VARCHAR,
    updated_at TIMESTAMP DEFAULT current_timestamp,
    UNIQUE (run_id, path)
);
CREATE TABLE IF NOT EXISTS explanations (
    image_id BIGINT PRIMARY KEY,
    run_id INTEGER NOT NULL,
    explainer VARCHAR,
    mode VARCHAR,
    lang VARCHAR,
    text VARCHAR,
    error VARCHAR,
    details JSON,
    created_at TIMESTAMP DEFAULT current_timestamp
);
CREATE TABLE IF NOT EXISTS tokens (
    image_id BIGINT PRIMARY KEY,
    run_id INTEGER NOT NULL,
    tokens VARCHAR[]
);
CREATE TABLE IF NOT EXISTS terms (
    run_id INTEGER NOT NULL,
    term_id INTEGER NOT NULL,
    term VARCHAR NOT NULL,
    df INTEGER NOT NULL,
    PRIMARY KEY (run_id, term_id)
);
CREATE TABLE IF NOT EXISTS doc_terms (
    run_id INTEGER NOT NULL,
    image_id BIGINT NOT NULL,
    term_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS mining (
    run_id INTEGER NOT NULL,
    settings VARCHAR NOT NULL,
    corpus_key VARCHAR NOT NULL,
    result JSON NOT NULL,
    created_at TIMESTAMP DEFAULT current_timestamp,
    PRIMARY KEY (run_id, settings)
);
"""


def work_path(db: str | Path) -> Path:
    """The writer's private file for ``db``."""
    db = Path(db)
    return db.with_name(db.name + ".work")


def lock_path(db: str | Path) -> Path:
    """The writer's lock file for ``db`` (holds the writing process's PID; left in place)."""
    db = Path(db)
    return db.with_name(db.name + ".lock")


#: Open writer-lock files of this process. A forked child (the tokenizer's process pool) closes
#: its copies at once: an ``flock`` belongs to the open file, so a child still holding a copy
#: would keep the DB locked after the writer closes.
_HELD_LOCKS: set[Any] = set()


def _close_inherited_locks() -> None:
    for fh in list(_HELD_LOCKS):
        fh.close()
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_locks)


def _release_writer_lock(fh: Any) -> None:
    _HELD_LOCKS.discard(fh)
    fh.close()


def _acquire_writer_lock(db: Path):
    """Take the exclusive writer lock of ``db``; a clear error when another process holds it."""
    fh = open(lock_path(db), "a+", encoding="utf-8")  # noqa: SIM115 (held until close)
    try:
        import fcntl
    except ImportError:  # Windows: DuckDB's own lock on the work file is not dropped there
        return fh
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        pid = fh.read().strip()
        fh.close()
        owner = f" (PID {pid})" if pid.isdigit() else ""
        raise DataError(
            f"{db} is being written by another precompute job{owner}; wait for it to finish "
            "or stop it, then rerun"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()))
    fh.flush()
    _HELD_LOCKS.add(fh)
    return fh


def asset_dir(db: str | Path) -> Path:
    """Folder beside the DB holding overlay/panel/marks/thumbnail PNGs."""
    db = Path(db)
    return db.with_name(db.stem + "_assets")


def connect_read(db: str | Path) -> duckdb.DuckDBPyConnection:
    """Open the published snapshot of ``db`` read-only; a clear error if there is none."""
    import duckdb

    db = Path(db)
    if not db.exists():
        hint = " (a precompute job is still running; its first snapshot is not published yet)"
        raise DataError(
            f"no database at {db}"
            + (
                hint
                if work_path(db).exists()
                else f"; run `wordcam precompute DATA_DIR --db {db}` first"
            )
        )
    try:
        return duckdb.connect(str(db), read_only=True)
    except duckdb.Error as exc:
        raise DataError(f"cannot open {db} as a wordcam database: {exc}") from None


@contextmanager
def reading(db: str | Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """``with reading(db) as con:`` a read-only connection closed afterwards."""
    con = connect_read(db)
    try:
        yield con
    finally:
        con.close()


def latest_run_id(con: duckdb.DuckDBPyConnection) -> int:
    """The most recent run in the DB; a clear error when it holds none."""
    row = con.execute("SELECT max(run_id) FROM runs").fetchone()
    if not row or row[0] is None:
        raise DataError("the database holds no runs yet; run `wordcam precompute` first")
    return int(row[0])


class StoreWriter:
    """The single writer of a wordcam DB (see the module docstring for the design).

    Use as a context manager; call :meth:`publish` to make progress visible to readers.
    """

    def __init__(self, db: str | Path, publish_every: float = 20.0) -> None:
        import duckdb

        self.db = Path(db)
        self.work = work_path(self.db)
        self.publish_every = publish_every
        self.db.parent.mkdir(parents=True, exist_ok=True)
        self._lock = _acquire_writer_lock(self.db)
        try:
            if not self.work.exists() and self.db.exists():
                shutil.copyfile(self.db, self.work)
            try:
                self.con = duckdb.connect(str(self.work))
            except duckdb.IOException as exc:
                raise DataError(
                    f"{self.work} is locked by another process; is another precompute job "
                    f"writing {self.db}? ({exc})"
                ) from None
            self.con.execute(SCHEMA)
        except BaseException:
            _release_writer_lock(self._lock)
            raise
        self._last_publish = 0.0

    def publish(self, force: bool = False) -> bool:
        """Copy a checkpointed snapshot over ``db`` atomically (at most every ``publish_every`` s)."""
        now = time.monotonic()
        if not force and now - self._last_publish < self.publish_every:
            return False
        self.con.execute("CHECKPOINT")
        tmp = self.db.with_name(self.db.name + ".tmp")
        shutil.copyfile(self.work, tmp)
        os.replace(tmp, self.db)
        self._last_publish = time.monotonic()
        return True

    def close(self, finished: bool = False) -> None:
        """Publish and close; a finished job also removes its work file."""
        try:
            try:
                self.publish(force=True)
            finally:
                self.con.close()
            if finished:
                for p in (self.work, self.work.with_name(self.work.name + ".wal")):
                    p.unlink(missing_ok=True)
        finally:
            _release_writer_lock(self._lock)

    def __enter__(self) -> StoreWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.close(finished=exc_type is None)
