"""How wordcam starts worker processes: from a clean server, never by forking the caller.

The caller is a busy process by the time it wants workers: torch's threads, DuckDB's, the
background purger of pyarrow's jemalloc (started as soon as scikit-learn imports pandas), a
Streamlit server's, and in a test run or a notebook whatever ran before. ``fork`` copies
every lock one of those threads holds into the child, held for good, and runs each library's
fork handlers in the caller; Python 3.12 warns about it and 3.14 no longer forks by default.
The full test run died silently four times in the one place it forked a busy process
(``wordcam train --workers 2``, docs/reliability.md).

``forkserver`` forks the workers from a small server process started once per caller. The
server imports the modules named in :func:`worker_context` before it serves, so each worker
starts with them imported. A script that starts workers needs the usual
``if __name__ == "__main__":`` guard, as on every platform that does not fork.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Iterable
from typing import Any

_PRELOAD: list[str] = []  # modules the server imports, in the order they were asked for
_PRELOAD_LOCK = threading.Lock()


def worker_context(preload: Iterable[str] = ()) -> Any:
    """The ``multiprocessing`` context to start workers in: ``forkserver``, else ``spawn``.

    ``preload``: modules the workers need, imported once in the server. They join those of
    earlier calls; once the server runs (after the first worker started), later ones are
    imported by each worker itself instead.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():  # Windows
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    with _PRELOAD_LOCK:
        _PRELOAD.extend(name for name in preload if name not in _PRELOAD)
        context.set_forkserver_preload(list(_PRELOAD))
    return context
