"""Training-time augmentation for photos."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.models.base import Preprocessing


def train_transform(pre: Preprocessing, augment: bool = True):
    """Photo-suited augmentation ending in a normalised tensor [3, S, S].

    Mild RandomResizedCrop (50-100% of the area), horizontal flip, occasional small
    affine/perspective distortion and colour jitter. ``augment=False`` gives the evaluation
    preprocessing (resize + centre crop).
    """
    if not augment:
        return pre
    import torch
    from torchvision.transforms import v2

    size = pre.image_size
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3), antialias=True),
            v2.RandomHorizontalFlip(),
            v2.RandomApply(
                [v2.RandomAffine(degrees=6, translate=(0.04, 0.04), scale=(0.95, 1.05), shear=3)],
                p=0.3,
            ),
            v2.RandomPerspective(distortion_scale=0.15, p=0.2),
            v2.ColorJitter(brightness=0.25, contrast=0.25, saturation=0.25, hue=0.02),
            v2.PILToTensor(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean=list(pre.mean), std=list(pre.std)),
        ]
    )
