"""Every setting of a training run, with its default, as one object."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from core.errors import DataError

DEFAULT_LR_FULL = 1e-4  # backbone; the new head learns 10x faster
DEFAULT_LR_HEAD = 1e-3  # head-only training (--freeze-backbone)
HEAD_LR_MULT = 10.0


@dataclass(frozen=True)
class TrainSettings:
    """How to train (the options of ``wordcam train``; see :func:`core.train.train`).

    ``arch``: ``imagenet`` (offline EfficientNet-Lite0) or ``torchvision:NAME`` (needs
    ``init_weights``, a local state_dict, unless ``pretrained=False``). ``lr`` defaults to 1e-4
    (head 1e-3) for full fine-tuning and 1e-3 with ``freeze_backbone``. ``balance``:
    ``sampler`` (class-balanced sampling) or ``loss`` (inverse-frequency loss weights).
    """

    arch: str = "imagenet"
    init_weights: str | Path | None = None
    pretrained: bool = True
    epochs: int = 10
    image_size: int = 224
    batch_size: int = 32
    lr: float | None = None
    weight_decay: float = 0.01
    label_smoothing: float = 0.1
    val_split: float = 0.1
    val_dir: str | Path | None = None
    group_by: str | None = None
    balance: str | None = None
    task: str | None = None
    seed: int = 0
    workers: int = 2
    freeze_backbone: bool = False
    augment: bool = True
    threads: int | None = None
    device: str = "auto"
    progress: bool = True

    def check(self) -> None:
        """Raise a one-line :class:`DataError` naming the first out-of-range option."""
        if self.epochs < 1:
            raise DataError(f"--epochs must be at least 1 (got {self.epochs})")
        if self.image_size < 32:
            raise DataError(f"--image-size must be at least 32 pixels (got {self.image_size})")
        if self.batch_size < 1:
            raise DataError(f"--batch-size must be at least 1 (got {self.batch_size})")
        if not 0.0 <= self.val_split < 0.9:
            raise DataError(f"--val-split must be in [0, 0.9) (got {self.val_split})")
        if self.workers < 0:
            raise DataError(f"--workers must be >= 0 (got {self.workers})")
        if self.balance not in (None, "sampler", "loss"):
            raise DataError(f"--balance must be 'sampler' or 'loss' (got {self.balance!r})")
        if self.lr is not None and not self.lr > 0:
            raise DataError(f"--lr must be positive (got {self.lr})")

    @property
    def base_lr(self) -> float:
        """The learning rate of the backbone (of the head alone with ``freeze_backbone``)."""
        if self.lr is not None:
            return self.lr
        return DEFAULT_LR_HEAD if self.freeze_backbone else DEFAULT_LR_FULL

    @property
    def head_lr(self) -> float:
        """The head's learning rate: 10x the backbone's when both train."""
        return self.base_lr if self.freeze_backbone else self.base_lr * HEAD_LR_MULT

    @property
    def cache_features(self) -> bool:
        """Frozen backbone without augmentation: its features are computed once, then cached."""
        return self.freeze_backbone and not self.augment
