"""Where and how torch runs: intra-op threads, the device, a batch's memory layout, progress bars."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


def restores_torch_threads(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: whatever thread count ``fn`` sets for itself is undone when it returns, so a
    caller running other work afterwards (``wordcam demo``, ``wordcam bench``) keeps its own."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import torch

        previous = torch.get_num_threads()
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(previous)

    return wrapper


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads and return the count.

    Default: every CPU this process may use. Measured on an idle 2-core machine with 2
    decoding workers (benchmarks/bench_train.py), 2 threads trained 2.0x faster than 1
    (full fine-tuning 10.9 vs 5.3 images/s; frozen backbone 39 vs 25): decoding with reduced-
    scale JPEG loading is light enough to share the cores. Pass ``threads`` to override on a
    machine that is busy otherwise.
    """
    import torch

    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        available = os.cpu_count() or 1
    count = max(1, int(threads) if threads else available)
    torch.set_num_threads(count)
    return count


def model_input(images: torch.Tensor, device: str) -> torch.Tensor:
    """Move a batch to ``device``; on the CPU in channels-last layout, whose convolution
    kernels run EfficientNet-Lite0 about 1.6x faster here (same results)."""
    import torch

    images = images.to(device, non_blocking=True)
    if images.device.type == "cpu" and images.dim() == 4:
        images = images.contiguous(memory_format=torch.channels_last)
    return images


def progress_bar(iterable: Any, total: int | None, desc: str, enabled: bool):
    """A tqdm bar on stderr, or the plain iterable when disabled."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="batch", dynamic_ncols=True, leave=False)


DEVICE_CHOICES = "auto, cpu, cuda or cuda:N"
# Images per forward pass when the user gives no --batch-size: the CPU keeps each command's own
# default (explain 8, precompute 16: today's numbers); a GPU gets at least CUDA_BATCH_SIZE.
CUDA_BATCH_SIZE = 64
# TF32 convolutions/matmuls are off on a GPU wordcam runs inference on: with TF32 the maps drift
# ~1e-2 from the CPU's; without it they agree within MAP_TOLERANCE (benchmarks/gpu_check.py).
ALLOW_TF32 = False
MAP_TOLERANCE = 1e-3
_DEVICE = re.compile(r"^(auto|cpu|cuda)(?::(\d+))?$")


def parse_device(device: str | None) -> str:
    """Normalise a ``--device`` value (``auto``, ``cpu``, ``cuda``, ``cuda:N``); no torch import.

    Raises :class:`~core.errors.WordcamError` (one line) on anything else.
    """
    from core.errors import WordcamError

    text = "auto" if device is None else str(device).strip().lower()
    match = _DEVICE.match(text)
    if not match or (match.group(2) is not None and match.group(1) != "cuda"):
        raise WordcamError(f"unknown device {device!r}: use {DEVICE_CHOICES}")
    return text


def resolve_device(device: str | None = "auto") -> str:
    """``auto`` -> ``cuda`` when a GPU is available, else ``cpu``; ``cuda[:N]`` is checked.

    A CUDA device that is not there (no GPU, a CPU-only torch, ``cuda:1`` on a one-GPU
    machine) raises :class:`~core.errors.WordcamError` saying how many there are.
    """
    from core.errors import WordcamError

    device = parse_device(device)
    if device == "cpu":
        return device
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if device == "auto":
        return "cuda" if count else "cpu"
    index = int(device.partition(":")[2] or 0)
    if index >= count:
        found = "no CUDA device" if not count else f"{count} CUDA device{'s' * (count > 1)}"
        if torch.version.cuda is None:
            found += f" (torch {torch.__version__} is built without CUDA)"
        raise WordcamError(
            f"--device {device}: this machine has {found}; use --device cpu or --device auto"
        )
    return device


def is_cuda(device: str) -> bool:
    """True for ``cuda`` and ``cuda:N`` (an already resolved device)."""
    return str(device).startswith("cuda")


def default_batch_size(device: str, cpu: int) -> int:
    """Images per batch on ``device`` (resolved) when none is given: ``cpu`` on the CPU, at
    least :data:`CUDA_BATCH_SIZE` on a GPU."""
    return max(cpu, CUDA_BATCH_SIZE) if is_cuda(device) else cpu


def exact_cuda_math() -> None:
    """Turn TF32 off (unless :data:`ALLOW_TF32`) so GPU maps match the CPU's closely."""
    import torch

    torch.backends.cudnn.allow_tf32 = ALLOW_TF32
    torch.backends.cuda.matmul.allow_tf32 = ALLOW_TF32
