"""Inputs of a CAM call: images or tensors -> one batch, targets (indices or names) -> ``[B, k]``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from core.attribution.errors import AttributionError

if TYPE_CHECKING:
    import torch


def as_batch(model: Any, images: Any) -> torch.Tensor:
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


def is_nested(targets: Any) -> bool:
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


def explicit_targets(
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
