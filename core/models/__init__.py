"""Model loading: ``load_model(spec)`` -> :class:`Classifier`.

Specs: ``imagenet`` (offline EfficientNet-Lite0), ``torchvision:ARCH`` (with ``weights=``
and ``labels=`` files), or a model directory written by ``wordcam train``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import ModelError
from core.models.base import DEFAULT_TASK, Classifier, Preprocessing
from core.registry import MODEL_GROUP, available, resolve, split_spec

__all__ = ["Classifier", "Preprocessing", "DEFAULT_TASK", "load_model"]


def load_model(spec: str = "imagenet", **options: Any) -> Classifier:
    """Load a classifier by spec.

    ``spec`` is a registered loader name with an optional argument (``imagenet``,
    ``torchvision:resnet50``) or a path to a model directory. ``options`` go to the loader
    (e.g. ``weights="model.pth", labels="labels.txt", task="..."`` for torchvision).
    """
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
