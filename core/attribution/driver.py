"""The driver: ``attribute``/``attribute_batch`` -> one borrowed model, one engine, k maps."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.attribution.engines import FullEngine, HeadEngine
from core.attribution.errors import AttributionError
from core.attribution.layers import ToNCHW, auto_layer, resolve
from core.attribution.methods import method_class, needs_input, normalize_method
from core.attribution.split import get_split
from core.attribution.state import borrowed, device_of, has_conv2d, module_of
from core.attribution.targets import as_batch, explicit_targets, is_nested

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from core.models.base import Classifier

# Feed conv nets channels-last on the CPU: oneDNN's NHWC kernels are 20-30 % faster than NCHW
# here; maps differ from an NCHW run by ~1e-6. Set to False for bit-for-bit NCHW numerics.
CPU_CHANNELS_LAST = True
# Run a Classifier's CAMs on its inference copy (batch norm folded into the convolutions,
# :mod:`core.models.fold`); maps differ from the original module's by float rounding.
USE_INFERENCE_COPY = True


@dataclass
class CamResult:
    """Maps and predictions of one batch, from one forward pass.

    Attributes:
        maps: float32 ``[B, k, H, W]`` in [0, 1] at input resolution.
        probs: float32 ``[B, C]`` softmax probabilities.
        target_indices: int64 ``[B, k]`` class index explained by each map.
        layer: dotted name of the layer the maps were taken at.
        method: the CAM method used.
    """

    maps: np.ndarray
    probs: np.ndarray
    target_indices: np.ndarray
    layer: str = ""
    method: str = ""


# --------------------------------------------------------------------------- public API


def attribute(
    model: Classifier | torch.nn.Module,
    images: Image.Image | Sequence[Image.Image] | torch.Tensor,
    method: str = "gradcam",
    targets: int | str | Sequence[Any] | None = None,
    layer: str | torch.nn.Module | None = None,
    top_k: int | None = None,
) -> np.ndarray:
    """Class activation maps for a batch of images.

    Args:
        model: a :class:`~core.models.base.Classifier` (then ``images`` may be PIL images,
            preprocessed with ``model.preprocess``) or a plain ``torch.nn.Module`` mapping
            ``[B, 3, H, W]`` to logits (then ``images`` is a tensor batch).
        images: one PIL image, a list of them, or a tensor ``[B, 3, H, W]`` / ``[3, H, W]``.
        method: one of :data:`METHOD_NAMES`, or the name of a registered :class:`CamMethod`.
        targets: None (the predicted class), a class index or name (``model.labels`` or a
            localized label) for all images, a list with one per image, or a list of
            per-image lists (several maps per image).
        layer: a submodule or dotted name (``"layer4"``, ``"features.7.2"``); default the
            classifier's ``target_layer`` or the last spatial feature map.
        top_k: k maps per image for the k most probable classes.

    Returns:
        float32 ``[B, H, W]`` in [0, 1] at input resolution, or ``[B, k, H, W]`` when
        ``top_k`` is given (or several targets per image).
    """
    batch = as_batch(model, images)
    result = _attribute(model, batch, method, targets, layer, top_k)
    if top_k is None and result.maps.shape[1] == 1 and not is_nested(targets):
        return result.maps[:, 0]
    return result.maps


def attribute_batch(
    model: Classifier | torch.nn.Module,
    batch: torch.Tensor,
    method: str = "gradcam",
    targets: int | str | Sequence[Any] | None = None,
    layer: str | torch.nn.Module | None = None,
    top_k: int = 1,
    body: Body | None = None,
) -> CamResult:
    """Predictions and CAMs of a preprocessed batch ``[B, 3, H, W]`` from one forward pass.

    Same arguments as :func:`attribute`; returns a :class:`CamResult` with ``maps``
    ``[B, k, H, W]``, ``probs`` ``[B, C]`` and ``target_indices`` ``[B, k]``. ``body``: what
    :func:`body_ahead` computed for this same ``batch`` object (used only when it is for it).
    """
    outputs = body.outputs if body is not None and body.source is batch else None
    return _attribute(model, as_batch(model, batch), method, targets, layer, top_k, outputs)


@dataclass
class Body:
    """The outputs of the CAM body (input -> target layer) for one batch, computed ahead."""

    source: Any  # the batch object they were computed for
    outputs: Any


def body_ahead(
    model: Classifier | torch.nn.Module,
    batch: torch.Tensor,
    method: str = "gradcam",
    layer: str | torch.nn.Module | None = None,
) -> Body | None:
    """The first step of :func:`attribute_batch` on ``batch``, the body's forward pass, done now:
    a caller runs it on another thread for the next batch while the current one is attributed,
    and hands the result to :func:`attribute_batch` (``body=``). The same pass on the same
    inputs, so the same outputs.

    None where :func:`attribute_batch` would not run a split body of a classifier's inference
    copy (a method that re-runs the input, a model fx cannot cut, a folded target layer), or
    when anything fails: :func:`attribute_batch` then does all the work itself. Importing the
    CAM classes is not needed, so this can run while they import.
    """
    import torch

    from core.models.accelerate import run

    try:
        if needs_input(method):
            return None
        original = module_of(model)
        prepared = as_batch(model, batch)
        size_hw = (int(prepared.shape[-2]), int(prepared.shape[-1]))
        module, name, target = _target(model, original, layer, size_hw)
        if module is original:  # not the inference copy: its modes are set per call
            return None
        split = get_split(module, name, target)
        if split is None:
            return None
        with torch.inference_mode(False):
            outputs = run(split.body, _on_module(module, prepared), kind=f"body:{split.name}")
    except Exception:  # attribute_batch does it again and says what is wrong
        return None
    return Body(source=batch, outputs=outputs)


# --------------------------------------------------------------------------- driver


def _attribute(
    model: Any,
    batch: torch.Tensor,
    method: str,
    targets: Any,
    layer: Any,
    top_k: int | None,
    body_outputs: Any = None,
) -> CamResult:
    from core.models.base import Classifier

    method = normalize_method(method)
    cam_class = method_class(method)
    module = module_of(model)
    labels: list[str] = list(model.labels) if isinstance(model, Classifier) else []
    localized = dict(model.localized_labels) if isinstance(model, Classifier) else {}
    size_hw = (int(batch.shape[-2]), int(batch.shape[-1]))
    batch_size = int(batch.shape[0])

    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise AttributionError(f"top_k must be a positive integer, got {top_k!r}")
    explicit = None
    if targets is not None:
        explicit = explicit_targets(targets, batch_size, labels, localized)
        if top_k not in (None, 1, explicit.shape[1]):
            raise AttributionError(
                f"top_k={top_k} does not match {explicit.shape[1]} target(s) per image: "
                "give either targets or top_k"
            )
    k = explicit.shape[1] if explicit is not None else int(top_k or 1)
    if labels and k > len(labels):
        raise AttributionError(f"top_k={k} exceeds the {len(labels)} classes of the model")

    module, name, target_module = _target(model, module, layer, size_hw)
    reshape = ToNCHW(size_hw, name)
    size_wh = (size_hw[1], size_hw[0])

    with borrowed(module):
        batch = _on_module(module, batch)
        engine: Any = None
        if not cam_class.needs_input:
            split = get_split(module, name, target_module)
            if split is not None:
                try:
                    engine = HeadEngine(split, batch, body_outputs)
                except Exception:  # the traced body failed: the whole model will tell why
                    engine = None
        if engine is None:
            engine = FullEngine(module, target_module, batch, detach=not cam_class.needs_input)
        try:
            maps, logits, indices = _drive(
                engine, cam_class, explicit, k, batch_size, reshape, size_wh
            )
        except IndexError as error:
            if explicit is None:
                raise
            raise AttributionError(
                f"a target class index ({int(explicit.max())} is the largest) is out of range "
                "for the model's output"
            ) from error

    import torch

    probs = torch.softmax(logits.float(), dim=1).cpu().numpy().astype(np.float32)
    if probs.shape[1] and int(indices.max()) >= probs.shape[1]:
        raise AttributionError(
            f"target class index {int(indices.max())} is out of range (0..{probs.shape[1] - 1})"
        )
    return CamResult(
        maps=np.ascontiguousarray(maps, dtype=np.float32),
        probs=probs,
        target_indices=indices.astype(np.int64),
        layer=name,
        method=method,
    )


def _target(
    model: Any, module: torch.nn.Module, layer: Any, size_hw: tuple[int, int]
) -> tuple[torch.nn.Module, str, torch.nn.Module]:
    """The module the CAM runs on (:func:`_inference_copy`), the target layer's name and the
    layer in that module: ``layer``, else the classifier's, else the last spatial one."""
    from core.models.base import Classifier

    if layer is None:
        if isinstance(model, Classifier) and model.target_layer:
            layer = model.target_layer
        else:
            layer = auto_layer(module, size_hw)
    name, target_module = resolve(module, layer)
    module, target_module = _inference_copy(model, module, name, target_module)
    return module, name, target_module


def _on_module(module: torch.nn.Module, batch: torch.Tensor) -> torch.Tensor:
    """``batch`` as the module takes it: on its device, a normal (not inference-mode) tensor
    without history, channels-last for a conv net on the CPU (:data:`CPU_CHANNELS_LAST`)."""
    import torch

    batch = batch.to(device_of(module))
    if batch.is_inference():
        batch = batch.clone()
    batch = batch.detach()
    if CPU_CHANNELS_LAST and batch.device.type == "cpu" and has_conv2d(module):
        batch = batch.contiguous(memory_format=torch.channels_last)
    return batch


def _inference_copy(
    model: Any, module: torch.nn.Module, name: str, layer: torch.nn.Module
) -> tuple[torch.nn.Module, torch.nn.Module]:
    """A classifier's inference copy (batch norm folded: :mod:`core.models.fold`) and the layer
    ``name`` in it; the module itself for a plain module, or when ``name`` is a convolution
    whose output the fold changed (its batch norm now runs inside it)."""
    from core.models.base import Classifier

    if not (USE_INFERENCE_COPY and isinstance(model, Classifier)):
        return module, layer
    from core.models.fold import folded_convolutions, inference_module

    if name in folded_convolutions(module):
        return module, layer
    fast = inference_module(module)
    return fast, fast.get_submodule(name)


def _drive(
    engine: Any,
    method: type,
    explicit: np.ndarray | None,
    k: int,
    batch_size: int,
    reshape: ToNCHW,
    size_wh: tuple[int, int],
) -> tuple[np.ndarray, torch.Tensor, np.ndarray]:
    """Run the CAM calls of one batch: maps [B, k, H, W], logits [B, C], indices [B, k]."""
    if method.target_free:  # one map per image serves every target
        maps, logits = engine.run(method, None, 1, reshape, size_wh)
        indices = explicit if explicit is not None else _top_indices(logits, k)
        return np.repeat(maps[:, None], k, axis=1), logits[:batch_size], indices
    if explicit is None:
        # Rank 1: pytorch-grad-cam picks the argmax itself, in the same pass that gives logits.
        first, logits = engine.run(method, None, 1, reshape, size_wh)
        indices = _top_indices(logits, k)
        if k == 1:
            return first[:, None], logits, indices
        rest, _ = engine.run(method, indices[:, 1:].T.ravel().tolist(), k - 1, reshape, size_wh)
        stacked = np.concatenate([first[None], rest.reshape(k - 1, batch_size, *rest.shape[1:])])
        return stacked.transpose(1, 0, 2, 3), logits, indices
    maps, logits = engine.run(method, explicit.T.ravel().tolist(), k, reshape, size_wh)
    maps = maps.reshape(k, batch_size, *maps.shape[1:]).transpose(1, 0, 2, 3)
    return maps, logits[:batch_size], explicit


def _top_indices(logits: torch.Tensor, k: int) -> np.ndarray:
    """Top-k class indices [B, k]; ties broken like ``np.argmax`` (lowest index first)."""
    values = logits.detach().float().cpu().numpy()
    if k > values.shape[1]:
        raise AttributionError(f"top_k={k} exceeds the {values.shape[1]} classes of the model")
    return np.argsort(-values, axis=1, kind="stable")[:, :k]
