"""The job's progress file: written by every job on a DB (precompute, import, verify), read by
the dashboard.

One JSON record beside the DB (``<db>.progress.json``), replaced atomically (temporary file +
rename) so a reader never sees half a record, and never written through a link planted under
its name or its temporary file's (:mod:`core.store.nofollow`). Standard library and
wordcam's own light modules only at import time: the dashboard reads it without loading torch
or DuckDB.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.store.nofollow import open_no_follow

log = logging.getLogger(__name__)

#: The exit status of ``wordcam precompute`` and ``wordcam verify`` when the job finished but
#: some inputs failed (a rerun retries only those); 0 all done, 1 stopped by an error, 2 bad
#: arguments, 130 interrupted.
EXIT_SOME_FAILED = 3


def progress_path(db: str | Path) -> Path:
    """The progress JSON file of the job writing ``db`` (beside it: ``<db>.progress.json``).

    Contents: ``{"status": "running|done|failed|interrupted", "done", "failed", "total",
    "started_at", "updated_at", "eta_s", "message", "pid", "run_id", "db", "job"}``; ``done``
    counts the finished inputs (photos, documents or photo-words, including earlier sessions),
    ``failed`` this session's failures; ``job`` is ``precompute``, ``import`` or ``verify``.
    """
    db = Path(db)
    return db.with_name(db.name + ".progress.json")


def read_progress(db: str | Path) -> dict[str, Any] | None:
    """The last progress record of the job writing ``db``, or None when there is none."""
    try:
        return json.loads(progress_path(db).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


class ProgressFile:
    """Writes the progress JSON atomically (tmp file + rename) and drives the tqdm bar."""

    def __init__(
        self,
        db: Path,
        total: int,
        done: int,
        run_id: int | None,
        show: bool,
        unit: str = "photo",
        job: str = "precompute",
    ) -> None:
        self.path = progress_path(db)
        self.job = job
        self.db = db
        self.total = total
        self.done = done
        self.failed = 0
        self.run_id = run_id
        self.started_at = now_iso()
        self._t0 = time.monotonic()
        self._session_done = 0
        self.bar = None
        if show:
            from tqdm import tqdm

            self.bar = tqdm(
                total=total,
                initial=done,
                unit=unit,
                file=sys.stderr,
                dynamic_ncols=True,
                mininterval=1.0,
                smoothing=0.1,
            )

    def eta_s(self) -> float | None:
        elapsed = time.monotonic() - self._t0
        if self._session_done <= 0 or elapsed <= 0:
            return None
        remaining = max(0, self.total - self.done - self.failed)
        return round(remaining * elapsed / self._session_done, 1)

    def advance(self, done: int, failed: int) -> None:
        self.done += done
        self.failed += failed
        self._session_done += done + failed
        if self.bar is not None:
            self.bar.update(done + failed)
            if self.failed:
                self.bar.set_postfix(failed=self.failed, refresh=False)
        self.write("running")

    def write(self, status: str, message: str = "") -> None:
        record = {
            "status": status,
            "done": self.done,
            "failed": self.failed,
            "total": self.total,
            "started_at": self.started_at,
            "updated_at": now_iso(),
            "eta_s": self.eta_s() if status == "running" else 0.0 if status == "done" else None,
            "message": message,
            "pid": os.getpid(),
            "run_id": self.run_id,
            "db": str(self.db),
            "job": self.job,
        }
        text = json.dumps(record, ensure_ascii=False).encode("utf-8")
        tmp = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        try:
            with open_no_follow(tmp, "wb", new=True) as fh:
                fh.write(text)
            os.replace(tmp, self.path)  # replaces a link in its place, never writes through it
        except (OSError, DataError) as exc:  # progress is a courtesy; never fail the job for it
            tmp.unlink(missing_ok=True)
            log.debug("cannot write %s: %s", self.path, exc)
            self._rewrite_in_place(text)

    def _rewrite_in_place(self, text: bytes) -> None:
        """Overwrite the record where it is (a full disk refuses the new file, not its block);
        a link in its place is left alone (:mod:`core.store.nofollow`)."""
        try:
            with open_no_follow(self.path, "r+") as fh:
                fh.truncate()
                fh.write(text)
        except (OSError, DataError) as exc:
            log.debug("cannot rewrite %s: %s", self.path, exc)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
