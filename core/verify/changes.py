"""What each test changes in a photo: hide, take the colour away, or move the content.

* ``hide`` (object words): the word's regions hidden with the fill (:mod:`core.verify.fill`).
* ``colour`` (colour words): the word's regions made grey at the same luminance (ITU-R 601
  luma, PIL's ``L``: ``0.299 R + 0.587 G + 0.114 B``): shape, texture and brightness stay,
  only the colour goes. A region without colour (mean chroma below :data:`GREY_CHROMA`) has
  nothing to take away: the photo does not count for the word.
* ``move`` (position words): the content of the word's regions cut out and pasted at another
  place of the photo: the object stays, its place changes. The hole it leaves is imputed
  from its surroundings (:data:`MOVE_FILL`, ROAD) whatever the hiding fill: a flat patch left
  behind reads as an object still at the old place (the planted position cue, docs/verify.md).

Each test's control is the same change to a fair control area (:mod:`core.verify.geometry`;
for ``move`` the control's content moves by the same displacement).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.store.effects import OWN_TEST

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from core.models.base import Preprocessing

#: Luma weights of ITU-R 601 (PIL's ``convert("L")``).
LUMA = np.asarray([0.299, 0.587, 0.114], dtype=np.float32)
#: Mean chroma (max - min of R, G, B, in 0..1) below which a region has no colour to remove.
GREY_CHROMA = 0.04
#: How the move test fills the hole a moved area leaves (both the word's and the control's):
#: ROAD imputes it from the neighbours, so nothing object-like stays at the old place. With
#: the flat ``mean`` patch the planted row cue was found in 3 of 12 word-tests, with ROAD in
#: 10 of 12 (the same photos and controls), the planted nulls alike (docs/verify.md).
MOVE_FILL = "road"


def tests_for(kind: str | None, localized: bool = True) -> tuple[str, ...]:
    """The tests a word of ``kind`` gets: ``hide`` always (the region's reading), and its own
    test when that is not ``hide`` (colour, move); none for kinds without a sound test."""
    own = OWN_TEST.get(kind or "")
    if own is None:
        return ()
    return ("hide",) if own == "hide" else ("hide", own)


def chroma(view: Image.Image) -> np.ndarray:
    """Per-pixel chroma ``max(R, G, B) - min(R, G, B)`` in 0..1, ``[H, W]``."""
    rgb = np.asarray(view.convert("RGB"), dtype=np.float32) / 255.0
    return rgb.max(axis=2) - rgb.min(axis=2)


def decolour(view: Image.Image, mask: np.ndarray) -> Image.Image:
    """``view`` with the ``mask`` pixels grey at their own luminance (R = G = B = luma)."""
    from PIL import Image

    rgb = np.asarray(view.convert("RGB"), dtype=np.float32)
    luma = rgb @ LUMA
    out = rgb.copy()
    out[mask] = luma[mask][:, None]
    return Image.fromarray(np.clip(out + 0.5, 0, 255).astype(np.uint8))


def moved(
    view: Image.Image,
    mask: np.ndarray,
    dy: int,
    dx: int,
    fill: str,
    preprocess: Preprocessing,
    seed: int = 0,
) -> tuple[torch.Tensor, Image.Image]:
    """``view`` with the ``mask`` content moved by ``(dy, dx)``; the hole hidden by ``fill``.

    The model input and the picture. The destination must lie inside the view
    (:func:`core.verify.geometry.displacement` picks it).
    """
    from core.verify.fill import _picture, hide
    from core.verify.geometry import shift

    source = preprocess.to_tensor(view)
    holed, _ = hide(view, mask, fill, preprocess, seed=seed)
    out = holed.clone()
    target = shift(mask, dy, dx)
    ys, xs = np.nonzero(mask)
    out[:, ys + dy, xs + dx] = source[:, ys, xs]
    assert int(target.sum()) == len(ys)
    return out, _picture(out, preprocess)
