"""Safety nets for the whole test run: a crash in native code names the test it killed.

pytest arms Python's faulthandler once, when the run starts, so that a segfault prints the
Python stack of every thread. Ray's driver takes that back: ``ray.init`` (tests/test_ray_engine.py)
installs its own handlers for SIGSEGV, SIGBUS, SIGABRT, SIGFPE and SIGILL, and ``ray.shutdown``
resets SIGSEGV, SIGABRT, SIGFPE and SIGILL to the default. From then on a segfault ended the
run with no word but the shell's "Segmentation fault" (twice, in full runs; docs/reliability.md).

So before and after every test, faulthandler is armed again (on a copy of pytest's stderr that
output capturing does not redirect), and when ``$WORDCAM_TEST_TRACE`` names a file, the id of the
test that is running is written to it: ``scripts/test.sh`` sets it and, when pytest dies of a
signal, says which test was running even if nothing else was printed.
"""

from __future__ import annotations

import faulthandler
import os
import sys

import pytest

#: The file ``scripts/test.sh`` reads when pytest dies of a signal.
TRACE_ENV = "WORDCAM_TEST_TRACE"

_stderr: list = []  # the stream faulthandler writes to (a copy of fd 2, taken before capturing)


# OpenVINO's converter telemetry stays off in the test process too, whichever test imports
# openvino first (some call pytest.importorskip("openvino")): the same step as wordcam's own
# import, core.models.accelerate.openvino, which tests/test_openvino_telemetry.py checks.
sys.modules.setdefault("openvino_telemetry", None)

#: The test run's own ``__main__``. Streamlit's AppTest puts the page script there and leaves
#: it; wordcam then takes the run for a user's script and forks its workers from the test
#: process (core.processes.main_script_reruns), the pattern behind four crashed full runs.
_MAIN = sys.modules.get("__main__")


def _restore_main() -> None:
    if _MAIN is not None and sys.modules.get("__main__") is not _MAIN:
        sys.modules["__main__"] = _MAIN


def pytest_configure(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin("faulthandler"):  # -p no:faulthandler: left alone
        return
    try:
        _stderr.append(os.fdopen(os.dup(sys.stderr.fileno()), "w"))
    except (AttributeError, OSError, ValueError):  # a stderr without a file descriptor
        return
    _arm()


def _arm() -> None:
    """Install faulthandler's handlers again, whoever replaced or reset them since."""
    if _stderr:
        faulthandler.disable()
        faulthandler.enable(file=_stderr[0], all_threads=True)


def _trace(line: str) -> None:
    """Write one line to the trace file: written by the kernel as soon as this returns, so it
    is still there when the process is killed the next instant."""
    path = os.environ.get(TRACE_ENV)
    if not path:
        return
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, f"{line}\n".encode("utf-8", "backslashreplace"))
    finally:
        os.close(fd)


def pytest_runtest_logstart(nodeid: str, location: tuple) -> None:
    _restore_main()
    _arm()
    _trace(f"running {nodeid} (pid {os.getpid()})")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    _trace(f"running {item.nodeid}: setup (pid {os.getpid()})")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    _trace(f"running {item.nodeid}: call (pid {os.getpid()})")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    _trace(f"running {item.nodeid}: teardown (pid {os.getpid()})")


def pytest_runtest_logfinish(nodeid: str, location: tuple) -> None:
    _restore_main()
    _arm()  # a module's last test may end Ray in its fixture's teardown
    _trace(f"between tests: after {nodeid} (pid {os.getpid()})")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _trace(f"after the last test: ending the session (pid {os.getpid()})")


def pytest_sessionstart(session: pytest.Session) -> None:
    """The tests run the reference runtime (torch) unless ``WORDCAM_RUNTIME`` is set: exact
    outputs are asserted against torch, and the product's default (``auto``: OpenVINO when
    installed) would convert a graph for every test model. The OpenVINO path has its own tests
    (tests/test_runtime_*.py, tests/test_models.py), which choose it explicitly; a whole run
    under it is ``WORDCAM_RUNTIME=openvino bash scripts/test.sh``. Set here, child processes
    (the CLI, the dashboard, Ray workers) follow."""
    os.environ.setdefault("WORDCAM_RUNTIME", "torch")


#: Test files that start Ray in the pytest process itself; they run last (see below).
RAY_IN_PROCESS = ("test_ray_engine.py",)


def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list
) -> None:
    """Run the tests that start Ray in this process after every other test.

    ``ray.shutdown`` leaves Ray's gRPC threads running in the process and its signal handlers
    reset; nothing else should run among them. Three full runs died of a segfault in the
    setup of ``test_train.py``'s ``trained`` fixture after the Ray tests, and a fourth with
    Ray already last: that fixture's ``wordcam train --workers 2`` was the one place the test
    process forked itself, which no wordcam pool does any more (core.processes;
    docs/reliability.md). Stable: the order within each group is kept."""
    items.sort(key=lambda item: item.path.name in RAY_IN_PROCESS)
