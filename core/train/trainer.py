"""One training run as an object: ``setup()``, ``fit()`` (``train_epoch`` + ``validate`` per
epoch, the best epoch kept), ``save()`` (the model directory); :func:`train` runs all three."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.datasets import PhotoDataset, Sample, make_loader, scan_labelled_folder
from core.errors import DataError, ModelError
from core.evaluation.metrics import classification_metrics, summary_line
from core.files import replace_text
from core.models.base import DEFAULT_TASK
from core.models.model_dir import INFO_FILE
from core.render import save_confusion_png
from core.runtime import (
    model_input,
    progress_bar,
    resolve_device,
    restores_torch_threads,
    set_threads,
)
from core.train.augment import train_transform
from core.train.optim import HeadSplit, cosine_with_warmup, param_groups
from core.train.settings import TrainSettings
from core.train.split import class_counts, make_split

if TYPE_CHECKING:
    import numpy as np
    import torch

    from core.models.base import Classifier

log = logging.getLogger("wordcam.train")

Batch = tuple[Any, Any, Any, list[tuple[int, str]]]


def train(
    data_dir: str | Path,
    out: str | Path,
    *,
    settings: TrainSettings | None = None,
    **options: Any,
) -> dict[str, Any]:
    """Fine-tune a classifier on ``data_dir/<class>/*`` and write a model directory to ``out``.

    ``options`` are :class:`TrainSettings` fields (``epochs=2, balance="loss"``, ...) and
    override ``settings``. Returns the validation metrics (see
    :func:`core.evaluation.metrics.classification_metrics`) plus ``history``, ``counts``, ``split`` and
    the paths written.
    """
    settings = replace(settings or TrainSettings(), **options)
    return Trainer(data_dir, out, settings).run()


class Trainer:
    """Fine-tunes ``settings.arch`` on ``data_dir`` and writes the model directory ``out``."""

    def __init__(self, data_dir: str | Path, out: str | Path, settings: TrainSettings) -> None:
        self.data_dir = data_dir
        self.out = Path(out).expanduser()
        self.s = settings
        self.started = time.perf_counter()
        self.skipped: dict[str, str] = {}  # path -> why, every photo that could not be read
        self.history: list[dict[str, Any]] = []
        self.best_state: dict[str, torch.Tensor] | None = None
        self.best_key: tuple[float, float, float] | None = None
        self.best_epoch = 0
        self.interrupted = False

    @restores_torch_threads
    def run(self) -> dict[str, Any]:
        """Set up, train every epoch, save; returns the metrics written to ``metrics.json``."""
        self.started = time.perf_counter()
        self.setup()
        self.fit()
        return self.save()

    # ------------------------------------------------------------------------- setup

    def setup(self) -> None:
        """Check the options, read and split the photos, build the model, loaders, optimiser."""
        self.check_options()
        self.load_data()
        self.build_model()
        self.build_loaders()
        self.build_schedule()

    def check_options(self) -> None:
        """Refuse bad options, a foreign ``--out`` folder and unusable weights, before any work."""
        from core.models.arch import normalize_arch

        s = self.s
        s.check()
        if self.out.exists() and not self.out.is_dir():
            raise DataError(
                f"--out {self.out} exists and is not a folder; choose a folder for the model"
            )
        if self.out.is_dir() and any(self.out.iterdir()) and not (self.out / INFO_FILE).exists():
            raise DataError(
                f"--out {self.out} is not empty and holds no wordcam model; choose a new or "
                f"empty folder (an existing model folder is overwritten)"
            )
        self.arch = normalize_arch(s.arch)
        if s.init_weights is not None and not Path(s.init_weights).expanduser().is_file():
            raise ModelError(f"--init-weights {s.init_weights}: file not found")
        if self.arch.startswith("torchvision:") and s.init_weights is None and s.pretrained:
            raise ModelError(
                f"{self.arch}: torchvision downloads its pretrained weights on demand, which does "
                f"not work offline; pass --init-weights PATH (a local state_dict, e.g. ImageNet "
                f"weights saved with torch.save(model.state_dict(), PATH)) or --no-pretrained "
                f"for random weights"
            )

    def load_data(self) -> None:
        """Scan ``data_dir``, split off validation, and report what cannot be used."""
        s = self.s
        self.data = data = scan_labelled_folder(self.data_dir, min_classes=2)
        if data.ignored:
            log.warning(
                "%d image(s) directly in %s have no class folder and are ignored",
                data.ignored,
                data.root,
            )
        self.classes = data.classes
        self.train_samples, self.val_samples, self.split_info = make_split(
            data, s.val_dir, s.val_split, s.group_by, s.seed
        )
        counts = class_counts(self.train_samples, self.classes)
        missing = [c for c, n in counts.items() if n == 0]
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
        self.skipped = dict(data.skipped)

    def build_model(self) -> None:
        """Seed, threads and device; the module, its preprocessing, optimiser and loss."""
        import torch

        from core.models.arch import build_module, default_preprocessing, head_name
        from core.models.base import Preprocessing

        s = self.s
        torch.manual_seed(s.seed)
        self.n_threads = set_threads(s.threads)
        self.device = resolve_device(s.device)
        self.module = build_module(
            self.arch, len(self.classes), init_weights=s.init_weights, pretrained=s.pretrained
        )
        base = default_preprocessing(self.arch)
        self.pre = Preprocessing(
            image_size=s.image_size,
            resize=round(s.image_size * base.resize / base.image_size),
            mean=base.mean,
            std=base.std,
        )
        self.split = HeadSplit(self.module, head_name(self.module))
        head_params = list(self.split.head.parameters())
        self.module.to(self.device)
        self.optimizer = torch.optim.AdamW(
            param_groups(
                self.module, head_params, s.base_lr, s.head_lr, s.weight_decay, s.freeze_backbone
            )
        )
        self.criterion = torch.nn.CrossEntropyLoss(
            weight=self._class_weights(), label_smoothing=s.label_smoothing
        )

    def _class_weights(self) -> torch.Tensor | None:
        """Inverse-frequency loss weights (``balance="loss"``), else None."""
        if self.s.balance != "loss":
            return None
        import numpy as np
        import torch

        counts = class_counts(self.train_samples, self.classes)
        freq = np.array([max(1, counts[c]) for c in self.classes], dtype=np.float64)
        return torch.tensor(
            freq.sum() / (len(freq) * freq), dtype=torch.float32, device=self.device
        )

    def build_loaders(self) -> None:
        """Decoding loaders; with a frozen backbone, the cached features where possible."""
        s, pre = self.s, self.pre
        pin = self.device.startswith("cuda")
        min_side = round(pre.image_size * 1.5) if s.augment else pre.resize
        train_set = PhotoDataset(self.train_samples, train_transform(pre, s.augment), min_side)
        val_set = PhotoDataset(self.val_samples, pre, min_side=pre.resize)
        self.train_loader = None
        if not s.cache_features:
            self.train_loader = make_loader(
                train_set,
                s.batch_size,
                s.workers,
                shuffle=True,
                sampler=self._sampler([x.label for x in self.train_samples]),
                seed=s.seed,
                pin_memory=pin,
            )
        self.val_loader = (
            make_loader(val_set, s.batch_size, s.workers, pin_memory=pin)
            if self.val_samples
            else None
        )
        self.train_feats = self.train_labels = self.val_feats = self.val_labels = None
        if s.cache_features:
            loader = make_loader(train_set, s.batch_size, s.workers, pin_memory=pin)
            self.train_feats, self.train_labels = self._backbone_features(
                loader, self.train_samples, "features (train)"
            )
            if self.train_feats is None:
                raise DataError("none of the training photos could be read")
        if s.freeze_backbone and self.val_loader is not None:
            self.val_feats, self.val_labels = self._backbone_features(
                self.val_loader, self.val_samples, "features (val)"
            )

    def build_schedule(self) -> None:
        """Warm-up over (at most) the first epoch, then cosine decay to 1% of the rate."""
        import math

        import torch

        s = self.s
        if s.cache_features:
            self.steps_per_epoch = math.ceil(len(self.train_feats) / s.batch_size)
        else:
            self.steps_per_epoch = len(self.train_loader)
        total_steps = max(1, self.steps_per_epoch * s.epochs)
        warmup = max(1, min(self.steps_per_epoch, total_steps // 10))
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, cosine_with_warmup(total_steps, warmup)
        )
        self.use_amp = self.device.startswith("cuda")

    def _sampler(self, labels: Sequence[int], offset: int = 0) -> Any:
        """Class-balanced sampling (``balance="sampler"``) over items with these labels."""
        if self.s.balance != "sampler":
            return None
        import numpy as np
        import torch

        labels = np.asarray(labels, dtype=np.int64)
        per_class = np.bincount(labels, minlength=len(self.classes)).astype(np.float64)
        weights = 1.0 / per_class[labels]
        generator = torch.Generator()
        generator.manual_seed(self.s.seed * 1000 + 1 + offset)
        return torch.utils.data.WeightedRandomSampler(
            torch.as_tensor(weights), len(labels), replacement=True, generator=generator
        )

    def _backbone_features(
        self, loader: Any, samples: Sequence[Sample], desc: str
    ) -> tuple[torch.Tensor | None, torch.Tensor | None]:
        """(features, labels) of all readable samples, backbone run once without gradients."""
        import torch

        feats, labels = [], []
        self.module.eval()
        with torch.inference_mode():
            for images, y, _idx, failures in progress_bar(
                loader, len(loader), desc, self.s.progress
            ):
                self._note_failures(samples, failures)
                if images is not None:
                    feats.append(self.split.features(model_input(images, self.device)).float())
                    labels.append(y.to(self.device))
        if not feats:
            return None, None
        return torch.cat(feats), torch.cat(labels)

    def _note_failures(self, samples: Sequence[Sample], failures: list[tuple[int, str]]) -> None:
        for i, why in failures:
            path = str(samples[i].path)
            if path not in self.skipped:
                self.skipped[path] = why
                log.warning("skipped unreadable image %s: %s", path, why)

    # ------------------------------------------------------------------------- training

    def fit(self) -> None:
        """Every epoch, keeping the best state; Ctrl-C after the first epoch keeps the best."""
        self._log_start()
        try:
            for epoch in range(1, self.s.epochs + 1):
                record = self.train_epoch(epoch)
                self.history.append(record)
                self._keep_if_best(epoch, record)
                log.info(
                    "epoch %d/%d: %s",
                    epoch,
                    self.s.epochs,
                    ", ".join(f"{k}={v}" for k, v in record.items() if k != "epoch"),
                )
        except KeyboardInterrupt:
            if self.best_state is None:
                raise
            self.interrupted = True
            log.warning("interrupted: saving the best model so far (epoch %d)", self.best_epoch)

    def _log_start(self) -> None:
        s = self.s
        log.info(
            "training %s on %d photos (%d classes), validating on %d; %d epoch(s), batch %d, "
            "lr %.2g%s, %d thread(s), %d worker(s), device %s",
            self.arch,
            len(self.train_samples),
            len(self.classes),
            len(self.val_samples),
            s.epochs,
            s.batch_size,
            s.base_lr,
            ", backbone frozen" if s.freeze_backbone else "",
            self.n_threads,
            s.workers,
            self.device,
        )

    def train_epoch(self, epoch: int) -> dict[str, Any]:
        """One pass over the training photos, then validation; the epoch's history record."""
        s = self.s
        t0 = time.perf_counter()
        self._train_mode()
        batches = self._cached_batches(epoch) if s.cache_features else self.train_loader
        bar = progress_bar(batches, self.steps_per_epoch, f"epoch {epoch}/{s.epochs}", s.progress)
        seen = correct = 0
        loss_sum = 0.0
        for inputs, y, _idx, failures in bar:
            if failures:
                self._note_failures(self.train_samples, failures)
            if inputs is None:
                continue
            loss, hits = self._step(inputs, y)
            seen += len(y)
            correct += hits
            loss_sum += loss * len(y)
            if s.progress and hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{loss_sum / seen:.3f}", acc=f"{correct / seen:.3f}")
        train_seconds = time.perf_counter() - t0
        record: dict[str, Any] = {
            "epoch": epoch,
            "train_loss": round(loss_sum / max(1, seen), 4),
            "train_acc": round(correct / max(1, seen), 4),
            "train_images": seen,
            "lr": self.optimizer.param_groups[-1]["lr"],
        }
        if self.val_loader is not None:
            m = classification_metrics(*self.validate(), self.classes)
            record.update(val_top1=m["top1"], val_macro_f1=m["macro_f1"], val_loss=m["log_loss"])
        record["train_seconds"] = round(train_seconds, 2)
        record["images_per_s"] = round(seen / max(1e-9, train_seconds), 2)
        record["seconds"] = round(time.perf_counter() - t0, 2)
        return record

    def _train_mode(self) -> None:
        if self.s.freeze_backbone:
            self.module.eval()  # frozen BatchNorm statistics and no dropout in the backbone
            self.split.head.train()
        else:
            self.module.train()

    def _step(self, inputs: torch.Tensor, y: torch.Tensor) -> tuple[float, int]:
        """One optimiser step on a batch; returns (its mean loss, correct predictions)."""
        inputs = model_input(inputs, self.device)
        y = y.to(self.device, non_blocking=True)
        logits = self.split.head(inputs) if self.s.cache_features else self._forward(inputs)
        loss = self.criterion(logits.float(), y)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        self.scheduler.step()
        return float(loss.detach()), int((logits.argmax(1) == y).sum())

    def _forward(self, images: torch.Tensor) -> torch.Tensor:
        import torch

        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.use_amp):
            if self.s.freeze_backbone:
                with torch.no_grad():
                    feats = self.split.features(images)
                return self.split.head(feats.float())
            return self.module(images)

    def _cached_batches(self, epoch: int) -> Iterator[Batch]:
        import torch

        n = len(self.train_feats)
        sampler = self._sampler(self.train_labels.cpu().numpy(), offset=epoch)
        if sampler is not None:
            order = torch.as_tensor(list(sampler))
        else:
            generator = torch.Generator()
            generator.manual_seed(self.s.seed * 1000 + epoch)
            order = torch.randperm(n, generator=generator)
        for start in range(0, n, self.s.batch_size):
            idx = order[start : start + self.s.batch_size].to(self.train_feats.device)
            yield self.train_feats[idx], self.train_labels[idx], None, []

    def _keep_if_best(self, epoch: int, record: dict[str, Any]) -> None:
        """Best on validation (top-1, then macro-F1, then loss); without validation, the last."""
        if self.val_loader is not None:
            key = (record["val_top1"], record["val_macro_f1"], -(record["val_loss"] or 0.0))
        else:
            key = (float(epoch), 0.0, 0.0)
        if self.best_key is None or key > self.best_key:
            self.best_key, self.best_epoch = key, epoch
            self.best_state = {
                k: v.detach().to("cpu", copy=True) for k, v in self.module.state_dict().items()
            }

    # ------------------------------------------------------------------------- validation

    def validate(self) -> tuple[np.ndarray, np.ndarray]:
        """``(y_true, probs)`` on the validation photos (from cached features when frozen)."""
        import numpy as np
        import torch

        self.module.eval()
        if self.val_feats is not None:
            with torch.inference_mode():
                logits = self.split.head(self.val_feats).float()
            return self.val_labels.cpu().numpy(), torch.softmax(logits, 1).cpu().numpy()
        ys, ps = [], []
        loader = self.val_loader
        with torch.inference_mode():
            for images, y, _idx, failures in progress_bar(
                loader, len(loader), "val", self.s.progress
            ):
                self._note_failures(self.val_samples, failures)
                if images is None:
                    continue
                with torch.autocast("cuda", dtype=torch.bfloat16, enabled=self.use_amp):
                    logits = self.module(model_input(images, self.device))
                ps.append(torch.softmax(logits.float(), 1).cpu().numpy())
                ys.append(y.numpy())
        if not ps:
            return np.zeros(0, np.int64), np.zeros((0, len(self.classes)), np.float32)
        return np.concatenate(ys), np.concatenate(ps)

    # ------------------------------------------------------------------------- save

    def save(self) -> dict[str, Any]:
        """Load the best state and write the model directory with ``metrics.json`` (returned)."""
        from core.models.model_dir import save_model_dir

        metrics = self._final_metrics()
        counts = self._used_counts()
        split_info = self.split_info
        self.out.mkdir(parents=True, exist_ok=True)
        save_model_dir(self._classifier(), self.out, extra={"training": self._info(counts)})
        metrics.update(
            model_dir=str(self.out),
            split=split_info,
            counts=counts,
            best_epoch=self.best_epoch,
            interrupted=self.interrupted,
            history=self.history,
            threads=self.n_threads,
            seconds=round(time.perf_counter() - self.started, 2),
        )
        if self.val_loader is not None:
            metrics["confusion_image"] = save_confusion_png(
                metrics, self.out / "confusion_matrix.png"
            )
        replace_text(self.out / "metrics.json", json.dumps(metrics, ensure_ascii=False, indent=1))
        log.info("saved %s (best epoch %d): %s", self.out, self.best_epoch, summary_line(metrics))
        return metrics

    def _final_metrics(self) -> dict[str, Any]:
        """The best state's validation metrics, with every skipped photo of the run."""
        import numpy as np

        self.module.load_state_dict(self.best_state)
        self.module.eval()
        if self.val_loader is not None:
            metrics = classification_metrics(*self.validate(), self.classes)
        else:
            metrics = classification_metrics(
                np.zeros(0, np.int64), np.zeros((0, len(self.classes))), self.classes
            )
            metrics["note"] = "no validation split (--val-split 0): metrics are empty"
        skipped_list = sorted(self.skipped.items())
        metrics["skipped"] = len(skipped_list)
        metrics["skipped_files"] = [{"path": p, "error": why} for p, why in skipped_list]
        return metrics

    def _used_counts(self) -> dict[str, dict[str, int]]:
        """Photos per class actually used for training and validation (readable ones)."""
        used_train = [x for x in self.train_samples if str(x.path) not in self.skipped]
        used_val = [x for x in self.val_samples if str(x.path) not in self.skipped]
        return {
            "train": class_counts(used_train, self.classes),
            "val": class_counts(used_val, self.classes),
        }

    def _classifier(self) -> Classifier:
        from core.models.arch import default_target_layer
        from core.models.base import Classifier

        self.module.to("cpu")
        return Classifier(
            module=self.module,
            labels=list(self.classes),
            preprocess=self.pre,
            task=self.s.task or DEFAULT_TASK,
            spec=str(self.out),
            target_layer=default_target_layer(self.arch),
            arch=self.arch,
        )

    def _info(self, counts: dict[str, dict[str, int]]) -> dict[str, Any]:
        """The ``training`` section of ``wordcam_model.json``."""
        s = self.s
        return {
            "data_dir": str(self.data.root),
            "arch": self.arch,
            "init_weights": str(s.init_weights) if s.init_weights else None,
            "pretrained": s.pretrained,
            "epochs": s.epochs,
            "epochs_run": len(self.history),
            "best_epoch": self.best_epoch,
            "interrupted": self.interrupted,
            "image_size": s.image_size,
            "batch_size": s.batch_size,
            "lr": s.base_lr,
            "head_lr": s.head_lr,
            "weight_decay": s.weight_decay,
            "label_smoothing": s.label_smoothing,
            "balance": s.balance,
            "freeze_backbone": s.freeze_backbone,
            "augment": s.augment,
            "seed": s.seed,
            "split": self.split_info,
            "counts": counts,
            "device": self.device,
            "threads": self.n_threads,
            "workers": s.workers,
        }
