"""How wordcam starts worker processes: from a clean server rather than by forking the caller.

The caller is a busy process by the time it wants workers: torch's threads, DuckDB's, the
background purger of pyarrow's jemalloc (started as soon as scikit-learn imports pandas), a
Streamlit server's, and in a test run or a notebook whatever ran before. ``fork`` copies
every lock one of those threads holds into the child, held for good, and runs each library's
fork handlers in the caller; Python 3.12 warns about it and 3.14 no longer forks by default.
The full test run died silently four times in the one place it forked a busy process
(``wordcam train --workers 2``, docs/reliability.md).

``forkserver`` forks the workers from a small server process started once per caller. The
server imports the modules named in :func:`worker_context` before it serves, so each worker
starts with them imported. A worker that is not forked from its caller imports the caller's
main script again, so this is done only where that runs no code of the caller's: wordcam's
commands and other installed console scripts (``pytest``), ``python -m package``, notebooks
and interactive sessions. A script of the user's own may lack the
``if __name__ == "__main__":`` guard; its workers start as ``multiprocessing`` starts any of
its processes (``fork`` on Linux before Python 3.14). So do a Streamlit page's, which
Streamlit runs as ``__main__``.
"""

from __future__ import annotations

import multiprocessing
import sys
import sysconfig
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

_PRELOAD: list[str] = []  # modules the server imports, in the order they were asked for
_PRELOAD_LOCK = threading.Lock()


def worker_context(preload: Iterable[str] = ()) -> Any:
    """The ``multiprocessing`` context to start workers in: ``forkserver``, else ``spawn``;
    the platform's default when :func:`main_script_reruns` (a script of the user's own).

    ``preload``: modules the workers need, imported once in the server. They join those of
    earlier calls; once the server runs (after the first worker started), later ones are
    imported by each worker itself instead.
    """
    if main_script_reruns():
        return multiprocessing.get_context()
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    with _PRELOAD_LOCK:
        _PRELOAD.extend(name for name in preload if name not in _PRELOAD)
        context.set_forkserver_preload(list(_PRELOAD))
    return context


def main_script_reruns() -> bool:
    """Whether a worker that is not forked would run the caller's own script again.

    ``multiprocessing`` imports the main module in such a worker: by name for ``python -m
    module`` (but never a package's ``__main__``), by path for ``python script.py``. Nothing
    is run again for an interactive session or a notebook (no path), nor for a console
    script that pip or uv installed (``wordcam``, ``pytest``: their code runs only under the
    guard).
    """
    main = sys.modules.get("__main__")
    name = getattr(getattr(main, "__spec__", None), "name", None)
    if name is not None:
        return not name.endswith("__main__")
    path = getattr(main, "__file__", None)
    if path is None:
        return False
    return Path(path).resolve().parent != Path(sysconfig.get_path("scripts")).resolve()
