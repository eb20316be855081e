"""An optional inference runtime for the CPU forward passes: OpenVINO, else torch.

Which runtime runs the forward passes without gradient (the CAM body above the target layer,
the grounded explainer's crops, :meth:`Classifier.logits`) is one process-wide choice:

* ``torch``: the classifier's inference copy (:mod:`core.models.fold`);
* ``openvino``: the same copy converted by OpenVINO (``pip install 'wordcam[fast]'``, which
  ``scripts/setup.sh`` installs), on the CPU only (a model on a GPU stays in torch);
* ``auto`` (the default, :data:`DEFAULT`): the fastest installed one, OpenVINO when installed,
  else torch. On this project's 2-core benchmark the job costs 1.8 torch forwards per photo
  with OpenVINO against 4.6 with torch once its first batch is done (README, "The job's cost
  in forward passes"), and the demo is faster with it even when every graph is converted
  first.

Set it with :func:`set_runtime` or the ``WORDCAM_RUNTIME`` environment variable (also read by
child processes and Ray workers). The CAM head, which needs gradients, always runs in torch.

A graph is converted once and checked against torch on the batch it was converted for: when any
output differs by more than :data:`TOLERANCE` times the largest output magnitude (float32
conversion differs by about 1e-6 of it), or conversion fails (a model OpenVINO cannot convert),
the module runs in torch and one line is logged. Checked graphs are saved per model, layer and
input size in :func:`cache_dir` (keyed by a hash of the module's structure and weights and the
torch and OpenVINO versions), so a later process reads them instead of converting and checking
again (conversion takes 10-60 s on a laptop CPU).
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

RUNTIMES = ("torch", "openvino", "auto")
ENV = "WORDCAM_RUNTIME"
DEFAULT = "auto"  # when neither set_runtime nor WORDCAM_RUNTIME chose
TOLERANCE = 1e-3
_log = logging.getLogger(__name__)
_CHOSEN: list[str] = []  # set_runtime's choice (overrides the environment)
# module -> {(kind, input shape): runner or None (runs in torch)}
_RUNNERS: weakref.WeakKeyDictionary[Any, dict[tuple, Any]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def available_runtimes() -> tuple[str, ...]:
    """The runtimes installed here, fastest last: ``torch`` and, when installed, ``openvino``."""
    installed = ["torch"]
    if importlib.util.find_spec("openvino") is not None:
        installed.append("openvino")
    return tuple(installed)


def set_runtime(name: str | None) -> str:
    """Choose the runtime for this process (None: back to ``WORDCAM_RUNTIME``); the resolved name.

    Raises ValueError for an unknown name, or for ``openvino`` when it is not installed.
    """
    _CHOSEN.clear()
    if name is not None:
        _CHOSEN.append(_check(name))
        os.environ[ENV] = name  # child processes and Ray workers follow
    return runtime()


def runtime() -> str:
    """The runtime in use: ``torch`` or ``openvino`` (``auto`` resolved)."""
    name = _CHOSEN[0] if _CHOSEN else _check(os.environ.get(ENV) or DEFAULT)
    return available_runtimes()[-1] if name == "auto" else name


def _check(name: str) -> str:
    name = str(name).strip().lower()
    if name not in RUNTIMES:
        raise ValueError(f"unknown runtime {name!r}: use one of {', '.join(RUNTIMES)}")
    if name != "auto" and name not in available_runtimes():
        raise ValueError(f"runtime {name!r} is not installed: pip install 'wordcam[fast]'")
    return name


def cache_dir() -> Path:
    """Where converted graphs are kept (``$WORDCAM_CACHE`` or ``~/.cache/wordcam``)."""
    root = os.environ.get("WORDCAM_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "wordcam"
    )
    return Path(root) / "openvino"


def run(module: torch.nn.Module, batch: torch.Tensor, kind: str = "forward") -> Any:
    """``module(batch)`` without gradient, in the chosen runtime (outputs as torch tensors).

    ``kind`` names what ``module`` is (``forward``, ``body:<layer>``) for the cache key. A
    module that returns a tuple gives a tuple.
    """
    runner = _runner(module, batch, kind)
    if runner is not None:
        try:
            return runner(batch)
        except Exception as exc:  # a runtime failure at run time: torch from now on
            _log.warning("openvino failed on %s (%s); running it in torch", kind, _first(exc))
            _RUNNERS[module][(kind, tuple(batch.shape[1:]))] = None
    with torch.no_grad():
        return module(batch)


def _runner(module: torch.nn.Module, batch: torch.Tensor, kind: str) -> Any:
    if batch.device.type != "cpu" or runtime() != "openvino":
        return None
    key = (kind, tuple(batch.shape[1:]))
    with _LOCK:
        runners = _RUNNERS.setdefault(module, {})
        if key not in runners:
            runners[key] = _convert_checked(module, batch, kind)
        return runners[key]


def _convert_checked(module: torch.nn.Module, batch: torch.Tensor, kind: str) -> Any:
    """An OpenVINO runner for ``module``: read from the cache, or converted now and checked
    against torch on ``batch`` before it is saved; None when that fails."""
    try:
        return _OpenVinoRunner(module, batch, kind)
    except Exception as exc:  # conversion fails in many ways on models it does not support
        _log.warning(
            "cannot run %s of %s in openvino (%s); running it in torch",
            kind,
            type(module).__name__,
            _first(exc),
        )
        return None


def _check_against_torch(module: torch.nn.Module, runner: Any, batch: torch.Tensor) -> bool:
    """Raise when ``runner`` differs from torch on ``batch``; whether torch returns a tuple."""
    with torch.inference_mode():
        want = module(batch)
    got = runner(batch)
    for a, b in zip(_as_tuple(want), _as_tuple(got), strict=True):
        scale = float(a.abs().max()) if a.numel() else 0.0
        error = float((a.float() - b.float()).abs().max()) if a.numel() else 0.0
        if a.shape != b.shape or error > TOLERANCE * max(scale, 1e-6):
            raise ValueError(f"outputs differ from torch by {error:.3g} (scale {scale:.3g})")
    return isinstance(want, (tuple, list))


def _config() -> dict[str, Any]:
    """OpenVINO's CPU settings: float32, and one stream of one thread per thread torch may use
    (``--threads``, torch.set_num_threads). A batch is split over the streams, which run at
    once: on a 2-core machine 15-20% less CPU per image than one stream of two threads (whose
    threads wait for each other at every layer), with the same outputs."""
    threads = max(1, torch.get_num_threads())
    return {
        "PERFORMANCE_HINT": "THROUGHPUT",
        "NUM_STREAMS": threads,
        "INFERENCE_NUM_THREADS": threads,
        "INFERENCE_PRECISION_HINT": "f32",
    }


def openvino() -> Any:
    """The ``openvino`` module, imported with its converter's telemetry off.

    OpenVINO's converter reports every conversion to Google Analytics unless the user opted
    out (no consent file counts as yes; only ``CI=true`` turns it off), writes a client id in
    ``~/intel`` and forks a process off a thread of the caller to send it: 13 forks for one
    small model, measured. wordcam sends nothing off the machine, so before ``openvino`` is
    first imported ``openvino_telemetry`` is made unimportable in this process and the
    converter takes its own stub, its fallback when that package is missing. A process that
    imported ``openvino`` before wordcam keeps the telemetry as that import left it.
    """
    if "openvino" not in sys.modules:
        sys.modules.setdefault("openvino_telemetry", None)  # an import of it raises ImportError
    import openvino as ov

    return ov


_CORE: list[Any] = []
_CORE_GUARD = threading.Lock()


def _core() -> Any:
    """The process's one OpenVINO ``Core``, made on first use and shared by every model. Other
    projects report segfaults when a process makes a new ``Core`` for each of many models (as
    wordcam did, two per model, dropped while the compiled models lived on); a test run of this
    project once died of a segfault without a traceback after many OpenVINO models."""
    ov = openvino()

    with _CORE_GUARD:
        if not _CORE:
            _CORE.append(ov.Core())
        return _CORE[0]


class _OpenVinoRunner:
    """A module converted by OpenVINO (batch size dynamic), compiled for the CPU in float32."""

    def __init__(self, module: torch.nn.Module, batch: torch.Tensor, kind: str) -> None:
        import json

        ov = openvino()

        from core.files import replace_text

        shape = [-1, *batch.shape[1:]]
        path = cache_dir() / f"{_fingerprint(module, shape, kind)}.xml"
        config = _config()
        self.lock = threading.Lock()
        self.tuple_output = False
        if path.exists() and path.with_suffix(".json").exists():  # converted and checked before
            self.tuple_output = json.loads(path.with_suffix(".json").read_text())["tuple"]
            core = _core()
            self.compiled = core.compile_model(core.read_model(str(path)), "CPU", config)
            return
        with torch.inference_mode():
            model = ov.convert_model(module, example_input=batch[:1].contiguous(), input=[shape])
        self.compiled = _core().compile_model(model, "CPU", config)
        self.tuple_output = len(self.compiled.outputs) > 1
        self.tuple_output = _check_against_torch(module, self, batch)
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.stem}.{os.getpid()}.xml")
        ov.save_model(model, str(temporary), compress_to_fp16=False)
        # temporary + rename (a reader never sees half a sidecar); the .xml, renamed last,
        # marks a complete entry
        replace_text(path.with_suffix(".json"), json.dumps({"tuple": self.tuple_output}))
        temporary.with_suffix(".bin").replace(path.with_suffix(".bin"))
        temporary.replace(path)  # last: the .xml marks a complete entry

    def __call__(self, batch: torch.Tensor) -> Any:
        import numpy as np

        array = np.ascontiguousarray(batch.detach().cpu().numpy(), dtype=np.float32)
        with self.lock:
            if not hasattr(self, "requests"):
                self.requests = [
                    self.compiled.create_infer_request() for _ in range(_streams(self.compiled))
                ]
            parts = np.array_split(array, min(len(self.requests), max(1, len(array))))
            running = list(zip(self.requests, parts, strict=False))
            for request, part in running:  # each on its own stream, at once
                request.start_async({0: np.ascontiguousarray(part)})
            for request, _ in running:
                request.wait()
            outputs = [
                torch.from_numpy(np.concatenate([r.get_tensor(o).data.copy() for r, _ in running]))
                for o in self.compiled.outputs
            ]
        return tuple(outputs) if self.tuple_output else outputs[0]


def _streams(compiled: Any) -> int:
    """How many requests a batch is split into: the streams, when every output has the batch
    axis first (else one: an output without it could not be joined back)."""
    outputs = [o.get_partial_shape() for o in compiled.outputs]
    by_batch = all(
        shape.rank.is_static and len(shape) > 0 and shape[0].is_dynamic for shape in outputs
    )
    return max(1, int(compiled.get_property("NUM_STREAMS"))) if by_batch else 1


def _fingerprint(module: torch.nn.Module, shape: list[int], kind: str) -> str:
    """A hash of the module's code structure, weights, input shape, kind and OpenVINO version."""
    ov = openvino()

    digest = hashlib.sha256()
    digest.update(repr(module).encode())
    digest.update(f"{shape} {kind} {ov.__version__} {torch.__version__}".encode())
    code = getattr(module, "code", None)  # an fx GraphModule: its generated forward
    if isinstance(code, str):
        digest.update(code.encode())
    for name, tensor in [*module.state_dict().items()]:
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:32]


def _as_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _first(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__


Runner = Callable[[torch.Tensor], Any]
