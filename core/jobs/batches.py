"""How a job's inputs are cut into batches: plain slices, and photo batches under a pixel budget."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


def chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """``items`` in consecutive slices of ``size``."""
    for begin in range(0, len(items), size):
        yield items[begin : begin + size]


def pixel_batches(
    photos: Sequence[tuple[Path, str | None]], size: int, budget: int
) -> Iterator[list[tuple[Path, str | None]]]:
    """``photos`` in consecutive batches of at most ``size`` photos and ``budget`` pixels.

    A batch holds every photo decoded until it is classified, so its pixels (read from the
    files' headers) are summed: a batch closes early rather than pass the budget, and a photo
    over the budget on its own makes a batch of one.
    """
    batch: list[tuple[Path, str | None]] = []
    pixels = 0
    for photo in photos:
        count = header_pixels(photo[0])
        if batch and (len(batch) >= size or pixels + count > budget):
            yield batch
            batch, pixels = [], 0
        batch.append(photo)
        pixels += count
    if batch:
        yield batch


def header_pixels(path: Path) -> int:
    """Width x height from the image file's header (0 when it cannot be read: it will fail)."""
    import warnings

    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                return int(im.size[0]) * int(im.size[1])
    except (OSError, UnidentifiedImageError, ValueError, Image.DecompressionBombError):
        return 0
