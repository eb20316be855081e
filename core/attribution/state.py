"""The user's model, borrowed for one CAM call: locks, eval mode, frozen parameters, device.

Also what every room needs to read a model: its ``torch.nn.Module`` and the logits in its output.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from core.attribution.errors import AttributionError

if TYPE_CHECKING:
    import torch


def module_of(model: Any) -> torch.nn.Module:
    import torch

    from core.models.base import Classifier

    if isinstance(model, Classifier):
        return model.module
    if isinstance(model, torch.nn.Module):
        return model
    raise AttributionError(
        f"cannot attribute with a {type(model).__name__}: pass a core Classifier "
        "(core.load_model(...)) or a torch.nn.Module"
    )


# --------------------------------------------------------------------------- model state

_LOCKS: weakref.WeakKeyDictionary[Any, threading.RLock] = weakref.WeakKeyDictionary()
_LOCKS_GUARD = threading.Lock()


def _lock_for(module: torch.nn.Module) -> threading.RLock:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(module)
        if lock is None:
            lock = _LOCKS[module] = threading.RLock()
        return lock


@contextmanager
def borrowed(module: torch.nn.Module) -> Iterator[None]:
    """Eval mode, frozen parameters and autograd on for the duration; everything restored after."""
    import torch

    with _lock_for(module):
        modes = [(m, m.training) for m in module.modules()]
        params = [(p, p.requires_grad, p.grad) for p in module.parameters()]
        try:
            module.eval()
            for p, _, _ in params:
                p.requires_grad_(False)
            with torch.inference_mode(False), torch.enable_grad():
                yield
        finally:
            for p, requires_grad, grad in params:
                p.requires_grad_(requires_grad)
                p.grad = grad
            for m, training in modes:
                m.training = training


def device_of(module: torch.nn.Module) -> torch.device:
    import torch

    for p in module.parameters():
        return p.device
    for b in module.buffers():
        return b.device
    return torch.device("cpu")


def has_conv2d(module: torch.nn.Module) -> bool:
    import torch

    return any(isinstance(m, torch.nn.Conv2d) for m in module.modules())


def logits_of(output: Any) -> torch.Tensor:
    """The logits tensor in a model output (tensor, tuple, dict or object with ``logits``)."""
    import torch

    if isinstance(output, torch.Tensor):
        return output
    if hasattr(output, "logits") and isinstance(output.logits, torch.Tensor):
        return output.logits
    if isinstance(output, dict):
        for key in ("logits", "out", "output"):
            if isinstance(output.get(key), torch.Tensor):
                return output[key]
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    raise AttributionError(
        f"the model returned a {type(output).__name__}, not a logits tensor [B, classes]"
    )
