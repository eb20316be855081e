"""The one way wordcam writes a file into a folder the user chose: whole, or not at all.

:func:`replace_file` writes to a temporary file beside the target and renames it over the
target. A reader never sees half a file, a full disk or Ctrl-C leaves the old file (or
none) instead of a truncated one, and a symbolic link planted under the target's name is
replaced, never written through (renaming over a link replaces the link, not its target).
Model folders, training metrics, the confusion-matrix picture and the benchmark reports are
written this way; the files kept beside a DB have their own rules (:mod:`core.store.nofollow`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

__all__ = ["replace_file", "replace_text"]


def replace_file(target: str | Path, write: Callable[[IO[bytes]], object]) -> Path:
    """Call ``write`` on a new temporary file in ``target``'s folder, then rename it to
    ``target``; on any error (or Ctrl-C) the temporary file is removed and ``target`` is
    left as it was. Returns ``target`` as a Path."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600: give the usual permissions
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def replace_text(target: str | Path, text: str) -> Path:
    """:func:`replace_file` with ``text`` encoded as UTF-8."""
    data = text.encode("utf-8")
    return replace_file(target, lambda fh: fh.write(data))


def _umask() -> int:
    """The process's umask, read without changing it (``os.umask`` would, for a moment, in
    every thread); 0o022 where ``/proc`` does not say."""
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return 0o022
