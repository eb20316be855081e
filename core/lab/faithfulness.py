"""Does a saliency map point at what the model uses? Deletion/insertion AUC and ROAD.

* **Deletion / insertion** (RISE, Petsiuk et al. 2018): remove the most salient pixels first
  (replaced by black) and watch the target-class probability fall (area under the curve: lower
  is better); or start from a blurred copy and insert the most salient pixels first (higher is
  better). Published anchor for ResNet-50 Grad-CAM on ImageNet: deletion 0.123, insertion 0.677.
* **ROAD** (Rong et al. 2022), computed with pytorch-grad-cam's own ``ROADCombined``: the
  average of (LeRF - MoRF) confidence changes with noisy linear imputation (higher is better).

Every method is compared with two maps that know nothing about the model: uniform noise and a
Sobel edge map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch

    from core.models.base import Classifier

BASELINES = ("random", "sobel")
ANCHOR_RESNET50_GRADCAM = {"deletion": 0.123, "insertion": 0.677}


@dataclass
class FaithfulnessScores:
    """Mean scores of one map source over ``n`` images."""

    method: str
    n: int
    deletion: float
    insertion: float
    road: float
    road_n: int = 0

    def to_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def random_maps(shape: tuple[int, int, int], seed: int = 0) -> np.ndarray:
    """Uniform-noise baseline maps [B, H, W]."""
    return np.random.default_rng(seed).random(shape, dtype=np.float32)


def sobel_maps(views: Sequence) -> np.ndarray:
    """Sobel edge-magnitude baseline maps [B, H, W] in [0, 1] for RGB PIL views."""
    from pytorch_grad_cam.sobel_cam import sobel_cam

    out = []
    for view in views:
        edges = sobel_cam(np.asarray(view.convert("RGB"))).astype(np.float32)
        out.append(edges / max(float(edges.max()), 1e-8))
    return np.stack(out)


def _blur(batch: torch.Tensor, kernel: int = 11, sigma: float = 5.0) -> torch.Tensor:
    import torch

    x = torch.arange(kernel, dtype=torch.float32) - kernel // 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    g = g / g.sum()
    c = batch.shape[1]
    kx = g.view(1, 1, 1, kernel).repeat(c, 1, 1, 1)
    ky = g.view(1, 1, kernel, 1).repeat(c, 1, 1, 1)
    pad = kernel // 2
    y = torch.nn.functional.pad(batch, (pad, pad, 0, 0), mode="reflect")
    y = torch.nn.functional.conv2d(y, kx, groups=c)
    y = torch.nn.functional.pad(y, (0, 0, pad, pad), mode="reflect")
    return torch.nn.functional.conv2d(y, ky, groups=c)


def deletion_insertion(
    model: torch.nn.Module,
    batch: torch.Tensor,
    maps: np.ndarray,
    targets: Sequence[int],
    black: torch.Tensor,
    steps: int = 24,
    chunk: int = 32,
) -> tuple[np.ndarray, np.ndarray]:
    """Deletion and insertion AUC per image (probability of ``targets`` vs fraction of pixels).

    ``batch`` is the normalised input [B, 3, H, W]; ``black`` the normalised value of a black
    pixel [3]; ``maps`` [B, H, W]. Returns two arrays [B].
    """
    import torch

    b, _, h, w = batch.shape
    blurred = _blur(batch)
    fractions = np.linspace(0.0, 1.0, steps + 1)
    deletion, insertion = np.zeros(b), np.zeros(b)
    for i in range(b):
        order = torch.from_numpy(np.argsort(-maps[i].reshape(-1), kind="stable").copy())
        rank = torch.empty(h * w, dtype=torch.long)
        rank[order] = torch.arange(h * w)
        rank = rank.view(1, 1, h, w)
        counts = torch.tensor(np.round(fractions * h * w).astype(np.int64)).view(-1, 1, 1, 1)
        salient_first = (rank < counts).float()  # [S+1, 1, H, W]: 1 = among the top-k pixels
        image, blur_i = batch[i : i + 1], blurred[i : i + 1]
        black_img = black.view(1, 3, 1, 1).expand_as(image)
        deleted = image * (1 - salient_first) + black_img * salient_first
        inserted = blur_i * (1 - salient_first) + image * salient_first
        probs = []
        with torch.inference_mode():
            stacked = torch.cat([deleted, inserted])
            for start in range(0, len(stacked), chunk):
                logits = model(stacked[start : start + chunk])
                probs.append(torch.softmax(logits.float(), 1)[:, targets[i]])
        p = torch.cat(probs).numpy()
        del_curve, ins_curve = p[: steps + 1], p[steps + 1 :]
        deletion[i] = float(np.trapezoid(del_curve, fractions))
        insertion[i] = float(np.trapezoid(ins_curve, fractions))
    return deletion, insertion


def road_scores(
    model: torch.nn.Module,
    batch: torch.Tensor,
    maps: np.ndarray,
    targets: Sequence[int],
    percentiles: Sequence[int] = (20, 40, 60, 80),
) -> np.ndarray:
    """pytorch-grad-cam's ``ROADCombined`` score per image (higher is better)."""
    from pytorch_grad_cam.metrics.road import ROADCombined
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputSoftmaxTarget

    metric = ROADCombined(percentiles=list(percentiles))
    return np.asarray(
        metric(
            batch,
            maps.astype(np.float32),
            [ClassifierOutputSoftmaxTarget(t) for t in targets],
            model,
        ),
        dtype=np.float64,
    ).reshape(-1)


def evaluate_faithfulness(
    model: Classifier,
    images: Sequence,
    methods: Sequence[str] = (
        "gradcam",
        "gradcam++",
        "hirescam",
        "xgradcam",
        "layercam",
        "eigencam",
    ),
    steps: int = 24,
    road_percentiles: Sequence[int] = (25, 50, 75),
    road_images: int = 4,
    slow_methods: Sequence[str] = ("scorecam",),
    slow_images: int = 2,
    seed: int = 0,
) -> list[FaithfulnessScores]:
    """Score each CAM method and the random/Sobel baselines on PIL ``images``.

    Targets are the model's top-1 predictions. Methods in ``slow_methods`` (ScoreCAM runs one
    forward pass per channel) are scored on the first ``slow_images`` images only; ``n`` says so.
    ROAD's noisy linear imputation solves a sparse system per percentile and map (seconds for
    scattered maps), so it uses the first ``road_images`` images (``road_n``).
    """
    import torch

    from core.attribution import attribute

    views = [model.preprocess.crop(im) for im in images]
    batch = torch.stack([model.preprocess.to_tensor(v) for v in views])
    black = (0 - torch.tensor(model.preprocess.mean)) / torch.tensor(model.preprocess.std)
    with torch.inference_mode():
        targets = model.module(batch).argmax(1).tolist()

    sources: list[tuple[str, np.ndarray, int]] = []
    for method in [*methods, *slow_methods]:
        n = slow_images if method in slow_methods else len(views)
        if n <= 0:
            continue
        maps = attribute(
            model.module, batch[:n], method=method, targets=targets[:n], layer=model.target_layer
        )
        sources.append((method, np.asarray(maps, dtype=np.float32), n))
    sources.append(("random", random_maps((len(views), *batch.shape[2:]), seed), len(views)))
    sources.append(("sobel", sobel_maps(views), len(views)))

    results = []
    for name, maps, n in sources:
        d, ins = deletion_insertion(model.module, batch[:n], maps, targets[:n], black, steps=steps)
        rn = min(n, road_images)
        road = road_scores(model.module, batch[:rn], maps[:rn], targets[:rn], road_percentiles)
        results.append(
            FaithfulnessScores(
                name, n, float(d.mean()), float(ins.mean()), float(road.mean()), road_n=rn
            )
        )
    return results


def flag_unfaithful(results: Sequence[FaithfulnessScores]) -> dict[str, list[str]]:
    """For each CAM method, the metrics on which it does not beat both baselines."""
    base = {r.method: r for r in results if r.method in BASELINES}
    flags: dict[str, list[str]] = {}
    for r in results:
        if r.method in BASELINES:
            continue
        failed = []
        if any(r.deletion >= b.deletion for b in base.values()):
            failed.append("deletion")
        if any(r.insertion <= b.insertion for b in base.values()):
            failed.append("insertion")
        if any(r.road <= b.road for b in base.values()):
            failed.append("road")
        flags[r.method] = failed
    return flags
