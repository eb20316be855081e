"""A batch built by looking each byte up holds the bits of the per-image tensors."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from core.models.base import Preprocessing


def test_batch_equals_stacked_to_tensor_for_every_byte_and_mode():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (6, 48, 48, 3), dtype=np.uint8)
    pixels[0].reshape(-1)[:768] = np.repeat(np.arange(256, dtype=np.uint8), 3)  # every byte
    images = [Image.fromarray(p) for p in pixels]
    images[1] = images[1].convert("L")  # converted to RGB like to_tensor does
    images[2] = images[2].convert("RGBA")
    for prep in (
        Preprocessing(image_size=48),
        Preprocessing(image_size=48, mean=(0.5, 0.25, 0.1), std=(0.3, 0.2, 0.7)),
    ):
        want = torch.stack([prep.to_tensor(im) for im in images])
        got = prep.batch(images, rows=8)
        assert torch.equal(got[:6], want)  # the same bits
        assert torch.equal(got[6:], torch.zeros_like(got[6:]))  # blank padding rows
        assert got.is_contiguous(memory_format=torch.channels_last)
