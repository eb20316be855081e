"""Layers: names -> submodules, the default layer (found by probing once), feature-map layouts.

Token outputs ``[B, N, C]`` (ViT; class/register tokens dropped) and channels-last
``[B, H, W, C]`` (Swin, ConvNeXt block internals) become ``[B, C, H, W]``
(:class:`ToNCHW`, pytorch-grad-cam's ``reshape_transform``).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from core.attribution.errors import AttributionError
from core.attribution.state import borrowed, device_of, logits_of, module_of

if TYPE_CHECKING:
    import torch

    from core.models.base import Classifier

_MAX_PREFIX_TOKENS = 8
# A feature grid h x w is plausible for an input H x W when the aspect ratios agree this well.
_ASPECT_TOLERANCE = math.log(1.5)


def resolve_layer(
    module: Classifier | torch.nn.Module, layer: str | torch.nn.Module | None = None
) -> torch.nn.Module:
    """The submodule named by ``layer`` (dotted path, ``"layer4.-1"``/``"layer4[-1]"`` allowed).

    ``layer=None`` gives :func:`default_layer`. Raises :class:`AttributionError` naming the
    missing part and listing what exists there.
    """
    root = module_of(module)
    if layer is None:
        layer = default_layer(module)
    return resolve(root, layer)[1]


def layer_name(module: Classifier | torch.nn.Module, layer: str | torch.nn.Module) -> str:
    """Canonical dotted name of ``layer`` (a submodule or a name) inside ``module``."""
    return resolve(module_of(module), layer)[0]


def default_layer(module: Classifier | torch.nn.Module, image_size: int | None = None) -> str:
    """Dotted name of the layer CAMs are taken at when none is given.

    A classifier's ``target_layer`` wins. Otherwise the network is probed once (one forward
    and backward pass on a random ``image_size`` input, cached per module): the last layer whose
    output is a spatial feature map (``[B, C, H, W]``, ``[B, H, W, C]`` or patch tokens
    ``[B, N, C]``) that still receives gradient at its spatial positions. For CNNs that is the
    last block before global pooling; for a ViT the last block's first normalisation (later
    patch tokens no longer reach the class token).
    """
    from core.models.base import Classifier

    if isinstance(module, Classifier):
        if module.target_layer:
            return layer_name(module.module, module.target_layer)
        image_size = image_size or module.preprocess.image_size
        module = module.module
    size = int(image_size or 224)
    return auto_layer(module, (size, size))


# --------------------------------------------------------------------------- layers


def resolve(root: torch.nn.Module, layer: str | torch.nn.Module) -> tuple[str, torch.nn.Module]:
    import torch

    if isinstance(layer, torch.nn.Module):
        for name, sub in root.named_modules():
            if sub is layer:
                return name, sub
        raise AttributionError(
            f"layer {type(layer).__name__} is not a submodule of the model: "
            "pass one of its submodules or a dotted name"
        )
    text = str(layer).strip().replace("[", ".").replace("]", "")
    parts = [p for p in text.split(".") if p]
    current, path = root, []
    for part in parts:
        children = dict(current.named_children())
        if part in children:
            key = part
        elif part.lstrip("-").isdigit() and -len(children) <= int(part) < len(children):
            key = list(children)[int(part)]
        else:
            where = ".".join(path) or "the model"
            shown = ", ".join(list(children)[:12]) or "none"
            raise AttributionError(
                f"layer {layer!r}: {where} has no submodule {part!r} (it has: {shown}); "
                "pass a dotted name such as 'layer4' or 'features.7'"
            )
        current = children[key]
        path.append(key)
    if not path:
        raise AttributionError(f"layer {layer!r} names the whole model: pass a submodule")
    return ".".join(path), current


def feature_layout(
    shape: Sequence[int], image_hw: tuple[int, int]
) -> tuple[str, int, int, int] | None:
    """How a layer output maps onto the image: (kind, prefix_tokens, h, w) or None.

    kind is ``"nchw"``, ``"nhwc"`` or ``"tokens"`` (``[B, N, C]`` with ``prefix`` leading
    non-patch tokens).
    """
    height, width = image_hw

    def mismatch(h: int, w: int) -> float:
        if h < 1 or w < 1 or h * w < 2:
            return math.inf
        return abs(math.log((h / w) / (height / width)))

    if len(shape) == 4:
        _, d1, d2, d3 = (int(s) for s in shape)
        first, last = mismatch(d2, d3), mismatch(d1, d2)
        if min(first, last) > _ASPECT_TOLERANCE:
            return None
        return ("nchw", 0, d2, d3) if first <= last else ("nhwc", 0, d1, d2)
    if len(shape) == 3:
        tokens = int(shape[1])
        for prefix in range(min(_MAX_PREFIX_TOKENS, tokens - 2) + 1):
            n = tokens - prefix
            grids = [(h, n // h) for h in range(1, n + 1) if n % h == 0]
            h, w = min(grids, key=lambda g: mismatch(*g))
            if mismatch(h, w) <= 1e-9 or (height != width and mismatch(h, w) < _ASPECT_TOLERANCE):
                return ("tokens", prefix, h, w)
        return None
    return None


class ToNCHW:
    """pytorch-grad-cam ``reshape_transform``: any supported layout -> ``[B, C, h, w]``."""

    def __init__(self, image_hw: tuple[int, int], layer: str) -> None:
        self.image_hw = image_hw
        self.layer = layer

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        layout = feature_layout(tuple(tensor.shape), self.image_hw)
        if layout is None:
            raise AttributionError(
                f"layer {self.layer!r} outputs shape {list(tensor.shape)}, not a spatial feature "
                "map: choose a layer before global pooling (e.g. the last conv block)"
            )
        kind, prefix, h, w = layout
        if kind == "nchw":
            return tensor
        if kind == "nhwc":
            return tensor.permute(0, 3, 1, 2)
        grid = tensor[:, prefix:, :].reshape(tensor.shape[0], h, w, tensor.shape[2])
        return grid.permute(0, 3, 1, 2)


# --------------------------------------------------------------------------- default layer

_AUTO_LAYERS: weakref.WeakKeyDictionary[Any, dict[tuple[int, int], str]] = (
    weakref.WeakKeyDictionary()
)


def auto_layer(module: torch.nn.Module, image_hw: tuple[int, int]) -> str:
    cache = _AUTO_LAYERS.setdefault(module, {})
    if image_hw not in cache:
        cache[image_hw] = _probe_layer(module, image_hw)
    return cache[image_hw]


def _probe_layer(module: torch.nn.Module, image_hw: tuple[int, int]) -> str:
    """One forward/backward pass: the last spatial output that receives gradient.

    The gradient comes from the top logit; when that is zero everywhere (e.g. torchvision's
    zero-initialised ViT head) from a random projection of the input of the final layer.
    """
    import torch

    records: list[tuple[str, torch.Tensor, tuple[str, int, int, int]]] = []
    inputs_of: dict[int, torch.Tensor] = {}  # id(module output) -> its first tensor input

    def recorder(name: str) -> Any:
        def hook(_mod: Any, inp: Any, out: Any) -> None:
            if not isinstance(out, torch.Tensor):
                return
            if inp and isinstance(inp[0], torch.Tensor):
                inputs_of.setdefault(id(out), inp[0])
            if out.ndim in (3, 4) and out.requires_grad:
                layout = feature_layout(tuple(out.shape), image_hw)
                if layout is not None:
                    records.append((name, out, layout))

        return hook

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, *image_hw, generator=generator).to(device_of(module))
    with borrowed(module):
        handles = [m.register_forward_hook(recorder(n)) for n, m in module.named_modules() if n]
        try:
            logits = logits_of(module(x.requires_grad_()))
        finally:
            for h in handles:
                h.remove()
        unique = list({id(t): t for _, t, _ in records}.values())
        if not unique:
            raise AttributionError(
                "found no layer with a spatial feature map in this model: pass layer= explicitly"
            )
        scores = [logits[0].max()]
        features = inputs_of.get(id(logits))
        if features is not None and features.requires_grad:
            weights = torch.randn(features.shape, generator=generator).to(features.device)
            scores.append((features * weights).sum())
        for score in scores:
            grads = torch.autograd.grad(score, unique, allow_unused=True, retain_graph=True)
            by_id = {id(t): g for t, g in zip(unique, grads, strict=True)}
            for name, tensor, (kind, prefix, _, _) in reversed(records):
                grad = by_id[id(tensor)]
                spatial = grad if grad is None or kind != "tokens" else grad[:, prefix:]
                if spatial is not None and bool(spatial.abs().amax() > 0):
                    return name
    raise AttributionError(
        "no spatial layer of this model receives gradient from its output: pass layer= explicitly"
    )
