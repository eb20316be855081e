"""The single-writer lock: an exclusive ``flock`` on ``<db>.lock``, held for the writer's life.

DuckDB's own lock on the work file is not enough: it is a POSIX ``fcntl`` lock, which the
kernel drops as soon as the same process closes *any* descriptor of that file (as the snapshot
copy does). An ``flock`` belongs to the open file instead, so it survives the copy; a second
writer fails at once with an error naming the holder's PID (written into the lock file). The
lock file is opened without following links (:mod:`core.store.nofollow`).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO

from core.errors import DataError
from core.store.nofollow import open_no_follow
from core.store.paths import lock_path

#: Open writer-lock files of this process. A forked child (the tokenizer's process pool) closes
#: its copies at once: an ``flock`` belongs to the open file, so a child still holding a copy
#: would keep the DB locked after the writer closes.
_HELD_LOCKS: set[IO[bytes]] = set()


def _close_inherited_locks() -> None:
    for fh in list(_HELD_LOCKS):
        fh.close()
    _HELD_LOCKS.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_inherited_locks)


def acquire_writer_lock(db: Path) -> IO[bytes]:
    """Take the exclusive writer lock of ``db``; a clear error when another process holds it."""
    fh = open_no_follow(lock_path(db), "a+")
    try:
        import fcntl
    except ImportError:  # Windows: DuckDB's own lock on the work file is not dropped there
        return fh
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.seek(0)
        pid = fh.read().decode("utf-8", "replace").strip()
        fh.close()
        owner = f" (PID {pid})" if pid.isdigit() else ""
        raise DataError(
            f"{db} is being written by another precompute job{owner}; wait for it to finish "
            "or stop it, then rerun"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(str(os.getpid()).encode())
    fh.flush()
    _HELD_LOCKS.add(fh)
    return fh


def release_writer_lock(fh: IO[bytes]) -> None:
    """Give the lock taken by :func:`acquire_writer_lock` back (the file stays in place)."""
    _HELD_LOCKS.discard(fh)
    fh.close()
