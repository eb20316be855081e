"""Fine-tuning an image classifier on ``DATA_DIR/<class>/*.jpg`` (``wordcam train``).

::

    from core.train import train
    metrics = train("data/wards", "models/wards", task="画像から撮影場所を特定する",
                    group_by=r"place(\\d+)", balance="sampler", epochs=10)
    model = core.load_model("models/wards")

What it does differently from a plain fine-tuning script:

* the validation split can keep every *group* (e.g. all photos of one place, found by a regex
  over the relative path) on one side, stratified by class, so near-duplicate views of a place
  cannot leak from training into validation;
* ``balance`` samples classes equally (``sampler``) or weights the loss (``loss``), so a class
  that is 41% of the data does not dominate;
* photo-suited augmentation (mild RandomResizedCrop, flip, small affine/perspective, colour
  jitter), AdamW with warm-up + cosine decay, label smoothing, the best epoch on validation kept;
* photos are decoded in DataLoader worker processes (JPEGs at reduced DCT scale), unreadable
  ones skipped and reported;
* ``freeze_backbone`` trains only the head, running the backbone without gradients (and, without
  augmentation, only once: its features are cached).

The model directory (``core.models.model_dir``) gets the weights, labels, preprocessing, task,
``metrics.json`` and ``confusion_matrix.png``.
"""

from __future__ import annotations

import json
import logging
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.datasets import (
    LabelledFolder,
    PhotoDataset,
    Sample,
    class_name,
    make_loader,
    scan_labelled_folder,
)
from core.errors import DataError, ModelError
from core.metrics import classification_metrics, summary_line
from core.models.base import DEFAULT_TASK
from core.render import save_confusion_png
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

    from core.models.base import Preprocessing

log = logging.getLogger("wordcam.train")

DEFAULT_LR_FULL = 1e-4  # backbone; the new head learns 10x faster
DEFAULT_LR_HEAD = 1e-3  # head-only training (--freeze-backbone)
HEAD_LR_MULT = 10.0


# ----------------------------------------------------------------------------- split


@dataclass
class Split:
    """Indices into the dataset's samples for training and validation, plus how they were made."""

    train: list[int]
    val: list[int]
    groups: int
    unmatched: int


def group_key(rel_path: str, pattern: re.Pattern[str] | None) -> tuple[str, bool]:
    """The group of a photo: the regex's first group (or whole match) over its relative path.

    Returns ``(key, matched)``; a path the regex does not match is a group of its own.
    """
    if pattern is None:
        return rel_path, True
    m = pattern.search(rel_path)
    if not m:
        return rel_path, False
    if m.groups() and m.group(1) is not None:
        return m.group(1), True
    return m.group(0), True


def compile_group_pattern(group_by: str | None) -> re.Pattern[str] | None:
    """Compile ``--group-by``; a bad regex is a one-line :class:`DataError`."""
    if not group_by:
        return None
    try:
        return re.compile(group_by)
    except re.error as exc:
        raise DataError(
            f"--group-by {group_by!r} is not a valid regular expression ({exc})"
        ) from None


def split_samples(
    samples: Sequence[Sample],
    val_fraction: float,
    group_by: str | re.Pattern[str] | None = None,
    seed: int = 0,
) -> Split:
    """Split into train/val with whole groups on one side, stratified by class.

    Each group belongs to the class most of its photos have; per class, shuffled groups move
    to validation until about ``val_fraction`` of that class's photos are there (at least one
    group when the class has two or more; never all of them).
    """
    import numpy as np

    pattern = compile_group_pattern(group_by) if isinstance(group_by, str) else group_by
    members: dict[str, list[int]] = defaultdict(list)
    unmatched = 0
    for i, s in enumerate(samples):
        key, matched = group_key(s.rel, pattern)
        unmatched += not matched
        members[key].append(i)
    by_class: dict[int, list[str]] = defaultdict(list)
    class_size: Counter[int] = Counter()
    for key in sorted(members):
        label = Counter(samples[i].label for i in members[key]).most_common(1)[0][0]
        by_class[label].append(key)
        class_size[label] += len(members[key])
    rng = np.random.default_rng(seed)
    train: list[int] = []
    val: list[int] = []
    for label in sorted(by_class):
        keys = by_class[label]
        order = [keys[j] for j in rng.permutation(len(keys))]
        target = val_fraction * class_size[label]
        in_val = 0
        chosen: set[str] = set()
        if val_fraction > 0 and len(order) >= 2:
            for key in order:
                if in_val >= target:
                    break
                size = len(members[key])
                # never overshoot by far, never leave the class without training photos
                if in_val + size <= max(1.5 * target, 1) and in_val + size < class_size[label]:
                    chosen.add(key)
                    in_val += size
            if not chosen:  # every group is big: take the smallest one
                chosen.add(min(order, key=lambda k: len(members[k])))
        for key in keys:
            (val if key in chosen else train).extend(members[key])
    return Split(sorted(train), sorted(val), len(members), unmatched)


# ----------------------------------------------------------------------------- transforms


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


# ----------------------------------------------------------------------------- model pieces


class _HeadSplit:
    """Run a classifier as ``head(features(x))`` by swapping its head for an Identity."""

    def __init__(self, module: torch.nn.Module, head_name: str) -> None:
        self.module = module
        self.parent_name, _, self.child = head_name.rpartition(".")
        self.parent = module.get_submodule(self.parent_name) if self.parent_name else module
        self.head = getattr(self.parent, self.child)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        setattr(self.parent, self.child, torch.nn.Identity())
        try:
            return self.module(x)
        finally:
            setattr(self.parent, self.child, self.head)


def _param_groups(
    module: torch.nn.Module,
    head_params: list[Any],
    lr: float,
    head_lr: float,
    weight_decay: float,
    freeze: bool,
) -> list[dict[str, Any]]:
    """AdamW groups: no weight decay on biases/norms; the head at ``head_lr``."""
    head_ids = {id(p) for p in head_params}
    groups: dict[tuple[bool, bool], list[Any]] = defaultdict(list)
    for p in module.parameters():
        is_head = id(p) in head_ids
        if freeze and not is_head:
            p.requires_grad_(False)
            continue
        p.requires_grad_(True)
        groups[(is_head, p.ndim <= 1)].append(p)
    return [
        {
            "params": params,
            "lr": head_lr if is_head else lr,
            "weight_decay": 0.0 if no_decay else weight_decay,
        }
        for (is_head, no_decay), params in sorted(groups.items())
        if params
    ]


def _cosine_with_warmup(total_steps: int, warmup_steps: int):
    def factor(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
        return 0.01 + 0.99 * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return factor


# ----------------------------------------------------------------------------- training


def _prepare_out(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} exists and is not a folder; choose a folder for the model")
    if out.is_dir() and any(out.iterdir()) and not (out / "wordcam_model.json").exists():
        raise DataError(
            f"--out {out} is not empty and holds no wordcam model; choose a new or "
            f"empty folder (an existing model folder is overwritten)"
        )


def _validate(
    epochs: int,
    image_size: int,
    batch_size: int,
    val_split: float,
    workers: int,
    balance: str | None,
    lr: float | None,
) -> None:
    if epochs < 1:
        raise DataError(f"--epochs must be at least 1 (got {epochs})")
    if image_size < 32:
        raise DataError(f"--image-size must be at least 32 pixels (got {image_size})")
    if batch_size < 1:
        raise DataError(f"--batch-size must be at least 1 (got {batch_size})")
    if not 0.0 <= val_split < 0.9:
        raise DataError(f"--val-split must be in [0, 0.9) (got {val_split})")
    if workers < 0:
        raise DataError(f"--workers must be >= 0 (got {workers})")
    if balance not in (None, "sampler", "loss"):
        raise DataError(f"--balance must be 'sampler' or 'loss' (got {balance!r})")
    if lr is not None and not lr > 0:
        raise DataError(f"--lr must be positive (got {lr})")


def _make_split(
    data: LabelledFolder,
    val_dir: str | Path | None,
    val_split: float,
    group_by: str | None,
    seed: int,
) -> tuple[list[Sample], list[Sample], dict]:
    """Training and validation samples (from ``val_dir`` or a grouped split of ``data``)."""
    pattern = compile_group_pattern(group_by)
    if val_dir is not None:
        val_data = scan_labelled_folder(
            val_dir, classes=data.classes, min_classes=1, what="--val-dir"
        )
        data.skipped.extend(val_data.skipped)
        info = {"kind": "folder", "val_dir": str(val_data.root)}
        return data.samples, val_data.samples, info
    split = split_samples(data.samples, val_split, pattern, seed)
    if pattern is not None and split.unmatched:
        log.warning(
            "--group-by %r matched no group in %d of %d paths (each such photo is its own group)",
            group_by,
            split.unmatched,
            len(data.samples),
        )
    info = {
        "kind": "grouped" if pattern else "random",
        "val_split": val_split,
        "group_by": group_by,
        "groups": split.groups,
        "unmatched": split.unmatched,
    }
    no_val = [
        data.classes[c]
        for c in range(len(data.classes))
        if not any(data.samples[i].label == c for i in split.val)
    ]
    if val_split > 0 and no_val:
        log.warning("no validation photos for %s (too few photos or groups)", ", ".join(no_val))
    return ([data.samples[i] for i in split.train], [data.samples[i] for i in split.val], info)


def _class_counts(samples: Sequence[Sample], classes: Sequence[str]) -> dict[str, int]:
    counts = Counter(s.label for s in samples)
    return {name: int(counts.get(i, 0)) for i, name in enumerate(classes)}


@restores_torch_threads
def train(
    data_dir: str | Path,
    out: str | Path,
    *,
    arch: str = "imagenet",
    init_weights: str | Path | None = None,
    pretrained: bool = True,
    epochs: int = 10,
    image_size: int = 224,
    batch_size: int = 32,
    lr: float | None = None,
    weight_decay: float = 0.01,
    label_smoothing: float = 0.1,
    val_split: float = 0.1,
    val_dir: str | Path | None = None,
    group_by: str | None = None,
    balance: str | None = None,
    task: str | None = None,
    seed: int = 0,
    workers: int = 2,
    freeze_backbone: bool = False,
    augment: bool = True,
    threads: int | None = None,
    device: str = "auto",
    progress: bool = True,
) -> dict[str, Any]:
    """Fine-tune ``arch`` on ``data_dir/<class>/*`` and write a model directory to ``out``.

    ``arch``: ``imagenet`` (offline EfficientNet-Lite0, default) or ``torchvision:NAME``
    (needs ``init_weights``, a local state_dict, unless ``pretrained=False``). ``lr`` defaults
    to 1e-4 (head 1e-3) for full fine-tuning and 1e-3 with ``freeze_backbone``. ``balance``:
    ``sampler`` (class-balanced sampling) or ``loss`` (inverse-frequency loss weights).
    Returns the validation metrics (see :func:`core.metrics.classification_metrics`) plus
    ``history``, ``counts``, ``split`` and the paths written.
    """
    import numpy as np
    import torch

    from core.models.arch import (
        build_module,
        default_preprocessing,
        default_target_layer,
        head_name,
        normalize_arch,
    )
    from core.models.base import Classifier, Preprocessing
    from core.models.model_dir import save_model_dir

    started = time.perf_counter()
    _validate(epochs, image_size, batch_size, val_split, workers, balance, lr)
    out = Path(out).expanduser()
    _prepare_out(out)
    arch = normalize_arch(arch)
    if init_weights is not None and not Path(init_weights).expanduser().is_file():
        raise ModelError(f"--init-weights {init_weights}: file not found")
    if arch.startswith("torchvision:") and init_weights is None and pretrained:
        raise ModelError(
            f"{arch}: torchvision downloads its pretrained weights on demand, which does not work "
            f"offline; pass --init-weights PATH (a local state_dict, e.g. ImageNet weights saved "
            f"with torch.save(model.state_dict(), PATH)) or --no-pretrained for random weights"
        )
    data = scan_labelled_folder(data_dir, min_classes=2)
    if data.ignored:
        log.warning(
            "%d image(s) directly in %s have no class folder and are ignored",
            data.ignored,
            data.root,
        )
    classes = data.classes
    train_samples, val_samples, split_info = _make_split(data, val_dir, val_split, group_by, seed)
    missing = [c for c, n in _class_counts(train_samples, classes).items() if n == 0]
    if missing:
        raise DataError(
            f"no training photos left for {', '.join(missing)} after the "
            f"validation split; add photos or lower --val-split"
        )
    if data.skipped:
        log.warning(
            "skipping %d unreadable image(s):\n%s",
            len(data.skipped),
            "\n".join(f"  {p}: {why}" for p, why in data.skipped[:20]),
        )

    torch.manual_seed(seed)
    n_threads = set_threads(threads)
    device = resolve_device(device)
    module = build_module(arch, len(classes), init_weights=init_weights, pretrained=pretrained)
    base = default_preprocessing(arch)
    pre = Preprocessing(
        image_size=image_size,
        resize=round(image_size * base.resize / base.image_size),
        mean=base.mean,
        std=base.std,
    )
    head = head_name(module)
    split = _HeadSplit(module, head)
    head_params = list(split.head.parameters())
    if lr is None:
        lr = DEFAULT_LR_HEAD if freeze_backbone else DEFAULT_LR_FULL
    head_lr = lr if freeze_backbone else lr * HEAD_LR_MULT
    module.to(device)
    optimizer = torch.optim.AdamW(
        _param_groups(module, head_params, lr, head_lr, weight_decay, freeze_backbone)
    )
    train_counts = _class_counts(train_samples, classes)
    class_weights = None
    if balance == "loss":
        freq = np.array([max(1, train_counts[c]) for c in classes], dtype=np.float64)
        class_weights = torch.tensor(
            freq.sum() / (len(freq) * freq), dtype=torch.float32, device=device
        )
    criterion = torch.nn.CrossEntropyLoss(weight=class_weights, label_smoothing=label_smoothing)

    def make_sampler(labels: Sequence[int], offset: int = 0):
        """Class-balanced sampling (``balance="sampler"``) over items with these labels."""
        if balance != "sampler":
            return None
        labels = np.asarray(labels, dtype=np.int64)
        per_class = np.bincount(labels, minlength=len(classes)).astype(np.float64)
        weights = 1.0 / per_class[labels]
        generator = torch.Generator()
        generator.manual_seed(seed * 1000 + 1 + offset)
        return torch.utils.data.WeightedRandomSampler(
            torch.as_tensor(weights), len(labels), replacement=True, generator=generator
        )

    cache_features = freeze_backbone and not augment
    pin = device.startswith("cuda")
    transform = train_transform(pre, augment)
    train_set = PhotoDataset(
        train_samples, transform, min_side=round(pre.image_size * 1.5) if augment else pre.resize
    )
    val_set = PhotoDataset(val_samples, pre, min_side=pre.resize)
    train_loader = None
    if not cache_features:
        train_loader = make_loader(
            train_set,
            batch_size,
            workers,
            shuffle=True,
            sampler=make_sampler([s.label for s in train_samples]),
            seed=seed,
            pin_memory=pin,
        )
    val_loader = make_loader(val_set, batch_size, workers, pin_memory=pin) if val_samples else None
    skipped: dict[str, str] = dict(data.skipped)

    def note_failures(samples: Sequence[Sample], failures: list[tuple[int, str]]) -> None:
        for i, why in failures:
            path = str(samples[i].path)
            if path not in skipped:
                skipped[path] = why
                log.warning("skipped unreadable image %s: %s", path, why)

    def backbone_features(loader, samples, desc: str):
        """(features, labels) of all readable samples, backbone run once without gradients."""
        feats, labels = [], []
        module.eval()
        with torch.inference_mode():
            for images, y, _idx, failures in progress_bar(loader, len(loader), desc, progress):
                note_failures(samples, failures)
                if images is not None:
                    feats.append(split.features(model_input(images, device)).float())
                    labels.append(y.to(device))
        if not feats:
            return None, None
        return torch.cat(feats), torch.cat(labels)

    train_feats = train_labels = val_feats = val_labels = None
    if cache_features:
        loader = make_loader(train_set, batch_size, workers, pin_memory=pin)
        train_feats, train_labels = backbone_features(loader, train_samples, "features (train)")
        if train_feats is None:
            raise DataError("none of the training photos could be read")
    if freeze_backbone and val_loader is not None:
        val_feats, val_labels = backbone_features(val_loader, val_samples, "features (val)")

    steps_per_epoch = (
        math.ceil(len(train_feats) / batch_size) if cache_features else len(train_loader)
    )
    total_steps = max(1, steps_per_epoch * epochs)
    warmup = max(1, min(steps_per_epoch, total_steps // 10))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, _cosine_with_warmup(total_steps, warmup)
    )
    use_amp = device.startswith("cuda")

    def forward_train(images: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
            if freeze_backbone:
                with torch.no_grad():
                    feats = split.features(images)
                return split.head(feats.float())
            return module(images)

    def evaluate_val() -> tuple[np.ndarray, np.ndarray]:
        module.eval()
        if val_feats is not None:
            with torch.inference_mode():
                logits = split.head(val_feats).float()
            return val_labels.cpu().numpy(), torch.softmax(logits, 1).cpu().numpy()
        ys, ps = [], []
        with torch.inference_mode():
            for images, y, _idx, failures in progress_bar(
                val_loader, len(val_loader), "val", progress
            ):
                note_failures(val_samples, failures)
                if images is None:
                    continue
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=use_amp):
                    logits = module(model_input(images, device))
                ps.append(torch.softmax(logits.float(), 1).cpu().numpy())
                ys.append(y.numpy())
        if not ps:
            return np.zeros(0, np.int64), np.zeros((0, len(classes)), np.float32)
        return np.concatenate(ys), np.concatenate(ps)

    def cached_batches(epoch: int):
        n = len(train_feats)
        sampler = make_sampler(train_labels.cpu().numpy(), offset=epoch)
        if sampler is not None:
            order = torch.as_tensor(list(sampler))
        else:
            generator = torch.Generator()
            generator.manual_seed(seed * 1000 + epoch)
            order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size].to(train_feats.device)
            yield train_feats[idx], train_labels[idx], None, []

    history: list[dict[str, Any]] = []
    best_state: dict[str, torch.Tensor] | None = None
    best_key: tuple[float, float, float] | None = None
    best_epoch = 0
    interrupted = False
    log.info(
        "training %s on %d photos (%d classes), validating on %d; %d epoch(s), batch %d, "
        "lr %.2g%s, %d thread(s), %d worker(s), device %s",
        arch,
        len(train_samples),
        len(classes),
        len(val_samples),
        epochs,
        batch_size,
        lr,
        ", backbone frozen" if freeze_backbone else "",
        n_threads,
        workers,
        device,
    )
    try:
        for epoch in range(1, epochs + 1):
            t0 = time.perf_counter()
            if freeze_backbone:
                module.eval()  # frozen BatchNorm statistics and no dropout in the backbone
                split.head.train()
            else:
                module.train()
            batches = cached_batches(epoch) if cache_features else train_loader
            bar = progress_bar(batches, steps_per_epoch, f"epoch {epoch}/{epochs}", progress)
            seen = correct = 0
            loss_sum = 0.0
            for inputs, y, _idx, failures in bar:
                if failures:
                    note_failures(train_samples, failures)
                if inputs is None:
                    continue
                inputs = model_input(inputs, device)
                y = y.to(device, non_blocking=True)
                logits = split.head(inputs) if cache_features else forward_train(inputs)
                loss = criterion(logits.float(), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                seen += len(y)
                correct += int((logits.argmax(1) == y).sum())
                loss_sum += float(loss.detach()) * len(y)
                if progress and hasattr(bar, "set_postfix"):
                    bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
            train_seconds = time.perf_counter() - t0
            record: dict[str, Any] = {
                "epoch": epoch,
                "train_loss": round(loss_sum / max(1, seen), 4),
                "train_acc": round(correct / max(1, seen), 4),
                "train_images": seen,
                "lr": optimizer.param_groups[-1]["lr"],
            }
            if val_loader is not None:
                y_val, p_val = evaluate_val()
                m = classification_metrics(y_val, p_val, classes)
                record.update(
                    val_top1=m["top1"], val_macro_f1=m["macro_f1"], val_loss=m["log_loss"]
                )
                key = (m["top1"], m["macro_f1"], -(m["log_loss"] or 0.0))
            else:
                key = (float(epoch), 0.0, 0.0)  # no validation: keep the last epoch
            record["train_seconds"] = round(train_seconds, 2)
            record["images_per_s"] = round(seen / max(1e-9, train_seconds), 2)
            record["seconds"] = round(time.perf_counter() - t0, 2)
            history.append(record)
            if best_key is None or key > best_key:
                best_key, best_epoch = key, epoch
                best_state = {
                    k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()
                }
            log.info(
                "epoch %d/%d: %s",
                epoch,
                epochs,
                ", ".join(f"{k}={v}" for k, v in record.items() if k != "epoch"),
            )
    except KeyboardInterrupt:
        if best_state is None:
            raise
        interrupted = True
        log.warning("interrupted: saving the best model so far (epoch %d)", best_epoch)

    module.load_state_dict(best_state)
    module.eval()
    if val_loader is not None:
        y_val, p_val = evaluate_val()
        metrics = classification_metrics(y_val, p_val, classes)
    else:
        metrics = classification_metrics(
            np.zeros(0, np.int64), np.zeros((0, len(classes))), classes
        )
        metrics["note"] = "no validation split (--val-split 0): metrics are empty"
    skipped_list = sorted(skipped.items())
    metrics["skipped"] = len(skipped_list)
    metrics["skipped_files"] = [{"path": p, "error": why} for p, why in skipped_list]

    module.to("cpu")
    classifier = Classifier(
        module=module,
        labels=list(classes),
        preprocess=pre,
        task=task or DEFAULT_TASK,
        spec=str(out),
        target_layer=default_target_layer(arch),
        arch=arch,
    )
    used_train = [s for s in train_samples if str(s.path) not in skipped]
    used_val = [s for s in val_samples if str(s.path) not in skipped]
    counts = {"train": _class_counts(used_train, classes), "val": _class_counts(used_val, classes)}
    training_info = {
        "data_dir": str(data.root),
        "arch": arch,
        "init_weights": str(init_weights) if init_weights else None,
        "pretrained": pretrained,
        "epochs": epochs,
        "epochs_run": len(history),
        "best_epoch": best_epoch,
        "interrupted": interrupted,
        "image_size": image_size,
        "batch_size": batch_size,
        "lr": lr,
        "head_lr": head_lr,
        "weight_decay": weight_decay,
        "label_smoothing": label_smoothing,
        "balance": balance,
        "freeze_backbone": freeze_backbone,
        "augment": augment,
        "seed": seed,
        "split": split_info,
        "counts": counts,
        "device": device,
        "threads": n_threads,
        "workers": workers,
    }
    out.mkdir(parents=True, exist_ok=True)
    save_model_dir(classifier, out, extra={"training": training_info})
    metrics.update(
        model_dir=str(out),
        split=split_info,
        counts=counts,
        best_epoch=best_epoch,
        interrupted=interrupted,
        history=history,
        threads=n_threads,
        seconds=round(time.perf_counter() - started, 2),
    )
    if val_loader is not None:
        metrics["confusion_image"] = save_confusion_png(metrics, out / "confusion_matrix.png")
    (out / "metrics.json").write_text(
        json.dumps(metrics, ensure_ascii=False, indent=1), encoding="utf-8"
    )
    log.info("saved %s (best epoch %d): %s", out, best_epoch, summary_line(metrics))
    return metrics


def class_names(data_dir: str | Path) -> list[str]:
    """The class names ``train`` would use for ``data_dir`` (sorted NFC folder names)."""
    root = Path(data_dir)
    return sorted(
        class_name(p.name) for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")
    )


__all__ = ["train", "split_samples", "group_key", "train_transform", "class_names"]
