"""Evaluating a classifier on a folder of labelled photos (``wordcam eval``).

::

    from core.evaluation import evaluate
    from core.evaluation.report import format_report
    metrics = evaluate("models/wards", "data/wards_test")
    print(format_report(metrics))   # ends with "top1=0.912 top3=0.990 macro_f1=0.905 n=340 skipped=1"

The photos are read by :mod:`core.datasets`, scored by :mod:`core.evaluation.metrics`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.datasets import PhotoDataset, Sample, make_loader, scan_labelled_folder
from core.errors import DataError, ModelError
from core.evaluation.metrics import classification_metrics
from core.runtime import (
    model_input,
    progress_bar,
    resolve_device,
    restores_torch_threads,
    set_threads,
)

if TYPE_CHECKING:
    import numpy as np
    import torch

    from core.models.base import Classifier

log = logging.getLogger("wordcam.evaluate")


def head_out_features(module: torch.nn.Module) -> int | None:
    """Output size of the last Linear layer (the classification head), if there is one."""
    import torch

    last = None
    for sub in module.modules():
        if isinstance(sub, torch.nn.Linear):
            last = sub
    return last.out_features if last is not None else None


@restores_torch_threads
def evaluate(
    model: Classifier | str | Path,
    data_dir: str | Path,
    *,
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = True,
    threads: int | None = None,
    device: str = "auto",
) -> dict[str, Any]:
    """Evaluate ``model`` (a Classifier, model directory or spec) on ``data_dir/<class>/*``.

    Class folders must be classes of the model (a subset is fine). Returns
    :func:`classification_metrics` plus ``data_dir`` and ``model``; unreadable photos are
    skipped and listed under ``skipped_files``.
    """
    if batch_size < 1 or workers < 0:
        raise DataError("batch size must be >= 1 and workers >= 0")
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise DataError(
            f"DATA_DIR {root} does not exist or is not a folder; pass a folder with "
            f"one sub-folder of photos per class"
        )
    classifier = _classifier(model)
    data = scan_labelled_folder(root, classes=classifier.labels, min_classes=1)
    if data.ignored:
        log.warning(
            "%d image(s) directly in %s have no class folder and are ignored", data.ignored, root
        )
    set_threads(threads)
    device = resolve_device(device)
    y, probs, late_skips = predict_samples(
        classifier,
        data.samples,
        batch_size=batch_size,
        workers=workers,
        progress=progress,
        device=device,
    )
    skipped = data.skipped + late_skips
    if skipped:
        log.warning(
            "skipped %d unreadable image(s):\n%s",
            len(skipped),
            "\n".join(f"  {p}: {why}" for p, why in skipped[:20]),
        )
    metrics = classification_metrics(y, probs, classifier.labels, skipped)
    metrics["data_dir"] = str(root)
    metrics["model"] = str(classifier.spec or model)
    return metrics


def _classifier(model: Classifier | str | Path) -> Classifier:
    """The model to evaluate, refused when its labels do not fit its head."""
    from core.models import Classifier, load_model
    from core.models.model_dir import check_model_dir_labels

    if not isinstance(model, Classifier):
        check_model_dir_labels(model)
    classifier = model if isinstance(model, Classifier) else load_model(_model_spec(model))
    out_features = head_out_features(classifier.module)
    if out_features is not None and out_features != classifier.num_classes:
        raise ModelError(
            f"model {classifier.spec or model}: {classifier.num_classes} labels but "
            f"the weights' head has {out_features} outputs; fix the labels file"
        )
    return classifier


def predict_samples(
    model: Classifier,
    samples: Sequence[Sample],
    *,
    batch_size: int = 32,
    workers: int = 2,
    progress: bool = True,
    device: str = "cpu",
    desc: str = "eval",
) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """Softmax probabilities for ``samples`` (in order): ``(y_true, probs, skipped)``.

    Photos that fail to decode are left out of ``y_true``/``probs`` and listed in ``skipped``.
    """
    import numpy as np
    import torch

    pre = model.preprocess
    dataset = PhotoDataset(samples, pre, min_side=pre.resize)
    loader = make_loader(dataset, batch_size, workers, pin_memory=device.startswith("cuda"))
    module = model.module.eval().to(device)
    labels: list[np.ndarray] = []
    probs: list[np.ndarray] = []
    skipped: list[tuple[str, str]] = []
    with torch.inference_mode():
        for images, y, _idx, failures in progress_bar(loader, len(loader), desc, progress):
            skipped.extend((str(samples[i].path), why) for i, why in failures)
            if images is None:
                continue
            logits = module(model_input(images, device)).float()
            probs.append(torch.softmax(logits, dim=1).cpu().numpy())
            labels.append(y.numpy())
    n_classes = model.num_classes
    if not probs:
        return np.zeros(0, np.int64), np.zeros((0, n_classes), np.float32), skipped
    return np.concatenate(labels), np.concatenate(probs).astype(np.float32), skipped


def _model_spec(model: str | Path) -> str:
    """Check that a model argument is an existing folder or a registered spec."""
    from core.registry import MODEL_GROUP, available, split_spec

    spec = str(model)
    if Path(spec).expanduser().exists() or split_spec(spec)[0] in available(MODEL_GROUP):
        return spec
    raise ModelError(
        f"MODEL_DIR {spec} does not exist; pass a folder written by `wordcam train` "
        f"(or a model spec such as imagenet)"
    )
