"""Class activation maps (Grad-CAM and friends) for any classifier, at the cost of one forward pass.

The CAM math is pytorch-grad-cam's; what this module adds is speed and zero configuration:

* **Cut at the target layer.** The network is split with ``torch.fx`` into a *body* (input ->
  target layer) and a *head* (target activation + whatever else crosses the cut -> logits).
  The body runs once without autograd; pytorch-grad-cam only sees the small head, with an
  identity "target layer" at its input and the map size overridden to the image size. Maps
  equal plain pytorch-grad-cam usage (same model, layer and targets) to float precision.
* **Top-k for free.** Further targets re-run only the head on the cached activation (batched:
  the activation is repeated k-1 times). Softmax probabilities come from the same head pass.
* **Any device.** The batch goes to the model's device (``load_model(..., device="cuda")``);
  body and head run there, and pytorch-grad-cam combines activations and gradients on the CPU.
* **Channels-last on the CPU.** Conv nets get the batch in NHWC memory format (oneDNN's
  faster kernels; see :data:`CPU_CHANNELS_LAST`), so a CAM costs about one forward pass.
* **Any layout.** Token outputs ``[B, N, C]`` (ViT; class/register tokens dropped) and
  channels-last ``[B, H, W, C]`` (Swin, ConvNeXt block internals) become ``[B, C, H, W]``
  automatically; the default layer is found by probing the network once.

Where fx cannot trace a model, a forward hook detaches the target activation (parameters
frozen) so that backpropagation stops at the target layer. ScoreCAM, which re-runs masked
inputs, always uses the whole model. The user's model is left as it was found: no hooks,
same ``requires_grad``/``.grad``/train-eval state.

``torch`` and ``pytorch_grad_cam`` are imported lazily: importing this module is cheap.
"""

from __future__ import annotations

import logging
import math
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import WordcamError

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from core.models.base import Classifier

__all__ = [
    "AttributionError",
    "CAM_METHODS",
    "METHOD_NAMES",
    "CamResult",
    "attribute",
    "attribute_batch",
    "default_layer",
    "layer_name",
    "normalize_method",
    "resolve_layer",
]

_log = logging.getLogger(__name__)

# Method name -> pytorch-grad-cam class name. ``CAM_METHODS`` (name -> class) is built on first
# access so that importing this module does not import torch.
_METHOD_CLASSES: dict[str, str] = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "eigencam": "EigenCAM",
    "scorecam": "ScoreCAM",
}
METHOD_NAMES: tuple[str, ...] = tuple(_METHOD_CLASSES)
_ALIASES = {
    "gradcampp": "gradcam++",
    "gradcamplusplus": "gradcam++",
    "gradcam+": "gradcam++",
    "hires": "hirescam",
    "xgrad": "xgradcam",
    "layer": "layercam",
    "eigen": "eigencam",
    "score": "scorecam",
}
# Methods whose maps do not depend on the target class.
_TARGET_FREE = frozenset({"eigencam"})
# Methods that re-run the full model on masked inputs.
_NEEDS_INPUT = frozenset({"scorecam"})
SCORECAM_BATCH_SIZE = 32
# Feed conv nets channels-last on the CPU: oneDNN's NHWC kernels are 20-30 % faster than NCHW
# here; maps differ from an NCHW run by ~1e-6. Set to False for bit-for-bit NCHW numerics.
CPU_CHANNELS_LAST = True

# Largest number of leading non-patch tokens (class, distillation, register tokens) dropped.
_MAX_PREFIX_TOKENS = 8
# A feature grid h x w is plausible for an input H x W when the aspect ratios agree this well.
_ASPECT_TOLERANCE = math.log(1.5)


class AttributionError(WordcamError):
    """A CAM request that cannot be served (unknown method, layer, class or input)."""


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


# Declared, not assigned: the module ``__getattr__`` below builds it on first access.
CAM_METHODS: dict[str, type]


def __getattr__(name: str) -> Any:
    if name == "CAM_METHODS":
        import pytorch_grad_cam

        methods = {key: getattr(pytorch_grad_cam, cls) for key, cls in _METHOD_CLASSES.items()}
        globals()["CAM_METHODS"] = methods
        return methods
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def normalize_method(method: str) -> str:
    """Canonical method name (``"Grad-CAM++"`` -> ``"gradcam++"``); raises on unknown names."""
    key = str(method).strip().lower().replace("-", "").replace("_", "").replace(" ", "")
    key = _ALIASES.get(key, key)
    if key not in _METHOD_CLASSES:
        raise AttributionError(
            f"unknown CAM method {method!r}: choose one of {', '.join(METHOD_NAMES)}"
        )
    return key


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
        method: one of :data:`METHOD_NAMES`.
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
    batch = _as_batch(model, images)
    result = _attribute(model, batch, method, targets, layer, top_k)
    if top_k is None and result.maps.shape[1] == 1 and not _is_nested(targets):
        return result.maps[:, 0]
    return result.maps


def attribute_batch(
    model: Classifier | torch.nn.Module,
    batch: torch.Tensor,
    method: str = "gradcam",
    targets: int | str | Sequence[Any] | None = None,
    layer: str | torch.nn.Module | None = None,
    top_k: int = 1,
) -> CamResult:
    """Predictions and CAMs of a preprocessed batch ``[B, 3, H, W]`` from one forward pass.

    Same arguments as :func:`attribute`; returns a :class:`CamResult` with ``maps``
    ``[B, k, H, W]``, ``probs`` ``[B, C]`` and ``target_indices`` ``[B, k]``.
    """
    return _attribute(model, _as_batch(model, batch), method, targets, layer, top_k)


def resolve_layer(
    module: Classifier | torch.nn.Module, layer: str | torch.nn.Module | None = None
) -> torch.nn.Module:
    """The submodule named by ``layer`` (dotted path, ``"layer4.-1"``/``"layer4[-1]"`` allowed).

    ``layer=None`` gives :func:`default_layer`. Raises :class:`AttributionError` naming the
    missing part and listing what exists there.
    """
    root = _module_of(module)
    if layer is None:
        layer = default_layer(module)
    return _resolve(root, layer)[1]


def layer_name(module: Classifier | torch.nn.Module, layer: str | torch.nn.Module) -> str:
    """Canonical dotted name of ``layer`` (a submodule or a name) inside ``module``."""
    return _resolve(_module_of(module), layer)[0]


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
    return _auto_layer(module, (size, size))


# --------------------------------------------------------------------------- inputs


def _module_of(model: Any) -> torch.nn.Module:
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


def _as_batch(model: Any, images: Any) -> torch.Tensor:
    import torch
    from PIL import Image as PILImage

    from core.models.base import Classifier

    if isinstance(images, torch.Tensor):
        batch = images.unsqueeze(0) if images.ndim == 3 else images
    else:
        pil = [images] if isinstance(images, PILImage.Image) else list(images)
        if not all(isinstance(im, PILImage.Image) for im in pil):
            raise AttributionError(
                "images must be PIL images or one tensor batch [B, 3, H, W]; "
                f"got {type(images).__name__}"
            )
        if not isinstance(model, Classifier):
            raise AttributionError(
                "PIL images need a core Classifier (it knows the preprocessing); "
                "for a plain torch module pass a preprocessed tensor batch"
            )
        if not pil:
            raise AttributionError("no images given: pass at least one image")
        batch = model.to_batch(pil)
    if batch.ndim != 4:
        raise AttributionError(
            f"expected an image batch [B, C, H, W], got a tensor of shape {list(batch.shape)}"
        )
    if batch.shape[0] == 0:
        raise AttributionError("no images given: the batch is empty")
    return batch


def _is_nested(targets: Any) -> bool:
    return (
        isinstance(targets, Sequence)
        and not isinstance(targets, str)
        and any(isinstance(t, Sequence) and not isinstance(t, str) for t in targets)
    )


def _class_index(target: Any, labels: Sequence[str], localized: dict[str, list[str]]) -> int:
    """A target (index or class name) -> class index; validated against ``labels`` if known."""
    if isinstance(target, (bool, np.bool_)):
        raise AttributionError(f"target {target!r} is not a class index or name")
    if isinstance(target, (int, np.integer)):
        index = int(target)
        if index < 0 or (labels and index >= len(labels)):
            top = f"0..{len(labels) - 1}" if labels else "0 or more"
            raise AttributionError(f"target class index {index} is out of range ({top})")
        return index
    if isinstance(target, str):
        if not labels:
            raise AttributionError(
                f"target {target!r} is a class name but the model has no labels: pass an index"
            )
        names = [list(labels), *(list(v) for v in localized.values())]
        for fold in (lambda s: s, lambda s: s.strip().casefold()):
            wanted = fold(target)
            for table in names:
                for index, name in enumerate(table):
                    if fold(name) == wanted:
                        return index
        raise AttributionError(
            f"unknown class {target!r}: use one of the model's labels (e.g. {labels[0]!r}) "
            "or a class index"
        )
    raise AttributionError(f"target {target!r} is not a class index or name")


def _explicit_targets(
    targets: Any, batch_size: int, labels: Sequence[str], localized: dict[str, list[str]]
) -> np.ndarray:
    """Targets -> int array [B, k]."""
    if hasattr(targets, "tolist") and not isinstance(targets, str):  # numpy / torch
        targets = targets.tolist()
    if isinstance(targets, (str, int, np.integer)):
        rows: list[list[Any]] = [[targets]] * batch_size
    elif isinstance(targets, Sequence):
        items = list(targets)
        if len(items) != batch_size:
            raise AttributionError(
                f"got {len(items)} targets for {batch_size} images: give one per image "
                "(or a single class for all)"
            )
        rows = [
            list(t) if isinstance(t, Sequence) and not isinstance(t, str) else [t] for t in items
        ]
        if len({len(r) for r in rows}) != 1 or not rows[0]:
            raise AttributionError("give the same number (at least one) of targets for each image")
    else:
        raise AttributionError(f"targets {targets!r} must be a class, or a list of one per image")
    return np.array([[_class_index(t, labels, localized) for t in row] for row in rows], np.int64)


# --------------------------------------------------------------------------- layers


def _resolve(root: torch.nn.Module, layer: str | torch.nn.Module) -> tuple[str, torch.nn.Module]:
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


def _layout(shape: Sequence[int], image_hw: tuple[int, int]) -> tuple[str, int, int, int] | None:
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


class _ToNCHW:
    """pytorch-grad-cam ``reshape_transform``: any supported layout -> ``[B, C, h, w]``."""

    def __init__(self, image_hw: tuple[int, int], layer: str) -> None:
        self.image_hw = image_hw
        self.layer = layer

    def __call__(self, tensor: torch.Tensor) -> torch.Tensor:
        layout = _layout(tuple(tensor.shape), self.image_hw)
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
def _borrowed(module: torch.nn.Module) -> Iterator[None]:
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


def _device_of(module: torch.nn.Module) -> torch.device:
    import torch

    for p in module.parameters():
        return p.device
    for b in module.buffers():
        return b.device
    return torch.device("cpu")


def _has_conv2d(module: torch.nn.Module) -> bool:
    import torch

    return any(isinstance(m, torch.nn.Conv2d) for m in module.modules())


def _logits(output: Any) -> torch.Tensor:
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


# --------------------------------------------------------------------------- default layer

_AUTO_LAYERS: weakref.WeakKeyDictionary[Any, dict[tuple[int, int], str]] = (
    weakref.WeakKeyDictionary()
)


def _auto_layer(module: torch.nn.Module, image_hw: tuple[int, int]) -> str:
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
                layout = _layout(tuple(out.shape), image_hw)
                if layout is not None:
                    records.append((name, out, layout))

        return hook

    generator = torch.Generator().manual_seed(0)
    x = torch.randn(1, 3, *image_hw, generator=generator).to(_device_of(module))
    with _borrowed(module):
        handles = [m.register_forward_hook(recorder(n)) for n, m in module.named_modules() if n]
        try:
            logits = _logits(module(x.requires_grad_()))
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


# --------------------------------------------------------------------------- fx split


class _NoSplit(Exception):
    """The model cannot be cut at the layer with torch.fx (use the hook fallback)."""


@dataclass
class _Split:
    body: torch.nn.Module  # input -> (activation, *extras)
    head: torch.nn.Module  # (activation, *extras) -> model output
    layer: torch.nn.Module  # the target submodule when the split was made
    params: tuple[int, ...]  # ids of the model's parameters then (replaced ones -> re-trace)


_SPLITS: weakref.WeakKeyDictionary[Any, dict[str, _Split | None]] = weakref.WeakKeyDictionary()


def _get_split(module: torch.nn.Module, name: str, layer: torch.nn.Module) -> _Split | None:
    """Cached split of ``module`` at ``name``; None when fx cannot trace it."""
    cache = _SPLITS.setdefault(module, {})
    split = cache.get(name, False)
    stale = (
        split is not None
        and split is not False
        and (split.layer is not layer or split.params != _param_ids(module))
    )
    if split is False or stale:
        try:
            split = _build_split(module, name, layer)
        except Exception as error:  # torch.fx raises many kinds of errors on untraceable code
            _log.info(
                "cannot cut %s at %s with torch.fx (%s); using a hook",
                type(module).__name__,
                name,
                error,
            )
            split = None
        cache[name] = split
    return split


def _build_split(module: torch.nn.Module, name: str, layer: torch.nn.Module) -> _Split:
    import torch.fx as fx

    ancestors = {name.rsplit(".", i)[0] for i in range(1, name.count(".") + 1)}

    class CutTracer(fx.Tracer):
        def is_leaf_module(self, m: Any, qualname: str) -> bool:
            if qualname == name:
                return True
            if qualname in ancestors:
                return False
            return super().is_leaf_module(m, qualname)

    modes = [(m, m.training) for m in module.modules()]
    try:
        module.eval()  # trace the inference branches (`if self.training` is baked in)
        graph = CutTracer().trace(module)
    finally:
        for m, training in modes:
            m.training = training
    nodes = list(graph.nodes)
    cuts = [n for n in nodes if n.op == "call_module" and n.target == name]
    if len(cuts) != 1:
        raise _NoSplit(f"layer {name} is called {len(cuts)} times")
    cut = cuts[0]
    below = {cut}  # nodes computed from the target activation
    for n in nodes:
        if n is not cut and any(a in below for a in n.all_input_nodes):
            below.add(n)
    from_input = set()  # nodes that depend on the model input
    for n in nodes:
        if n.op == "placeholder" or any(a in from_input for a in n.all_input_nodes):
            from_input.add(n)
    output = nodes[-1]
    if output.op != "output" or output not in below:
        raise _NoSplit(f"the output does not depend on layer {name}")
    crossing: list[fx.Node] = []
    for n in nodes:
        if n in below and n is not cut:
            for a in n.all_input_nodes:
                if a not in below and a in from_input and a not in crossing:
                    crossing.append(a)

    body = fx.Graph()
    env: dict[fx.Node, fx.Node] = {}
    for n in nodes:
        if n.op != "output" and (n not in below or n is cut):
            env[n] = body.node_copy(n, lambda a: env[a])
    body.output((env[cut], *[env[c] for c in crossing]))

    head = fx.Graph()
    henv: dict[fx.Node, fx.Node] = {cut: head.placeholder("activation")}
    for i, c in enumerate(crossing):
        henv[c] = head.placeholder(f"crossing_{i}")

    def head_arg(a: fx.Node) -> fx.Node:
        if a not in henv:  # a constant (parameter, buffer, ...) computed above the cut
            henv[a] = head.node_copy(a, head_arg)
        return henv[a]

    for n in nodes:
        if n in below and n is not cut:
            henv[n] = head.node_copy(n, head_arg)
    parts = []
    for graph_part, class_name in ((body, "CamBody"), (head, "CamHead")):
        part = fx.GraphModule(module, graph_part, class_name=class_name)
        part.graph.eliminate_dead_code()
        part.graph.lint()
        part.recompile()
        parts.append(part)
    return _Split(body=parts[0], head=parts[1], layer=layer, params=_param_ids(module))


def _param_ids(module: torch.nn.Module) -> tuple[int, ...]:
    return tuple(id(p) for p in module.parameters())


def _head_module(graph: torch.nn.Module, extras: list[Any], device: torch.device) -> Any:
    """The head as pytorch-grad-cam's model: an identity target layer, then the graph."""
    import torch

    class CamHeadModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.target = torch.nn.Identity()
            self.graph = graph
            self.extras = extras
            if next(graph.parameters(), None) is None:  # BaseCAM reads the device from here
                self.anchor = torch.nn.Parameter(torch.empty(0, device=device), False)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.target(x)
            # Clones: the head may modify its inputs in place (ReLU(inplace=True), +=).
            extras = [e.clone() if isinstance(e, torch.Tensor) else e for e in self.extras]
            return _logits(self.graph(x.clone(), *extras))

    return CamHeadModel()


# --------------------------------------------------------------------------- CAM classes

_CAM_CLASSES: dict[str, type] = {}


def _cam_class(method: str) -> type:
    """pytorch-grad-cam's class for ``method`` with a settable map size (and no progress bars)."""
    if method in _CAM_CLASSES:
        return _CAM_CLASSES[method]
    import pytorch_grad_cam

    base = getattr(pytorch_grad_cam, _METHOD_CLASSES[method])
    namespace: dict[str, Any] = {
        "target_size": None,
        "get_target_width_height": _target_width_height,
    }
    if method == "scorecam":
        namespace["get_cam_weights"] = _quiet(base.get_cam_weights)
        namespace["batch_size"] = SCORECAM_BATCH_SIZE
    cls = type(f"Wordcam{base.__name__}", (base,), namespace)
    _CAM_CLASSES[method] = cls
    return cls


_QUIET = threading.local()


def _quiet(get_cam_weights: Any) -> Any:
    """ScoreCAM's own ``get_cam_weights`` (its math unchanged), without its tqdm bars on stderr."""

    def quiet_cam_weights(self: Any, *args: Any) -> np.ndarray:
        _install_quiet_tqdm()
        was, _QUIET.on = getattr(_QUIET, "on", False), True
        try:
            return get_cam_weights(self, *args)
        finally:
            _QUIET.on = was

    return quiet_cam_weights


def _install_quiet_tqdm() -> None:
    """Give ``pytorch_grad_cam.score_cam`` a ``tqdm`` that is silent while :data:`_QUIET` is on.

    Its progress bar is hard-coded at the call site; every other use of ``tqdm`` (and ScoreCAM
    outside wordcam, or in another thread) is left as it was.
    """
    import pytorch_grad_cam.score_cam as score_cam

    if isinstance(score_cam.tqdm, _QuietTqdm):
        return
    score_cam.tqdm = _QuietTqdm(score_cam.tqdm)


class _QuietTqdm:
    """Stands in for the ``tqdm`` module: ``tqdm.tqdm(...)`` is disabled while quiet."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def tqdm(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(_QUIET, "on", False):
            kwargs["disable"] = True
        return self._module.tqdm(*args, **kwargs)


def _target_width_height(self: Any, input_tensor: torch.Tensor) -> tuple[int, int]:
    if self.target_size is not None:
        return self.target_size
    return input_tensor.size(-1), input_tensor.size(-2)


def _run_cam(
    method: str,
    model: torch.nn.Module,
    layer: torch.nn.Module,
    inputs: torch.Tensor,
    targets: list[int] | None,
    reshape: _ToNCHW,
    size: tuple[int, int],
) -> tuple[np.ndarray, torch.Tensor]:
    """One pytorch-grad-cam call: maps [N, H, W] and the logits of the same pass."""
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cam = _cam_class(method)(model, [layer], reshape_transform=reshape)
    cam.target_size = size
    try:
        wrapped = None if targets is None else [ClassifierOutputTarget(int(t)) for t in targets]
        maps = cam(input_tensor=inputs, targets=wrapped)
        return maps, cam.outputs.detach()
    finally:
        cam.activations_and_grads.release()


# --------------------------------------------------------------------------- engines


class _HeadEngine:
    """Body once without autograd; every CAM call runs only the head on the cached activation."""

    def __init__(self, split: _Split, batch: torch.Tensor) -> None:
        import torch

        with torch.no_grad():
            activation, *extras = split.body(batch)
        if not isinstance(activation, torch.Tensor):
            raise _NoSplit("the target layer does not output a tensor")
        self.split, self.activation, self.extras = split, activation, extras
        self.batch_size = batch.shape[0]
        self.device = batch.device

    def run(
        self, method: str, targets: list[int] | None, repeat: int, reshape: _ToNCHW, size: Any
    ) -> tuple[np.ndarray, torch.Tensor]:
        import torch

        def tiled(t: torch.Tensor) -> torch.Tensor:
            return t.repeat(repeat, *([1] * (t.ndim - 1))) if repeat > 1 else t

        repeatable = all(
            isinstance(e, torch.Tensor) and e.ndim > 0 and e.shape[0] == self.batch_size
            for e in self.extras
        )
        if repeat > 1 and not repeatable:  # extras without a batch axis: one call per rank
            parts = [
                self.run(
                    method,
                    targets[r * self.batch_size : (r + 1) * self.batch_size],
                    1,
                    reshape,
                    size,
                )  # type: ignore[index]
                for r in range(repeat)
            ]
            return np.concatenate([p[0] for p in parts]), torch.cat([p[1] for p in parts])
        extras = [tiled(e) for e in self.extras] if repeat > 1 else list(self.extras)
        head = _head_module(self.split.head, extras, self.device)
        inputs = tiled(self.activation).detach().requires_grad_()
        return _run_cam(method, head, head.target, inputs, targets, reshape, size)


class _FullEngine:
    """The whole model per CAM call (ScoreCAM, or models torch.fx cannot cut).

    With ``detach`` a hook makes the target activation a fresh autograd leaf, so that
    backpropagation stops there (parameters are frozen by :func:`_borrowed`).
    """

    def __init__(
        self, module: torch.nn.Module, layer: torch.nn.Module, batch: torch.Tensor, detach: bool
    ) -> None:
        self.module, self.layer, self.batch, self.detach = module, layer, batch, detach

    def run(
        self, method: str, targets: list[int] | None, repeat: int, reshape: _ToNCHW, size: Any
    ) -> tuple[np.ndarray, torch.Tensor]:
        import torch

        inputs = self.batch.repeat(repeat, 1, 1, 1) if repeat > 1 else self.batch
        handle = None
        if self.detach:

            def detach_output(_mod: Any, _inp: Any, out: Any) -> Any:
                if isinstance(out, torch.Tensor):
                    return out.detach().requires_grad_()
                return None

            handle = self.layer.register_forward_hook(detach_output, prepend=True)
        try:
            return _run_cam(method, self.module, self.layer, inputs, targets, reshape, size)
        finally:
            if handle is not None:
                handle.remove()


# --------------------------------------------------------------------------- driver


def _attribute(
    model: Any,
    batch: torch.Tensor,
    method: str,
    targets: Any,
    layer: Any,
    top_k: int | None,
) -> CamResult:
    import torch

    from core.models.base import Classifier

    method = normalize_method(method)
    module = _module_of(model)
    labels: list[str] = list(model.labels) if isinstance(model, Classifier) else []
    localized = dict(model.localized_labels) if isinstance(model, Classifier) else {}
    size_hw = (int(batch.shape[-2]), int(batch.shape[-1]))
    batch_size = int(batch.shape[0])

    if top_k is not None and (not isinstance(top_k, (int, np.integer)) or top_k < 1):
        raise AttributionError(f"top_k must be a positive integer, got {top_k!r}")
    explicit = None
    if targets is not None:
        explicit = _explicit_targets(targets, batch_size, labels, localized)
        if top_k not in (None, 1, explicit.shape[1]):
            raise AttributionError(
                f"top_k={top_k} does not match {explicit.shape[1]} target(s) per image: "
                "give either targets or top_k"
            )
    k = explicit.shape[1] if explicit is not None else int(top_k or 1)
    if labels and k > len(labels):
        raise AttributionError(f"top_k={k} exceeds the {len(labels)} classes of the model")

    if layer is None:
        if isinstance(model, Classifier) and model.target_layer:
            layer = model.target_layer
        else:
            layer = _auto_layer(module, size_hw)
    name, target_module = _resolve(module, layer)
    reshape = _ToNCHW(size_hw, name)
    size_wh = (size_hw[1], size_hw[0])

    with _borrowed(module):
        batch = batch.to(_device_of(module))
        if batch.is_inference():
            batch = batch.clone()
        batch = batch.detach()
        if CPU_CHANNELS_LAST and batch.device.type == "cpu" and _has_conv2d(module):
            batch = batch.contiguous(memory_format=torch.channels_last)
        engine: Any = None
        if method not in _NEEDS_INPUT:
            split = _get_split(module, name, target_module)
            if split is not None:
                try:
                    engine = _HeadEngine(split, batch)
                except Exception:  # the traced body failed: the whole model will tell why
                    engine = None
        if engine is None:
            engine = _FullEngine(module, target_module, batch, detach=method not in _NEEDS_INPUT)
        try:
            maps, logits, indices = _drive(
                engine, method, explicit, k, batch_size, reshape, size_wh
            )
        except IndexError as error:
            if explicit is None:
                raise
            raise AttributionError(
                f"a target class index ({int(explicit.max())} is the largest) is out of range "
                "for the model's output"
            ) from error

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


def _drive(
    engine: Any,
    method: str,
    explicit: np.ndarray | None,
    k: int,
    batch_size: int,
    reshape: _ToNCHW,
    size_wh: tuple[int, int],
) -> tuple[np.ndarray, torch.Tensor, np.ndarray]:
    """Run the CAM calls of one batch: maps [B, k, H, W], logits [B, C], indices [B, k]."""
    if method in _TARGET_FREE:  # one map per image serves every target
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
