"""Model loading: ``load_model(spec)`` -> :class:`Classifier`.

Specs: ``imagenet`` (offline EfficientNet-Lite0), ``torchvision:ARCH`` (with ``weights=``
and ``labels=`` files), or a model directory written by ``wordcam train``. ``device=`` puts
the model on ``cpu``, ``cuda`` or ``cuda:N``; without it, on :func:`default_device` (the CPU,
or the device of an enclosing :func:`on_device` block).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from core.errors import ModelError
from core.models.base import DEFAULT_TASK, Classifier, Preprocessing
from core.registry import MODEL_GROUP, available, resolve, split_spec

__all__ = [
    "Classifier",
    "Preprocessing",
    "DEFAULT_TASK",
    "default_device",
    "load_model",
    "on_device",
]

_DEVICE: ContextVar[str] = ContextVar("wordcam_model_device", default="cpu")


def default_device() -> str:
    """Where :func:`load_model` puts a model when no ``device`` is given (default ``cpu``)."""
    return _DEVICE.get()


@contextmanager
def on_device(device: str) -> Iterator[str]:
    """Within this block, models loaded without ``device=`` go to ``device`` (resolved, e.g.
    ``auto`` -> ``cuda``); yields the resolved device. The pipeline runs its explainer in such
    a block, so the grounded explainer's crop model lands where the explained model is."""
    from core.runtime import resolve_device

    token = _DEVICE.set(resolve_device(device))
    try:
        yield _DEVICE.get()
    finally:
        _DEVICE.reset(token)


def load_model(spec: str = "imagenet", device: str | None = None, **options: Any) -> Classifier:
    """Load a classifier by spec, on ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``).

    ``spec`` is a registered loader name with an optional argument (``imagenet``,
    ``torchvision:resnet50``) or a path to a model directory. ``options`` go to the loader
    (e.g. ``weights="model.pth", labels="labels.txt", task="..."`` for torchvision). Loaders
    build on the CPU; the classifier is then moved (:meth:`Classifier.on`). ``device=None``:
    :func:`default_device`.
    """
    from core.runtime import resolve_device

    if device is None and isinstance(spec, Classifier):
        return spec
    target = resolve_device(device) if device is not None else default_device()
    return _load(spec, options).on(target)


def _load(spec: str | Classifier, options: dict[str, Any]) -> Classifier:
    """The loader's classifier for ``spec`` (as built: on the CPU)."""
    if isinstance(spec, Classifier):
        return spec
    spec = str(spec)
    if Path(spec).expanduser().is_dir():
        return resolve(MODEL_GROUP, "dir")(str(Path(spec).expanduser()), **options)
    provider, arg = split_spec(spec)
    looks_like_path = "/" in spec or "\\" in spec or spec.startswith((".", "~"))
    if looks_like_path and provider not in available(MODEL_GROUP):
        raise ModelError(
            f"model directory {spec} not found; pass a folder written by `wordcam train`, "
            f"or a spec such as imagenet or torchvision:resnet50"
        )
    return resolve(MODEL_GROUP, provider)(arg, **options)
