"""DataLoader workers start clean: not a fork of the busy process that asks for them.

A process that decodes photos already runs other libraries' threads (torch, DuckDB, pyarrow's
jemalloc purger; in a test run or a notebook, whatever ran before). A plain ``fork`` copies
any lock one of them holds into the workers, locked for good, and runs every library's fork
handlers in the caller. The test run died silently inside such a fork four times
(docs/reliability.md). Here a lock held by the caller stands in for a library's lock. The
exception is a script of the user's own, which the workers would run again (core.processes).
"""

from __future__ import annotations

import multiprocessing
import sys
import sysconfig
import threading
import types

from core.datasets import make_loader
from core.processes import main_script_reruns, worker_context

#: Held by the test while the workers start; a forked worker would inherit it held.
HELD_BY_CALLER = threading.Lock()


class LockProbe:
    """A dataset whose items say whether the worker could take :data:`HELD_BY_CALLER`."""

    def __len__(self) -> int:
        return 4

    def __getitem__(self, i: int):
        import torch

        if HELD_BY_CALLER.acquire(timeout=2):
            HELD_BY_CALLER.release()
            return torch.zeros(1), 0, i, None
        return None, 0, i, "a lock the caller held at the fork is still held"


def test_workers_do_not_inherit_the_callers_locks():
    HELD_BY_CALLER.acquire()
    try:
        loader = make_loader(LockProbe(), batch_size=2, workers=2)  # type: ignore[arg-type]
        batches = list(loader)
    finally:
        HELD_BY_CALLER.release()
    assert [failures for *_, failures in batches] == [[], []]
    assert sum(len(images) for images, *_ in batches) == 4


def test_workers_start_from_a_server_or_fresh_never_a_fork_of_the_caller():
    assert worker_context().get_start_method() in {"forkserver", "spawn"}
    loader = make_loader(LockProbe(), batch_size=2, workers=1)  # type: ignore[arg-type]
    assert loader.multiprocessing_context.get_start_method() != "fork"
    assert make_loader(LockProbe(), batch_size=2, workers=0).multiprocessing_context is None  # type: ignore[arg-type]


def _main(monkeypatch, file: str | None = None, spec_name: str | None = None) -> None:
    main = types.ModuleType("__main__")
    main.__spec__ = types.SimpleNamespace(name=spec_name) if spec_name else None  # type: ignore[assignment]
    if file:
        main.__file__ = file
    monkeypatch.setitem(sys.modules, "__main__", main)


def test_a_users_own_script_keeps_the_platforms_start_method(monkeypatch, tmp_path):
    """Its workers would import the script again, and it may lack the __main__ guard."""
    _main(monkeypatch, file=str(tmp_path / "analysis.py"))
    assert main_script_reruns()
    assert worker_context().get_start_method() == multiprocessing.get_start_method()
    _main(monkeypatch, spec_name="analysis")  # python -m analysis
    assert main_script_reruns()


def test_consoles_notebooks_and_package_mains_start_workers_from_the_server(monkeypatch):
    scripts = sysconfig.get_path("scripts")
    for file, spec_name in [
        (None, None),  # an interactive session, a notebook, python -c
        (f"{scripts}/wordcam", None),  # a console script pip installed
        (None, "pytest.__main__"),  # python -m pytest
    ]:
        _main(monkeypatch, file=file, spec_name=spec_name)
        assert not main_script_reruns(), (file, spec_name)
        assert worker_context().get_start_method() in {"forkserver", "spawn"}
