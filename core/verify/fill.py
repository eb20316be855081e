"""How to hide pixels so that the model does not read the filling as an object of its own.

Three fills, compared on the planted-cue data by ``wordcam bench`` (see ``docs/verify.md``);
``mean`` separates a hidden planted object from a same-area control best, so it is the default:

* ``blur``: a strong Gaussian blur of the photo (radius :data:`BLUR_RADIUS` x the side) shows
  through the mask: shapes and textures go, the region's average colours stay.
* ``mean``: the dataset mean the model normalises with (``Preprocessing.mean``, ImageNet's
  mean colour): a flat patch that is zero in the model's input.
* ``road``: pytorch-grad-cam's noisy linear imputation (ROAD, Rong et al. 2022,
  :class:`pytorch_grad_cam.metrics.road.NoisyLinearImputer`): each hidden pixel is the
  average of its neighbours, solved as one sparse system, plus a little noise, so the hole
  carries neither a sharp edge nor the hidden object's texture. The system is solved at
  1/:data:`ROAD_SCALE` of the side (a block is hidden when any of its pixels is) and the
  solution upsampled into the hidden pixels: the imputation is smooth by design, and at full
  size one photo took 0.2-1.2 s per mask on a 2-core CPU against about 10 ms this way. Its
  noise is seeded per photo (``seed``), so reruns agree.

Every fill works on the model's view (the centre crop, a PIL image) and returns the model
input tensor ``[3, S, S]`` and the hidden picture (for the dashboard).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from PIL import Image

    from core.models.base import Preprocessing

FILLS = ("mean", "road", "blur")
DEFAULT_FILL = "mean"
BLUR_RADIUS = 0.08
ROAD_NOISE = 0.01
ROAD_SCALE = 4


def hide(
    view: Image.Image, mask: np.ndarray, fill: str, preprocess: Preprocessing, seed: int = 0
) -> tuple[torch.Tensor, Image.Image]:
    """``view`` with the ``mask`` pixels hidden by ``fill``: the model input and the picture."""
    import torch

    if fill not in FILLS:
        raise ValueError(f"unknown fill {fill!r}; use one of {', '.join(FILLS)}")
    tensor = preprocess.to_tensor(view)
    keep = torch.from_numpy(~mask)
    if fill == "road":
        out = torch.where(keep, tensor, _road(tensor, keep, seed)) if mask.any() else tensor
    elif fill == "mean":
        out = tensor * keep  # the normalised mean colour is zero
    else:
        out = torch.where(keep, tensor, preprocess.to_tensor(_blurred(view)))
    return out.float(), _picture(out, preprocess)


def _road(tensor: torch.Tensor, keep: torch.Tensor, seed: int) -> torch.Tensor:
    """ROAD's noisy linear imputation at 1/``ROAD_SCALE`` of the side, upsampled to the view."""
    import torch
    import torch.nn.functional as F
    from pytorch_grad_cam.metrics.road import NoisyLinearImputer

    small = F.avg_pool2d(tensor[None], ROAD_SCALE, ceil_mode=True)[0]
    small_keep = -F.max_pool2d(-keep[None, None].float(), ROAD_SCALE, ceil_mode=True)[0, 0]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        filled = NoisyLinearImputer(noise=ROAD_NOISE)(small, small_keep)
    return F.interpolate(filled[None], size=tensor.shape[1:], mode="bilinear")[0]


def _blurred(view: Image.Image) -> Image.Image:
    from PIL import ImageFilter

    return view.filter(ImageFilter.GaussianBlur(BLUR_RADIUS * max(view.size)))


def _picture(tensor: torch.Tensor, preprocess: Preprocessing) -> Image.Image:
    """The model input back as an RGB picture."""
    from PIL import Image

    arr = tensor.detach().cpu().numpy().transpose(1, 2, 0)
    arr = arr * np.asarray(preprocess.std, np.float32) + np.asarray(preprocess.mean, np.float32)
    return Image.fromarray(np.clip(arr * 255.0 + 0.5, 0, 255).astype(np.uint8))
