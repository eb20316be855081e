"""wordcam core: photo -> model -> attribution -> rendering -> explainer -> store -> tokens -> miner.

Every stage is a module with a small typed interface, usable alone::

    from core import load_model, attribute, load_explainer
    model = load_model("imagenet")
    maps = attribute(model, [image])            # float32 [B, H, W] in [0, 1]

Heavy libraries (torch, janome, sklearn) are imported lazily on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "load_model": "core.models",
    "Classifier": "core.models",
    "Preprocessing": "core.models",
    "attribute": "core.attribution",
    "CAM_METHODS": "core.attribution",
    "load_image": "core.images",
    "load_explainer": "core.explainers",
    "ExplainRequest": "core.explainers",
    "Explanation": "core.explainers",
    "explain_images": "core.pipeline",
    "WordcamError": "core.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'core' has no attribute {name!r}")
