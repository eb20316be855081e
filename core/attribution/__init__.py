"""Class activation maps (Grad-CAM and friends) for any classifier, at the cost of one forward pass.

The CAM math is pytorch-grad-cam's; what this package adds is speed and zero configuration:

* **Cut at the target layer** (:mod:`.split`). The network is split with ``torch.fx`` into a
  *body* (input -> target layer) and a *head* (target activation + whatever else crosses the
  cut -> logits). The body runs once without autograd; pytorch-grad-cam only sees the small
  head, with an identity "target layer" at its input and the map size overridden to the image
  size. Maps equal plain pytorch-grad-cam usage (same model, layer and targets) to float
  precision.
* **Top-k for free** (:mod:`.driver`, :mod:`.engines`). Further targets re-run only the head on
  the cached activation (batched: the activation is repeated k-1 times). Softmax probabilities
  come from the same head pass.
* **Any device.** The batch goes to the model's device; body and head run there, and
  pytorch-grad-cam combines activations and gradients on the CPU.
* **Channels-last on the CPU.** Conv nets get the batch in NHWC memory format (oneDNN's
  faster kernels; see :data:`CPU_CHANNELS_LAST`), so a CAM costs about one forward pass.
* **Any layout** (:mod:`.layers`). Token outputs and channels-last outputs become
  ``[B, C, H, W]`` automatically; the default layer is found by probing the network once.
* **Methods are classes** (:mod:`.methods`, :mod:`.cams`). A method is a :class:`CamMethod`
  subclass overriding the weight function; :func:`register_method` makes one defined anywhere
  usable as ``attribute(..., method=name)``.

Where fx cannot trace a model, a forward hook detaches the target activation (parameters
frozen) so that backpropagation stops at the target layer. ScoreCAM, which re-runs masked
inputs, always uses the whole model. The user's model is left as it was found (:mod:`.state`):
no hooks, same ``requires_grad``/``.grad``/train-eval state.

``torch`` and ``pytorch_grad_cam`` are imported lazily: importing this package is cheap.
"""

from __future__ import annotations

from typing import Any

from core.attribution.driver import CPU_CHANNELS_LAST, CamResult, attribute, attribute_batch
from core.attribution.errors import AttributionError
from core.attribution.layers import default_layer, layer_name, resolve_layer
from core.attribution.methods import (
    METHOD_NAMES,
    method_class,
    method_names,
    normalize_method,
    preload,
    register_method,
)

__all__ = [
    "AttributionError",
    "CAM_METHODS",
    "CPU_CHANNELS_LAST",
    "METHOD_NAMES",
    "CamMethod",
    "CamResult",
    "attribute",
    "attribute_batch",
    "default_layer",
    "layer_name",
    "method_class",
    "method_names",
    "normalize_method",
    "preload",
    "register_method",
    "resolve_layer",
]

# Declared, not assigned: ``__getattr__`` builds them on first access (they import torch).
CAM_METHODS: dict[str, type]  # built-in name -> pytorch-grad-cam's own class
CamMethod: type


def __getattr__(name: str) -> Any:
    if name == "CAM_METHODS":
        from core.attribution.methods import reference_classes

        globals()["CAM_METHODS"] = methods = reference_classes()
        return methods
    if name == "CamMethod":
        from core.attribution.cams import CamMethod

        return CamMethod
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
