"""The CAM classes import with the garbage collector paused, then their objects are frozen."""

from __future__ import annotations

import gc
import subprocess
import sys
from pathlib import Path

from core.attribution import methods


def test_the_collector_is_paused_inside_and_restored_after():
    assert gc.isenabled()
    with methods._collector_paused():
        assert not gc.isenabled()
        with methods._collector_paused():  # nested (two imports at once)
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_collector_switched_off_by_the_caller_stays_off():
    gc.disable()
    try:
        with methods._collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_a_failing_import_restores_the_collector():
    try:
        with methods._collector_paused():
            raise ImportError("no such module")
    except ImportError:
        pass
    assert gc.isenabled()


def _preloaded(freeze: str) -> list[str]:
    code = (
        "import gc, sys\n"
        "from core.attribution import methods\n"
        f"methods.preload({freeze}); methods._PRELOAD[0].join()\n"
        "print('core.attribution.cams' in sys.modules, gc.isenabled(), gc.get_freeze_count() > 0)\n"
    )
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.split()


def test_the_preload_imports_the_classes_then_freezes_with_the_collector_on():
    assert _preloaded("freeze=True") == ["True", "True", "True"]


def test_a_library_call_leaves_the_callers_objects_unfrozen():
    assert _preloaded("") == ["True", "True", "False"]
