"""Architectures by name: build a module, read checkpoints safely, find the classifier head.

Arch names: ``imagenet`` / ``efficientnet_lite0`` (the offline EfficientNet-Lite0) and
``torchvision:NAME`` for any classification model in ``torchvision.models`` (``resnet50``,
``efficientnet_b0``, ``convnext_tiny``, ``vit_b_16`` ...). Torchvision's own pretrained weights
need a download, which wordcam never does: pass a local weights file instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import ModelError
from core.models.base import Preprocessing

if TYPE_CHECKING:
    import torch
    from torch import nn

LITE0 = "efficientnet_lite0"
_LITE0_ALIASES = {
    "imagenet",
    "efficientnet_lite0",
    "efficientnet-lite0",
    "imagenet:efficientnet_lite0",
}
_WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "weights")

# Default Grad-CAM layer per torchvision family (prefix of the arch name -> dotted module name).
# Families missing here (ViT, Swin, MaxViT: token outputs) get None = chosen by core.attribution.
_TARGET_LAYERS: tuple[tuple[str, str], ...] = (
    ("resnet", "layer4"),
    ("resnext", "layer4"),
    ("wide_resnet", "layer4"),
    ("regnet", "trunk_output"),
    ("efficientnet", "features"),
    ("mobilenet", "features"),
    ("mnasnet", "layers"),
    ("convnext", "features"),
    ("densenet", "features"),
    ("vgg", "features"),
    ("alexnet", "features"),
    ("squeezenet", "features"),
    ("shufflenet", "conv5"),
    ("googlenet", "inception5b"),
    ("inception_v3", "Mixed_7c"),
)


def normalize_arch(arch: str) -> str:
    """Canonical arch name: ``efficientnet_lite0`` or ``torchvision:name``.

    Raises :class:`ModelError` for an unknown torchvision name, saying how to list valid ones.
    """
    text = str(arch).strip()
    if text.lower() in _LITE0_ALIASES:
        return LITE0
    provider, sep, name = text.partition(":")
    if provider.strip().lower() != "torchvision" or not sep:
        raise ModelError(
            f"unknown architecture {arch!r}; use `imagenet` (EfficientNet-Lite0) or "
            "`torchvision:NAME` (e.g. torchvision:resnet50)"
        )
    return f"torchvision:{torchvision_name(name)}"


def torchvision_classification_models() -> list[str]:
    """Names of the classification architectures in ``torchvision.models``."""
    import torchvision.models as tvm

    return list(tvm.list_models(module=tvm))


def torchvision_name(name: str | None) -> str:
    """Validate a torchvision classification model name (case-insensitive)."""
    if not name or not name.strip():
        raise ModelError(
            "torchvision needs an architecture name, e.g. torchvision:resnet50; list them with "
            "`python -c 'import torchvision.models as m; print(m.list_models(module=m))'`"
        )
    wanted = name.strip().lower().replace("-", "_")
    names = torchvision_classification_models()
    if wanted not in names:
        import difflib

        close = difflib.get_close_matches(wanted, names, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ModelError(
            f"torchvision:{name}: not a torchvision classification model{hint}; list valid names "
            "with `python -c 'import torchvision.models as m; print(m.list_models(module=m))'`"
        )
    return wanted


def default_preprocessing(arch: str) -> Preprocessing:
    """Input preprocessing an architecture expects (crop size from torchvision's metadata)."""
    arch = normalize_arch(arch)
    if arch == LITE0:
        from core.models.imagenet import PREPROCESSING

        return PREPROCESSING
    name = arch.partition(":")[2]
    crop = 224
    try:
        import torchvision.models as tvm

        transforms = tvm.get_model_weights(name).DEFAULT.transforms
        crop = int(getattr(transforms, "keywords", {}).get("crop_size", 224))
    except (ValueError, KeyError, AttributeError, TypeError):
        pass
    return Preprocessing(image_size=crop, resize=round(crop * 256 / 224))


def default_target_layer(arch: str) -> str | None:
    """Dotted name of the default CAM layer for ``arch`` (None: let attribution choose)."""
    arch = normalize_arch(arch)
    if arch == LITE0:
        from core.models.imagenet import TARGET_LAYER

        return TARGET_LAYER
    name = arch.partition(":")[2]
    for prefix, layer in _TARGET_LAYERS:
        if name.startswith(prefix):
            return layer
    return None


def head_name(module: nn.Module) -> str:
    """Dotted name of the classifier head: the last ``Linear`` (or, failing that, ``Conv2d``)."""
    from torch import nn

    last_linear = last_conv = None
    for name, sub in module.named_modules():
        if isinstance(sub, nn.Linear):
            last_linear = name
        elif isinstance(sub, nn.Conv2d):
            last_conv = name
    name = last_linear if last_linear is not None else last_conv
    if not name:
        raise ModelError(f"{type(module).__name__}: no Linear or Conv2d classifier head found")
    return name


def head_parameters(module: nn.Module) -> list[nn.Parameter]:
    """Parameters of the classifier head (what a head-only fine-tune trains)."""
    return list(module.get_submodule(head_name(module)).parameters())


def replace_head(module: nn.Module, num_classes: int) -> nn.Module:
    """Swap the classifier head for a freshly initialised one with ``num_classes`` outputs."""
    from torch import nn

    name = head_name(module)
    old = module.get_submodule(name)
    if isinstance(old, nn.Linear):
        new: nn.Module = nn.Linear(old.in_features, num_classes, bias=old.bias is not None)
    else:
        new = nn.Conv2d(old.in_channels, num_classes, old.kernel_size, old.stride, old.padding)
    parent_name, _, child = name.rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    setattr(parent, child, new)
    return module


def match_head_to_state(module: nn.Module, state: dict[str, torch.Tensor], source: str) -> None:
    """Rebuild a fine-tuning head of the form ``nn.Sequential(nn.Dropout(p), nn.Linear(...))``.

    A common way to replace ``fc`` stores ``fc.1.weight`` instead of ``fc.weight``. When the
    checkpoint's head is such a Sequential holding exactly one Linear (other entries have no
    parameters, e.g. Dropout, which is the identity at inference), the module's head is
    replaced to match. Heads with several Linear layers are refused: their activations are
    not recorded in a state_dict.
    """
    from torch import nn

    name = head_name(module)
    if f"{name}.weight" in state:
        return
    prefix = name + "."
    sub = {k[len(prefix) :]: v for k, v in state.items() if k.startswith(prefix)}
    if not sub:
        return  # load_weights reports the mismatch
    linears = sorted(
        {int(k.split(".")[0]) for k, v in sub.items() if k.split(".")[0].isdigit() and v.ndim == 2}
    )
    expected = {f"{i}.weight" for i in linears} | {f"{i}.bias" for i in linears}
    if len(linears) != 1 or not set(sub) <= expected:
        raise ModelError(
            f"{source}: the classifier head {name!r} is a custom module ({', '.join(sorted(sub)[:4])}"
            f"{' ...' if len(sub) > 4 else ''}); wordcam rebuilds only a single Linear, optionally "
            "after Dropout; re-train with `wordcam train` or save a model with a plain Linear head"
        )
    index = linears[0]
    weight = sub[f"{index}.weight"]
    layers: list[nn.Module] = [nn.Identity() for _ in range(index)]
    layers.append(
        nn.Linear(int(weight.shape[1]), int(weight.shape[0]), bias=f"{index}.bias" in sub)
    )
    parent_name, _, child = name.rpartition(".")
    parent = module.get_submodule(parent_name) if parent_name else module
    setattr(parent, child, nn.Sequential(*layers))


def head_outputs(module: nn.Module) -> int:
    """Number of outputs of the classifier head."""
    head = module.get_submodule(head_name(module))
    return int(getattr(head, "out_features", 0) or getattr(head, "out_channels", 0))


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Load a checkpoint's state_dict safely (``weights_only=True``).

    Accepts a plain state_dict or a dict wrapping one under ``state_dict`` / ``model`` /
    ``model_state_dict``; strips ``module.`` prefixes (DataParallel). A checkpoint that needs
    pickled code (``torch.save(model)``) is refused with a one-line fix.
    """
    import pickle

    import torch

    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelError(f"{p}: weights file not found")
    if p.stat().st_size == 0:
        raise ModelError(f"{p}: weights file is empty (0 bytes)")
    try:
        obj: Any = torch.load(p, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        if "Unsupported global" not in str(exc):  # not pickled code: bytes torch cannot read
            raise ModelError(
                f"{p}: not a readable PyTorch checkpoint (no saved state_dict in its bytes)"
            ) from None
        raise ModelError(
            f"{p}: checkpoint contains pickled Python objects (e.g. a whole model saved with "
            "torch.save(model)), which wordcam refuses to load; re-save only the weights with "
            "`torch.save(model.state_dict(), path)`"
        ) from None
    except Exception as exc:  # torch raises many types for corrupt files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"{p}: not a readable PyTorch checkpoint ({first})") from None
    for _ in range(3):  # unwrap {"state_dict": {...}, "epoch": ...} and similar
        if isinstance(obj, dict) and not _is_tensor_dict(obj):
            inner = next(
                (obj[k] for k in _WRAPPER_KEYS if isinstance(obj.get(k), dict)),
                None,
            )
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, dict) or not obj or not _is_tensor_dict(obj):
        raise ModelError(
            f"{p}: expected a state_dict (a dict of tensors), found {type(obj).__name__}; "
            "save it with `torch.save(model.state_dict(), path)`"
        )
    return {_strip_prefix(k): v for k, v in obj.items()}


def _is_tensor_dict(obj: dict) -> bool:
    import torch

    return (
        bool(obj)
        and all(isinstance(k, str) for k in obj)
        and all(isinstance(v, torch.Tensor) for v in obj.values())
    )


def _strip_prefix(key: str) -> str:
    for prefix in ("module.", "_orig_mod."):  # DataParallel / torch.compile
        while key.startswith(prefix):
            key = key[len(prefix) :]
    return key


def load_weights(
    module: nn.Module,
    state: dict[str, torch.Tensor],
    source: str,
    allow_head_mismatch: bool = False,
) -> list[str]:
    """Load ``state`` into ``module``, with errors that name the file and the problem.

    With ``allow_head_mismatch`` classifier-head tensors that do not fit (other shape or other
    head layout) are skipped and the head keeps its fresh initialisation; the skipped keys are
    returned.
    """
    own = module.state_dict()
    head = head_name(module) + "."
    skipped: list[str] = []
    filtered: dict[str, Any] = {}
    for key, value in state.items():
        fits = key in own and tuple(own[key].shape) == tuple(value.shape)
        if allow_head_mismatch and key.startswith(head) and not fits:
            skipped.append(key)
            continue
        if key in own and not fits:
            raise ModelError(
                f"{source}: tensor {key} has shape {tuple(value.shape)} but the architecture "
                f"expects {tuple(own[key].shape)}; is the architecture right?"
            )
        filtered[key] = value
    missing = [
        k for k in own if k not in filtered and not (allow_head_mismatch and k.startswith(head))
    ]
    unexpected = [k for k in filtered if k not in own]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {', '.join(unexpected[:3])})")
        raise ModelError(
            f"{source}: weights do not match the architecture: {'; '.join(parts)} keys; "
            "check the architecture name (e.g. resnet50 vs resnet18)"
        )
    module.load_state_dict(filtered, strict=not allow_head_mismatch)
    return skipped


def build_module(
    arch: str,
    num_classes: int,
    init_weights: str | Path | None = None,
    pretrained: bool = True,
) -> nn.Module:
    """Build an ``nn.Module`` for ``arch`` with ``num_classes`` outputs (train mode off).

    ``init_weights``: a local state_dict file to start from (head tensors of another shape are
    skipped). Without it, ``pretrained=True`` means the ImageNet weights for EfficientNet-Lite0
    (head replaced when ``num_classes != 1000``); for torchvision archs it is an error, since
    torchvision's download does not work offline.
    """
    if num_classes < 1:
        raise ModelError(f"num_classes must be at least 1 (got {num_classes})")
    arch = normalize_arch(arch)
    if arch == LITE0:
        from core.models.imagenet import efficientnet_lite0, pretrained_efficientnet_lite0

        if init_weights is None and pretrained:
            module = pretrained_efficientnet_lite0()
            if num_classes != 1000:
                replace_head(module, num_classes)
            return module.eval()
        module = efficientnet_lite0(num_classes)
    else:
        import torchvision.models as tvm

        name = arch.partition(":")[2]
        if init_weights is None and pretrained:
            raise ModelError(
                f"{arch}: torchvision's pretrained weights are downloaded on demand, which does "
                "not work offline; pass a local weights file (--weights / init_weights) or "
                "pretrained=False for random initialisation"
            )
        kwargs: dict[str, Any] = {"weights": None, "num_classes": num_classes}
        if name in ("googlenet", "inception_v3"):
            kwargs["aux_logits"] = False
            kwargs["init_weights"] = True
        module = tvm.get_model(name, **kwargs)
    if init_weights is not None:
        state = read_state_dict(init_weights)
        if arch != LITE0 and name in ("googlenet", "inception_v3"):
            state = {k: v for k, v in state.items() if not k.startswith(("aux", "AuxLogits"))}
        load_weights(module, state, str(init_weights), allow_head_mismatch=True)
    return module.eval()
