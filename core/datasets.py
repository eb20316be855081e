"""Labelled photo folders (``DATA_DIR/<class>/...``) and the loaders that decode them.

Scanning checks every file's header up front; decoding runs in DataLoader worker processes
(JPEGs at reduced DCT scale) and a photo that still fails is skipped, never fatal. Training
and evaluation both read their photos through this module.
"""

from __future__ import annotations

import unicodedata
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DataError, ImageError
from core.images import IMAGE_SUFFIXES, MAX_PIXELS, load_image, to_rgb
from core.processes import worker_context

if TYPE_CHECKING:
    from PIL import Image


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
    folders = _class_folders(root, what)
    ignored = sum(1 for p in root.iterdir() if _is_image(p, root))
    names = [class_name(p.name) for p in folders]
    class_list, index = _class_index(names, classes, root, what)
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
        samples, skipped = _drop_unreadable(samples)
        readable = {s.label for s in samples}
        for folder, name in zip(folders, names, strict=True):
            if index[name] not in readable:
                raise DataError(
                    f"class folder {folder} has no readable images "
                    f"({sum(1 for p, _ in skipped if Path(p).parent == folder)} "
                    f"unreadable); replace them or remove the folder"
                )
    return LabelledFolder(root, class_list, samples, skipped, ignored)


def _class_folders(root: Path, what: str) -> list[Path]:
    """The class sub-folders of ``root``, sorted by class name (hidden ones left out)."""
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
    if not folders:
        raise DataError(
            f"{what} {root} has no class folders; put the photos of each class in "
            f"its own sub-folder ({root}/<class>/*.jpg)"
        )
    return folders


def _class_index(
    names: list[str], classes: Sequence[str] | None, root: Path, what: str
) -> tuple[list[str], dict[str, int]]:
    """``(class list, folder name -> class index)``: the given ``classes``, else the folders."""
    if classes is None:
        return names, {n: i for i, n in enumerate(names)}
    known = {class_name(c): i for i, c in enumerate(classes)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise DataError(
            f"{what} {root}: class folder(s) {', '.join(unknown)} are not classes "
            f"of the model ({', '.join(classes)}); rename or remove them"
        )
    return list(classes), {n: known[n] for n in names}


def _drop_unreadable(samples: list[Sample]) -> tuple[list[Sample], list[tuple[str, str]]]:
    """``(readable samples, [(path, why)] of the others)``, headers checked in 8 threads."""
    with ThreadPoolExecutor(max_workers=8) as pool:
        problems = list(pool.map(lambda s: check_image_header(s.path), samples))
    skipped = [(str(s.path), why) for s, why in zip(samples, problems, strict=True) if why]
    return [s for s, why in zip(samples, problems, strict=True) if not why], skipped


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


#: What a decoding worker imports (once, in the server its process is forked from).
WORKER_IMPORTS = (__name__, "torch")


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
    """A DataLoader that decodes in ``workers`` processes and skips unreadable photos.

    The workers start from a clean server process, not as forks of the caller, unless the
    caller is a script of the user's own (:func:`core.processes.worker_context`).
    """
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
        multiprocessing_context=worker_context(WORKER_IMPORTS) if workers > 0 else None,
        prefetch_factor=4 if workers > 0 else None,
        pin_memory=pin_memory,
        generator=generator,
    )
