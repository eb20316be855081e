"""A crash in native code during a test run names its test (tests/conftest.py).

Twice a full run died of a segfault with no word but the shell's "Segmentation fault": Ray's
driver had replaced faulthandler's handlers (``ray.init``) and reset them to the default
(``ray.shutdown``). These runs start pytest on a small test file with the project's conftest.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent

RESET = """
import ctypes, signal

def reset_fatal_handlers():
    # what ray.shutdown() leaves behind: the default action for these signals (die, silently)
    libc = ctypes.CDLL(None)
    libc.signal.argtypes = [ctypes.c_int, ctypes.c_void_p]
    libc.signal.restype = ctypes.c_void_p
    for s in (signal.SIGSEGV, signal.SIGABRT, signal.SIGFPE, signal.SIGILL):
        libc.signal(int(s), 0)

def test_loses_the_handlers():
    reset_fatal_handlers()
"""

RAY = """
import ray

def test_loses_the_handlers():
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False)
    ray.shutdown()
"""

CRASH = """
def test_crashes_in_native_code():
    import ctypes
    ctypes.string_at(0)  # reads address 0: SIGSEGV
"""


def _run_crashing(tmp_path: Path, first: str) -> tuple[subprocess.CompletedProcess, str]:
    """pytest on FIRST then a test that segfaults, with the project's conftest; its output
    and what it left in the trace file."""
    (tmp_path / "test_crash.py").write_text(textwrap.dedent(first + CRASH), encoding="utf-8")
    trace = tmp_path / "trace.txt"
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), str(TESTS.parent)])
    env["WORDCAM_TEST_TRACE"] = str(trace)
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "conftest",
            "-p",
            "no:cacheprovider",
            "-o",
            "addopts=",
            "--rootdir",
            str(tmp_path),
            "-q",
            "test_crash.py",
        ],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )
    return proc, trace.read_text(encoding="utf-8") if trace.exists() else ""


def _assert_named(proc: subprocess.CompletedProcess, trace: str) -> None:
    assert proc.returncode == -signal.SIGSEGV, (proc.returncode, proc.stderr[-2000:])
    assert "Fatal Python error: Segmentation fault" in proc.stderr, proc.stderr[-2000:]
    assert "in test_crashes_in_native_code" in proc.stderr, proc.stderr[-2000:]
    assert trace.startswith("running test_crash.py::test_crashes_in_native_code: call"), trace


def test_a_segfault_after_the_handlers_were_reset_names_its_test(tmp_path: Path) -> None:
    proc, trace = _run_crashing(tmp_path, RESET)
    _assert_named(proc, trace)


@pytest.mark.slow
def test_a_segfault_after_ray_shut_down_names_its_test(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    proc, trace = _run_crashing(tmp_path, RAY)
    _assert_named(proc, trace)
