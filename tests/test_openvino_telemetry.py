"""wordcam sends nothing off the machine: OpenVINO's converter telemetry stays off.

The converter reports each conversion to Google Analytics unless the user opted out, writes a
client id under ``~/intel`` and forks a process off a thread to send it. Only ``CI=true`` turns
it off, so the check runs in a fresh interpreter with ``CI`` unset and a home of its own.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

# find_spec, not importorskip: importing openvino here would start its telemetry in this process
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("openvino") is None, reason="OpenVINO is not installed"
)

CONVERT = """
import os, time
import torch

forks = []
os.register_at_fork(before=lambda: forks.append(1))
from core.models.accelerate import openvino

ov = openvino()
module = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.ReLU())
ov.convert_model(module, example_input=torch.zeros(1, 3, 8, 8))
time.sleep(1)  # the sender runs on a thread of its own
print(len(forks))
"""


def test_converting_a_model_sends_and_writes_nothing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in {"CI", "TF_BUILD", "JENKINS_URL"}}
    env["HOME"] = str(tmp_path)
    done = subprocess.run(
        [sys.executable, "-c", CONVERT],
        env=env,
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "0"  # no process forked to send a report
    assert not (tmp_path / "intel").exists()  # no client id, no counters
