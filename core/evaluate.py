"""Evaluating a classifier on a folder of labelled photos (``wordcam eval``), and the pieces
that training shares with it: scanning class folders, decoding photos in DataLoader worker
processes (skipping unreadable ones), classification metrics and the confusion-matrix image.

::

    from core.evaluate import evaluate, format_report
    metrics = evaluate("models/wards", "data/wards_test")
    print(format_report(metrics))   # ends with "top1=0.912 top3=0.990 macro_f1=0.905 n=340 skipped=1"
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import subprocess
import unicodedata
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DataError, ImageError, ModelError
from core.images import IMAGE_SUFFIXES, MAX_PIXELS, load_image, to_rgb

if TYPE_CHECKING:
    import numpy as np
    import torch
    from PIL import Image

    from core.models.base import Classifier

log = logging.getLogger("wordcam.evaluate")


# ----------------------------------------------------------------------------- datasets


@dataclass
class Sample:
    """One labelled photo: its path, its path relative to the dataset root, its class index."""

    path: Path
    rel: str
    label: int


@dataclass
class LabelledFolder:
    """A scanned ``DATA_DIR/<class>/...`` folder.

    ``skipped`` lists ``(path, reason)`` for files that could not be read; ``ignored`` counts
    image files lying directly in the root (they have no class).
    """

    root: Path
    classes: list[str]
    samples: list[Sample]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    ignored: int = 0

    def counts(self) -> dict[str, int]:
        """Readable photos per class, in class order."""
        out = dict.fromkeys(self.classes, 0)
        for s in self.samples:
            out[self.classes[s.label]] += 1
        return out


def class_name(folder: str) -> str:
    """Canonical class name of a folder (NFC: macOS stores Japanese names decomposed)."""
    return unicodedata.normalize("NFC", folder)


def _is_image(p: Path, root: Path) -> bool:
    return (
        p.suffix.lower() in IMAGE_SUFFIXES
        and p.is_file()
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def check_image_header(path: Path) -> str | None:
    """Cheap up-front check (reads only the header): None if it looks readable, else why not.

    Truncated data is only found when decoding; the loaders skip such files then.
    """
    from PIL import Image

    try:
        if path.stat().st_size == 0:
            raise OSError
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                w, h = im.size
                if w * h > MAX_PIXELS or w < 1 or h < 1:
                    raise OSError
        return None
    except Exception:  # noqa: BLE001 - the exact reason comes from load_image below
        try:
            load_image(path)
        except ImageError as exc:
            return exc.cause
        except Exception as exc:  # noqa: BLE001
            return str(exc) or exc.__class__.__name__
        return None


def scan_labelled_folder(
    data_dir: str | Path,
    *,
    classes: Sequence[str] | None = None,
    min_classes: int = 2,
    check: bool = True,
    what: str = "DATA_DIR",
) -> LabelledFolder:
    """Scan ``data_dir/<class>/**/<image>`` into samples, checking every file's header.

    ``classes`` fixes the class order (a model's labels); folders that are not among them are
    an error. Otherwise the classes are the sub-folder names, sorted. Raises
    :class:`DataError` (one line) for a missing folder, no class folders, an empty class
    folder, or fewer than ``min_classes`` classes.
    """
    root = Path(data_dir).expanduser()
    if not root.exists():
        raise DataError(
            f"{what} {root} does not exist; pass a folder with one sub-folder of photos per class"
        )
    if not root.is_dir():
        raise DataError(
            f"{what} {root} is not a folder; pass a folder with one sub-folder of photos per class"
        )
    folders = sorted(
        (p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: class_name(p.name),
    )
    ignored = sum(1 for p in root.iterdir() if _is_image(p, root))
    if not folders:
        raise DataError(
            f"{what} {root} has no class folders; put the photos of each class in "
            f"its own sub-folder ({root}/<class>/*.jpg)"
        )
    names = [class_name(p.name) for p in folders]
    if classes is not None:
        known = {class_name(c): i for i, c in enumerate(classes)}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise DataError(
                f"{what} {root}: class folder(s) {', '.join(unknown)} are not classes "
                f"of the model ({', '.join(classes)}); rename or remove them"
            )
        class_list = list(classes)
        index = {n: known[n] for n in names}
    else:
        class_list = names
        index = {n: i for i, n in enumerate(names)}
    if len(folders) < min_classes:
        raise DataError(
            f"{what} {root} has only {len(folders)} class folder(s) "
            f"({', '.join(names)}); training needs at least {min_classes} classes"
        )

    samples: list[Sample] = []
    for folder, name in zip(folders, names, strict=True):
        files = sorted(p for p in folder.rglob("*") if _is_image(p, root))
        if not files:
            raise DataError(f"class folder {folder} has no images; add photos to it or remove it")
        samples.extend(Sample(p, p.relative_to(root).as_posix(), index[name]) for p in files)
    skipped: list[tuple[str, str]] = []
    if check:
        with ThreadPoolExecutor(max_workers=8) as pool:
            problems = list(pool.map(lambda s: check_image_header(s.path), samples))
        skipped = [(str(s.path), why) for s, why in zip(samples, problems, strict=True) if why]
        samples = [s for s, why in zip(samples, problems, strict=True) if not why]
        readable = {s.label for s in samples}
        for folder, name in zip(folders, names, strict=True):
            if index[name] not in readable:
                raise DataError(
                    f"class folder {folder} has no readable images "
                    f"({sum(1 for p, _ in skipped if Path(p).parent == folder)} "
                    f"unreadable); replace them or remove the folder"
                )
    return LabelledFolder(root, class_list, samples, skipped, ignored)


def read_photo(path: str | Path, min_side: int | None = None) -> Image.Image:
    """:func:`core.images.load_image`, but JPEGs are decoded at a reduced scale (DCT scaling)
    when their short side would still be at least ``min_side`` -- several times faster for
    camera photos. Any problem falls back to ``load_image``, which raises its usual errors.
    """
    if min_side:
        from PIL import Image, ImageOps

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", Image.DecompressionBombWarning)
                with Image.open(path) as im:
                    if im.format == "JPEG" and im.width * im.height <= MAX_PIXELS:
                        im.draft(im.mode, (min_side, min_side))
                        im.load()
                        im = ImageOps.exif_transpose(im) or im
                        return to_rgb(im)
        except Exception:  # noqa: BLE001 - load_image names the problem below
            pass
    return load_image(path)


class PhotoDataset:
    """Map-style dataset: ``(tensor | None, label, index, error | None)`` per sample.

    A file that fails to decode is not an exception: its item carries the error message and
    :func:`collate_skipping` drops it from the batch, so one bad photo never stops a run.
    """

    def __init__(
        self,
        samples: Sequence[Sample],
        transform: Callable[[Any], Any],
        min_side: int | None = None,
    ) -> None:
        self.samples = list(samples)
        self.transform = transform
        self.min_side = min_side

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int) -> tuple[Any, int, int, str | None]:
        sample = self.samples[i]
        try:
            return self.transform(read_photo(sample.path, self.min_side)), sample.label, i, None
        except ImageError as exc:
            return None, sample.label, i, exc.cause
        except Exception as exc:  # noqa: BLE001 - a decoder/transform failure skips the photo
            return None, sample.label, i, f"{exc.__class__.__name__}: {exc}"


def collate_skipping(batch: list[tuple[Any, int, int, str | None]]):
    """Stack the readable items; return ``(images | None, labels, indices, failures)``.

    ``failures`` is a list of ``(index, error)`` for the items that could not be read.
    """
    import torch

    good = [b for b in batch if b[0] is not None]
    failures = [(b[2], b[3]) for b in batch if b[0] is None]
    images = torch.stack([b[0] for b in good]) if good else None
    labels = torch.tensor([b[1] for b in good], dtype=torch.long)
    indices = torch.tensor([b[2] for b in good], dtype=torch.long)
    return images, labels, indices, failures


def make_loader(
    dataset: PhotoDataset,
    batch_size: int,
    workers: int,
    *,
    shuffle: bool = False,
    sampler: Any = None,
    seed: int = 0,
    pin_memory: bool = False,
):
    """A DataLoader that decodes in ``workers`` processes and skips unreadable photos."""
    import torch

    workers = max(0, int(workers))
    generator = torch.Generator()
    generator.manual_seed(seed)
    return torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle and sampler is None,
        sampler=sampler,
        num_workers=workers,
        collate_fn=collate_skipping,
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
        pin_memory=pin_memory,
        generator=generator,
    )


def restores_torch_threads(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: whatever thread count ``fn`` sets for itself is undone when it returns, so a
    caller running other work afterwards (``wordcam demo``, ``wordcam bench``) keeps its own."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import torch

        previous = torch.get_num_threads()
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(previous)

    return wrapper


def set_threads(threads: int | None = None) -> int:
    """Set torch's intra-op threads and return the count.

    Default: every CPU this process may use. Measured on an idle 2-core machine with 2
    decoding workers (benchmarks/bench_train.py), 2 threads trained 2.0x faster than 1
    (full fine-tuning 10.9 vs 5.3 images/s; frozen backbone 39 vs 25): decoding with reduced-
    scale JPEG loading is light enough to share the cores. Pass ``threads`` to override on a
    machine that is busy otherwise.
    """
    import torch

    try:
        available = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        available = os.cpu_count() or 1
    count = max(1, int(threads) if threads else available)
    torch.set_num_threads(count)
    return count


def model_input(images: torch.Tensor, device: str) -> torch.Tensor:
    """Move a batch to ``device``; on the CPU in channels-last layout, whose convolution
    kernels run EfficientNet-Lite0 about 1.6x faster here (same results)."""
    import torch

    images = images.to(device, non_blocking=True)
    if images.device.type == "cpu" and images.dim() == 4:
        images = images.contiguous(memory_format=torch.channels_last)
    return images


def progress_bar(iterable: Any, total: int | None, desc: str, enabled: bool):
    """A tqdm bar on stderr, or the plain iterable when disabled."""
    if not enabled:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="batch", dynamic_ncols=True, leave=False)


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


# ----------------------------------------------------------------------------- metrics


def classification_metrics(
    y_true: Sequence[int] | np.ndarray,
    probs: np.ndarray,
    labels: Sequence[str],
    skipped: Sequence[tuple[str, str]] = (),
) -> dict[str, Any]:
    """Top-1/top-3 accuracy, macro-F1, per-class precision/recall/F1, confusion matrix, counts.

    Macro averages run over the classes present in ``y_true`` (a test folder may hold only
    some of the model's classes). The confusion matrix has rows = true, columns = predicted.
    """
    import numpy as np

    y = np.asarray(y_true, dtype=np.int64)
    probs = np.asarray(probs, dtype=np.float64)
    n, c = len(y), len(labels)
    k = min(3, c)
    pred = probs.argmax(axis=1) if n else np.zeros(0, np.int64)
    confusion = np.zeros((c, c), dtype=np.int64)
    np.add.at(confusion, (y, pred), 1)
    topk = np.argsort(-probs, axis=1)[:, :k] if n else np.zeros((0, k), np.int64)
    in_topk = (topk == y[:, None]).any(axis=1) if n else np.zeros(0, bool)
    per_class: dict[str, dict[str, float | int]] = {}
    f1s: list[float] = []
    recalls: list[float] = []
    for i, name in enumerate(labels):
        tp = int(confusion[i, i])
        support = int(confusion[i].sum())
        predicted = int(confusion[:, i].sum())
        precision = tp / predicted if predicted else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_class[name] = {
            "precision": round(precision, 4),
            "recall": round(recall, 4),
            "f1": round(f1, 4),
            "support": support,
            "predicted": predicted,
        }
        if support:
            f1s.append(f1)
            recalls.append(recall)
    log_loss = (
        float(-np.log(np.clip(probs[np.arange(n), y], 1e-12, 1.0)).mean()) if n else float("nan")
    )
    return {
        "n": n,
        "skipped": len(skipped),
        "top1": round(float((pred == y).mean()), 4) if n else 0.0,
        "top3": round(float(in_topk.mean()), 4) if n else 0.0,
        "top_k": k,
        "macro_f1": round(float(np.mean(f1s)), 4) if f1s else 0.0,
        "balanced_accuracy": round(float(np.mean(recalls)), 4) if recalls else 0.0,
        "log_loss": round(log_loss, 4) if not math.isnan(log_loss) else None,
        "labels": list(labels),
        "support": {name: int(confusion[i].sum()) for i, name in enumerate(labels)},
        "per_class": per_class,
        "confusion_matrix": confusion.tolist(),
        "skipped_files": [{"path": p, "error": why} for p, why in skipped],
    }


def summary_line(metrics: dict[str, Any]) -> str:
    """``top1=0.912 top3=0.990 macro_f1=0.905 n=340 skipped=1``."""
    return (
        f"top1={metrics['top1']:.3f} top3={metrics['top3']:.3f} "
        f"macro_f1={metrics['macro_f1']:.3f} n={metrics['n']} skipped={metrics['skipped']}"
    )


def display_width(text: str) -> int:
    """Terminal columns of ``text`` (CJK characters take two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, right: bool = False) -> str:
    gap = " " * max(0, width - display_width(text))
    return gap + text if right else text + gap


def format_report(metrics: dict[str, Any], max_skipped: int = 10) -> str:
    """Per-class table, the confusion matrix as text, skipped files, then the summary line."""
    labels = metrics["labels"]
    per_class = metrics["per_class"]
    name_w = max([display_width(f"{i} {n}") for i, n in enumerate(labels)] + [5])
    lines = [
        f"{_pad('class', name_w)}  precision  recall     f1  support",
    ]
    for i, name in enumerate(labels):
        pc = per_class[name]
        if not pc["support"] and not pc["predicted"]:
            continue
        lines.append(
            f"{_pad(f'{i} {name}', name_w)}  {pc['precision']:9.3f}  {pc['recall']:6.3f}  "
            f"{pc['f1']:5.3f}  {pc['support']:7d}"
        )
    confusion = metrics["confusion_matrix"]
    cell = max([len(str(v)) for row in confusion for v in row] + [len(str(len(labels) - 1)), 3])
    lines.append("")
    lines.append("confusion matrix (rows: true class, columns: predicted class index)")
    lines.append(_pad("", name_w) + " " + " ".join(str(j).rjust(cell) for j in range(len(labels))))
    for i, name in enumerate(labels):
        lines.append(
            _pad(f"{i} {name}", name_w) + " " + " ".join(str(v).rjust(cell) for v in confusion[i])
        )
    skipped = metrics.get("skipped_files") or []
    if skipped:
        lines.append("")
        lines.append(f"skipped {len(skipped)} unreadable image(s):")
        lines.extend(f"  {s['path']}: {s['error']}" for s in skipped[:max_skipped])
        if len(skipped) > max_skipped:
            lines.append(f"  ... and {len(skipped) - max_skipped} more")
    lines.append("")
    lines.append(summary_line(metrics))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- confusion image

_JA_FONT_CANDIDATES = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/ipafont-gothic/ipagp.ttf",
    "/usr/share/fonts/truetype/takao-gothic/TakaoPGothic.ttf",
    "/System/Library/Fonts/ヒラギノ角ゴシック W3.ttc",
    "/System/Library/Fonts/Hiragino Sans GB.ttc",
    "/Library/Fonts/Arial Unicode.ttf",
    "C:/Windows/Fonts/meiryo.ttc",
    "C:/Windows/Fonts/msgothic.ttc",
    "C:/Windows/Fonts/YuGothM.ttc",
]


def find_japanese_font() -> str | None:
    """Path of an installed font that can render Japanese, or None."""
    for candidate in _JA_FONT_CANDIDATES:
        if Path(candidate).is_file():
            return candidate
    if shutil.which("fc-list"):
        try:
            out = subprocess.run(
                ["fc-list", ":lang=ja", "file"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        paths = sorted(line.split(":")[0].strip() for line in out.splitlines() if line.strip())
        for path in paths:
            if Path(path).is_file():
                return path
    return None


def _font(path: str | None, size: int):
    from PIL import ImageFont

    if path:
        try:
            return ImageFont.truetype(path, size)
        except OSError:
            pass
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size=size)


def save_confusion_png(metrics: dict[str, Any], path: str | Path) -> dict[str, Any]:
    """Draw the confusion matrix (row-normalised colour, counts in cells) with PIL.

    Class names are drawn when they are ASCII or a Japanese-capable font is installed;
    otherwise the image shows class indices and ``<stem>_labels.txt`` beside it maps them to
    names. Returns ``{"path", "font", "names_drawn", "legend"}``.
    """
    from PIL import Image, ImageDraw

    path = Path(path)
    labels: list[str] = metrics["labels"]
    confusion = metrics["confusion_matrix"]
    c = len(labels)
    ascii_only = all(name.isascii() for name in labels)
    font_path = None if ascii_only else find_japanese_font()
    names_drawn = ascii_only or font_path is not None
    shown = [f"{i} {n}" if names_drawn else str(i) for i, n in enumerate(labels)]

    cell = max(32, min(64, 720 // max(c, 1)))
    font = _font(font_path, max(10, cell // 3))
    title_font = _font(font_path, 14)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))

    def text_w(text: str, f: Any = font) -> int:
        box = probe.textbbox((0, 0), text, font=f)
        return box[2] - box[0]

    label_w = max(text_w(s) for s in shown) + 12
    top = label_w + 40  # column names are drawn rotated above the grid
    left = label_w + 30
    title = "true class (rows) vs predicted class (columns)"
    width = max(left + c * cell + 20, text_w(title, title_font) + 20)
    height = top + c * cell + 30
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((10, 8), title, fill="black", font=title_font)
    for i in range(c):
        row_total = sum(confusion[i]) or 1
        for j in range(c):
            value = confusion[i][j]
            share = value / row_total
            colour = (
                (round(255 - 200 * share), round(255 - 150 * share), 255)
                if value
                else (248, 248, 248)
            )
            x0, y0 = left + j * cell, top + i * cell
            draw.rectangle((x0, y0, x0 + cell - 1, y0 + cell - 1), fill=colour, outline="white")
            text = str(value)
            ink = "white" if share > 0.55 else "black"
            draw.text(
                (x0 + (cell - text_w(text)) / 2, y0 + cell / 2 - font.size * 0.6),
                text,
                fill=ink,
                font=font,
            )
        draw.text(
            (left - 6 - text_w(shown[i]), top + i * cell + cell / 2 - font.size * 0.6),
            shown[i],
            fill="black",
            font=font,
        )
        # rotated column label
        tw = text_w(shown[i]) + 4
        strip = Image.new("RGB", (tw, font.size + 8), "white")
        ImageDraw.Draw(strip).text((2, 2), shown[i], fill="black", font=font)
        strip = strip.rotate(90, expand=True)
        image.paste(strip, (left + i * cell + (cell - strip.width) // 2, top - 6 - strip.height))
    draw.text((left, top + c * cell + 8), "predicted", fill="black", font=title_font)
    image.save(path)

    legend = None
    if not names_drawn:
        legend = path.with_name(f"{path.stem}_labels.txt")
        legend.write_text("".join(f"{i}\t{n}\n" for i, n in enumerate(labels)), encoding="utf-8")
        log.info(
            "no Japanese font installed (fc-list :lang=ja found none): %s shows class "
            "indices; %s maps them to names",
            path.name,
            legend.name,
        )
    return {
        "path": str(path),
        "font": font_path,
        "names_drawn": names_drawn,
        "legend": str(legend) if legend else None,
    }


# ----------------------------------------------------------------------------- evaluate


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
    from core.models import Classifier, load_model

    if batch_size < 1 or workers < 0:
        raise DataError("batch size must be >= 1 and workers >= 0")
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise DataError(
            f"DATA_DIR {root} does not exist or is not a folder; pass a folder with "
            f"one sub-folder of photos per class"
        )
    if not isinstance(model, Classifier):
        check_model_dir_labels(model)
    classifier = model if isinstance(model, Classifier) else load_model(_model_spec(model))
    out_features = head_out_features(classifier.module)
    if out_features is not None and out_features != classifier.num_classes:
        raise ModelError(
            f"model {classifier.spec or model}: {classifier.num_classes} labels but "
            f"the weights' head has {out_features} outputs; fix the labels file"
        )
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


def check_model_dir_labels(path: str | Path) -> None:
    """Refuse a model directory whose labels do not fit its weights' head, naming both counts.

    Reads ``wordcam_model.json`` and the shapes in ``weights.pt`` (memory-mapped, nothing is
    built); anything else that is wrong is left to the model loader's own errors.
    """
    folder = Path(path).expanduser()
    info_path, weights_path = folder / "wordcam_model.json", folder / "weights.pt"
    if not (info_path.is_file() and weights_path.is_file()):
        return
    import json

    import torch

    try:
        labels = json.loads(info_path.read_text(encoding="utf-8"))["labels"]
        state = torch.load(weights_path, weights_only=True, map_location="cpu", mmap=True)
    except Exception:  # noqa: BLE001 - the loader reports unreadable files precisely
        return
    if not isinstance(labels, list) or not isinstance(state, dict):
        return
    heads = [
        k
        for k, v in state.items()
        if isinstance(v, torch.Tensor) and k.endswith("weight") and v.ndim == 2
    ]
    if heads and state[heads[-1]].shape[0] != len(labels):
        raise ModelError(
            f"{folder}: wordcam_model.json lists {len(labels)} labels but the weights' head "
            f"({heads[-1]}) has {state[heads[-1]].shape[0]} outputs; the labels do not belong to "
            f"these weights (restore the labels or retrain)"
        )


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


def resolve_device(device: str = "auto") -> str:
    """``auto`` -> ``cuda`` when a GPU is available, else ``cpu``."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
