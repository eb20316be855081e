"""The one way wordcam opens the files it keeps beside a DB: never through a symbolic link.

The lock file, the work file's copies and the snapshot copy have names anyone who can write
the folder can guess, so a link planted under one of those names (``ln -s victim.txt
data/wc.duckdb.lock``) would make the job write into the link's target. Every such file is
opened here with ``O_NOFOLLOW``; a file the job makes new is created with ``O_EXCL`` after
the name is removed (removing a link removes the link, never its target). The same holds for
the progress file (:mod:`core.jobs.progress`) and the pictures in ``<db>_assets``: its
folders are made by :func:`folder_no_follow`, which refuses a folder that is a link, and each
picture is opened here new.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path
from typing import IO

from core.errors import DataError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)  # Windows has no O_NOFOLLOW (and rarely links)
_BINARY = getattr(os, "O_BINARY", 0)


def open_no_follow(path: str | Path, mode: str = "r+", *, new: bool = False) -> IO[bytes]:
    """Open ``path`` in binary without following a link, as :func:`open` would with ``mode``.

    ``new``: the file is made anew: whatever has the name (a file or a link) is removed and the
    file created exclusively, so a link planted between the removal and the creation fails
    instead of being followed. Otherwise the file is created when missing (``"a+"``, ``"r+"``
    and ``"w"`` modes) and a link in its place is refused with one line.
    """
    path = Path(path)
    flags = _NOFOLLOW | _BINARY | os.O_CLOEXEC
    flags |= os.O_RDWR if "+" in mode else (os.O_WRONLY if mode[0] in "wa" else os.O_RDONLY)
    if new:
        path.unlink(missing_ok=True)
        flags |= os.O_CREAT | os.O_EXCL
    elif mode[0] in "wa" or mode.startswith("r+"):
        flags |= os.O_CREAT
    if mode[0] == "a":
        flags |= os.O_APPEND
    try:
        fd = os.open(path, flags, 0o644)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.EMLINK) or (exc.errno == errno.EEXIST and new):
            raise DataError(
                f"{path} is a symbolic link (or appeared while wordcam made it); wordcam does not "
                "write through links in its own files: remove it and rerun"
            ) from None
        raise
    try:
        if mode[0] == "w":
            os.ftruncate(fd, 0)
        return os.fdopen(fd, mode if "b" in mode else mode + "b")
    except BaseException:
        os.close(fd)
        raise


def folder_no_follow(path: str | Path, below: str | Path) -> Path:
    """Make the folder ``path`` and its parents up to the existing folder ``below``, none of
    them through a link: a link (or a file) in the place of any folder from ``below`` down to
    ``path`` is refused with one line. ``below`` itself is the user's (it may be reached
    through links). Returns ``path``.
    """
    path, below = Path(path), Path(below)
    current = below
    for part in path.relative_to(below).parts:
        current = current / part
        with contextlib.suppress(FileExistsError):
            current.mkdir()
        if current.is_symlink():
            raise DataError(
                f"{current} is a symbolic link; wordcam does not write through links in its own "
                "folders: remove it and rerun"
            )
        if not current.is_dir():
            raise DataError(f"{current} is not a folder; remove it or move it away and rerun")
    return path


def is_link(path: str | Path) -> bool:
    """Whether ``path`` is a symbolic link (a dangling one too)."""
    return Path(path).is_symlink()
