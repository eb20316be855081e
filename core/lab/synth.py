"""A planted-cue photo dataset, built only from real photos that ship with installed packages.

Every class ("ward") has its own *planted object* -- a cut-out of a real photo (chelsea's cat
face, coffee's cup, the rocket ...) pasted at a random position and scale into most of its
photos. Distractor cut-outs appear in every class at the same rate, backgrounds are random
crops of textures and photos shared by all classes, and one class can carry a *shortcut cue*
(an orange date imprint in the lower-right corner, like an old film camera's) in its train and
val photos but not in the held-out set. A model trained on it should be explained by the words
that name each class's object -- and, for the shortcut class, by the corner stamp::

    from core.lab.synth import make_cue_dataset
    info = make_cue_dataset("data/cues", n_classes=5, per_class=80)
    # data/cues/{train,val,holdout}/<class>/*.jpg and data/cues/cues.json

Deterministic for a seed (each photo has its own random stream), and fast: a few seconds for
500 photos. Only numpy, Pillow, scikit-image and scikit-learn are used (no torch).
"""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DataError
from core.files import replace_text

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

WARD_NAMES = ["中央区", "千代田区", "新宿区", "江東区", "渋谷区", "港区", "旭川市"]
SPLITS = ("train", "val", "holdout")


@dataclass(frozen=True)
class CutOut:
    """A piece of a real photo that is pasted into synthetic photos.

    ``box`` is (x0, y0, x1, y1) in the source photo's pixels; ``shape`` is the soft mask
    ("ellipse" or "rect"); ``imagenet`` are the ImageNet class indices the offline ImageNet
    model ranks highest on the cut-out alone (recorded with :func:`object_imagenet_labels`).
    """

    name: str
    name_ja: str
    source: str
    box: tuple[int, int, int, int]
    shape: str = "ellipse"
    imagenet: tuple[int, ...] = ()
    imagenet_probs: tuple[float, ...] = ()


# Planted objects, one per class, in class order. ImageNet indices were measured with
# core.load_model("imagenet") on each cut-out (see object_imagenet_labels()).
OBJECTS: list[CutOut] = [
    CutOut("cat", "猫", "skimage:chelsea", (30, 0, 420, 300), "ellipse",
           (285, 282, 281), (0.44, 0.29, 0.19)),
    CutOut("coffee cup", "コーヒーカップ", "skimage:coffee", (75, 5, 490, 395), "rect",
           (967, 968, 925), (0.92, 0.02, 0.01)),
    CutOut("rocket", "ロケット", "skimage:rocket", (230, 60, 420, 427), "rect",
           (657, 744, 557), (0.54, 0.12, 0.03)),
    CutOut("motorcycle", "オートバイ", "skimage:stereo_motorcycle", (90, 70, 690, 460), "rect",
           (665, 535, 670), (0.47, 0.1, 0.1)),
    CutOut("pagoda", "塔", "sklearn:china.jpg", (40, 0, 400, 427), "rect",
           (442, 698, 663), (0.64, 0.14, 0.03)),
    CutOut("tripod", "三脚", "skimage:camera", (180, 80, 440, 512), "rect",
           (872, 889, 593), (0.88, 0.02, 0.02)),
    CutOut("flower", "花", "sklearn:flower.jpg", (120, 40, 500, 427), "rect",
           (985, 309, 108), (0.37, 0.07, 0.03)),
]  # fmt: skip

# Shared by every class at the same rate: they must not tell the classes apart.
DISTRACTORS: list[CutOut] = [
    CutOut("coins", "硬貨", "skimage:coins", (0, 0, 384, 303), "ellipse",
           (574, 506, 855), (0.09, 0.07, 0.05)),
    CutOut("helmet", "ヘルメット", "skimage:astronaut", (270, 280, 512, 512), "rect",
           (560, 907, 966), (0.56, 0.1, 0.07)),
    CutOut("flag", "旗", "skimage:astronaut", (0, 0, 80, 400), "rect",
           (557, 906, 775), (0.65, 0.04, 0.03)),
]  # fmt: skip

#: A background source and the box cut from it (None: the whole photo).
Background = tuple[str, tuple[int, int, int, int] | None]

# Background sources: textures and object-free parts of photos.
BACKGROUNDS: list[Background] = [
    ("skimage:brick", None),
    ("skimage:grass", None),
    ("skimage:gravel", None),
    ("skimage:hubble_deep_field", None),
    ("skimage:immunohistochemistry", None),
    ("sklearn:china.jpg", (380, 0, 640, 230)),  # sky and lake
    ("sklearn:flower.jpg", (0, 0, 150, 427)),  # blurred foliage
]

# Real-photo backgrounds (the planted-cue suite's harder setting): scenes with things in them,
# cut from the bundled photos so that no planted object or distractor is inside.
PHOTO_BACKGROUNDS: list[Background] = [
    ("skimage:astronaut", (80, 0, 350, 280)),  # a face and a space suit (no shuttle, no flag)
    ("skimage:rocket", (0, 0, 230, 427)),  # launch towers at dusk, left of the rocket
    ("skimage:rocket", (460, 0, 640, 427)),  # launch towers, right of the rocket
    ("sklearn:china.jpg", (400, 0, 640, 427)),  # lake, hills and trees beside the pagoda
    ("skimage:camera", (0, 0, 180, 512)),  # the photographer's coat and the sky
]

SHORTCUT = {
    "cue": "date_stamp",
    "description": "orange date imprint in the lower-right corner (like a film camera's)",
    "description_ja": "右下隅のオレンジ色の日付の写し込み",
    "position": "lower-right",
    "present_in": ["train", "val"],
    "absent_from": ["holdout"],
}

# Fraction of the side that a resize-to-256 / centre-crop-224 view cuts off at each edge.
CROP_MARGIN = (1 - 224 / 256) / 2

_SPLIT_CODES = {"train": 0, "val": 1, "holdout": 2}


@cache
def source_photo(source: str) -> np.ndarray:
    """The RGB uint8 array of a bundled photo, ``skimage:NAME`` or ``sklearn:FILE``."""
    import numpy as np

    kind, _, name = source.partition(":")
    if kind == "skimage":
        import skimage.data

        arr = getattr(skimage.data, name)()
        if isinstance(arr, tuple):  # stereo_motorcycle -> (left, right, disparity)
            arr = arr[0]
    elif kind == "sklearn":
        from sklearn.datasets import load_sample_image

        arr = load_sample_image(name)
    else:
        raise ValueError(f"unknown photo source {source!r}")
    arr = np.asarray(arr)
    if arr.dtype == bool:
        arr = arr.astype(np.uint8) * 255
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    return np.ascontiguousarray(arr[..., :3].astype(np.uint8))


@cache
def _cutout_rgba(cut: CutOut) -> Image.Image:
    """The cut-out as RGBA with a feathered mask of its shape."""
    from PIL import Image, ImageDraw, ImageFilter

    photo = Image.fromarray(source_photo(cut.source)).crop(cut.box)
    w, h = photo.size
    mask = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(mask)
    inset = max(2, round(min(w, h) * 0.04))
    if cut.shape == "ellipse":
        draw.ellipse((inset, inset, w - 1 - inset, h - 1 - inset), fill=255)
    else:
        draw.rounded_rectangle(
            (inset, inset, w - 1 - inset, h - 1 - inset), radius=inset * 2, fill=255
        )
    mask = mask.filter(ImageFilter.GaussianBlur(inset * 0.8))
    photo.putalpha(mask)
    return photo


def cutout_image(cut: CutOut, size: int = 224, background: tuple[int, int, int] = (128, 128, 128)):
    """The cut-out alone, composited on a plain background and fitted into ``size`` x ``size``."""
    from PIL import Image

    rgba = _cutout_rgba(cut)
    scale = size / max(rgba.size)
    rgba = rgba.resize(
        (max(1, round(rgba.width * scale)), max(1, round(rgba.height * scale))),
        Image.Resampling.LANCZOS,
    )
    canvas = Image.new("RGB", (size, size), background)
    canvas.paste(rgba, ((size - rgba.width) // 2, (size - rgba.height) // 2), rgba)
    return canvas


def _jitter(image: Image.Image, rng: np.random.Generator, strength: float) -> Image.Image:
    """Random brightness/contrast/saturation change of up to ``strength`` (e.g. 0.2)."""
    from PIL import ImageEnhance

    for enhancer in (ImageEnhance.Brightness, ImageEnhance.Contrast, ImageEnhance.Color):
        image = enhancer(image).enhance(float(rng.uniform(1 - strength, 1 + strength)))
    return image


@cache
def _background_source(source: str, box: tuple[int, int, int, int] | None) -> tuple[Any, bool]:
    """A background photo as a PIL image (cropped to ``box``) and whether it is grey."""
    from PIL import Image

    arr = source_photo(source)
    if box:
        arr = arr[box[1] : box[3], box[0] : box[2]]
    grey = bool((arr[..., 0] == arr[..., 1]).all() and (arr[..., 1] == arr[..., 2]).all())
    image = Image.fromarray(arr)
    if min(image.size) > 400:  # crops of it are resized to ~256 px: keep resizing cheap
        image.thumbnail((400 * image.width // min(image.size),) * 2, Image.Resampling.LANCZOS)
    return image, grey


def _background(
    rng: np.random.Generator, size: int, sources: list[Background] = BACKGROUNDS
) -> tuple[Image.Image, str]:
    """A random crop of a background source, flipped, tinted (grey textures) and jittered."""
    import numpy as np
    from PIL import Image, ImageOps

    source, box = sources[int(rng.integers(len(sources)))]
    photo, grey = _background_source(source, box)
    w, h = photo.size
    side = int(rng.uniform(0.5, 1.0) * min(w, h))
    x0, y0 = int(rng.integers(0, w - side + 1)), int(rng.integers(0, h - side + 1))
    image = photo.resize(
        (size, size), Image.Resampling.BILINEAR, box=(x0, y0, x0 + side, y0 + side)
    )
    if rng.random() < 0.5:
        image = ImageOps.mirror(image)
    if grey:
        tint = rng.uniform(0.6, 1.15, size=3).astype(np.float32)
        arr = np.asarray(image, dtype=np.float32) * tint
        image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return _jitter(image, rng, 0.2), source


def _paste(
    canvas: Image.Image, cut: CutOut, rng: np.random.Generator, scale_range: tuple[float, float]
) -> list[int]:
    """Paste ``cut`` at a random position and scale; return its box (x0, y0, x1, y1).

    The scale is the cut-out's geometric-mean side as a fraction of the canvas side (so thin
    objects like the rocket get as much area as round ones). It lands inside the central
    square a 224/256 centre crop keeps, so the model's view of the photo contains it.
    """
    from PIL import Image, ImageOps

    size = canvas.width
    margin = round(size * CROP_MARGIN)
    room = size - 2 * margin
    rgba = _cutout_rgba(cut)
    mean_side = size * float(rng.uniform(*scale_range))
    scale = min(mean_side / (rgba.width * rgba.height) ** 0.5, 0.95 * room / max(rgba.size))
    piece = rgba.resize(
        (max(4, round(rgba.width * scale)), max(4, round(rgba.height * scale))),
        Image.Resampling.BILINEAR,
    )
    if rng.random() < 0.5:
        piece = ImageOps.mirror(piece)
    alpha = piece.getchannel("A")
    piece = _jitter(piece.convert("RGB"), rng, 0.15)
    x0 = margin + int(rng.integers(0, room - piece.width + 1))
    y0 = margin + int(rng.integers(0, room - piece.height + 1))
    canvas.paste(piece, (x0, y0), alpha)
    return [x0, y0, x0 + piece.width, y0 + piece.height]


def _date_stamp(canvas: Image.Image, rng: np.random.Generator) -> list[int]:
    """Draw an orange film-camera date imprint (random date) in the lower-right corner."""
    from PIL import ImageDraw, ImageFont

    size = canvas.width
    text = (
        f"'{int(rng.integers(95, 100)):02d} {int(rng.integers(1, 13))} {int(rng.integers(1, 29))}"
    )
    font = ImageFont.load_default(size=max(8, round(size * 0.075)))
    draw = ImageDraw.Draw(canvas)
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    margin = round(size * (CROP_MARGIN + 0.02))
    x = size - margin - (right - left) - left
    y = size - margin - (bottom - top) - top
    draw.text((x + 1, y + 1), text, font=font, fill=(90, 30, 0))  # soft shadow
    draw.text((x, y), text, font=font, fill=(255, 150, 30))
    return [x + left, y + top, x + right + 1, y + bottom + 1]


def _imagenet_names() -> dict[str, list[str]]:
    """English/Japanese ImageNet class names from the label files shipped in core.models."""
    folder = Path(__file__).resolve().parents[1] / "models"
    names: dict[str, list[str]] = {}
    for lang in ("en", "ja"):
        path = folder / f"imagenet_labels_{lang}.txt"
        if path.is_file():
            lines = path.read_text(encoding="utf-8").splitlines()
            if len(lines) >= 1000:
                names[lang] = [line.strip() for line in lines[:1000]]
    return names


def _describe(cut: CutOut, names: dict[str, list[str]]) -> dict[str, Any]:
    info: dict[str, Any] = {
        "name": cut.name,
        "name_ja": cut.name_ja,
        "source": cut.source,
        "box": list(cut.box),
        "shape": cut.shape,
    }
    if cut.imagenet:
        info["imagenet_top"] = [
            {"index": i, "prob": p, **{lang: labels[i] for lang, labels in names.items()}}
            for i, p in zip(cut.imagenet, cut.imagenet_probs, strict=True)
        ]
    return info


def object_imagenet_labels(
    top: int = 5, objects: list[CutOut] | None = None, model: Any = None
) -> dict[str, list[tuple[int, str, float]]]:
    """Top ImageNet classes of each cut-out alone: ``{name: [(index, english, prob), ...]}``.

    Uses ``core.load_model("imagenet")`` (or ``model``); this is how the ``imagenet`` indices in
    :data:`OBJECTS` were chosen and checked.
    """
    import numpy as np

    if model is None:
        from core.models import load_model

        model = load_model("imagenet")
    objects = OBJECTS if objects is None else objects
    images = [cutout_image(cut, size=model.preprocess.resize) for cut in objects]
    probs = model.predict_proba(images)
    out: dict[str, list[tuple[int, str, float]]] = {}
    for cut, p in zip(objects, probs, strict=True):
        order = np.argsort(-p)[:top]
        out[cut.name] = [(int(i), model.labels[int(i)], float(p[i])) for i in order]
    return out


def _resolve_shortcut(shortcut_class: bool | int | str | None, classes: list[str]) -> int | None:
    if shortcut_class is None or shortcut_class is False:
        return None
    if shortcut_class is True:
        return len(classes) - 1
    if isinstance(shortcut_class, int):
        if not 0 <= shortcut_class < len(classes):
            raise DataError(
                f"shortcut_class {shortcut_class} is out of range 0..{len(classes) - 1}"
            )
        return shortcut_class
    if shortcut_class not in classes:
        raise DataError(f"shortcut_class {shortcut_class!r} is not one of {classes}")
    return classes.index(shortcut_class)


def _prepare_out_dir(out: Path) -> None:
    """Remove a previous dataset written here; refuse to touch folders we did not write."""
    ours = (out / "cues.json").is_file()
    for split in SPLITS:
        folder = out / split
        if folder.exists():
            if not ours:
                raise DataError(
                    f"{folder} already exists and {out} has no cues.json; choose an empty "
                    f"folder for the synthetic dataset"
                )
            shutil.rmtree(folder)


def make_cue_dataset(
    out_dir: str | Path,
    n_classes: int = 5,
    per_class: int = 80,
    holdout_per_class: int = 20,
    image_size: int = 256,
    seed: int = 0,
    shortcut_class: bool | int | str | None = True,
    val_per_class: int = 20,
    object_rate: float = 0.85,
    distractor_rate: float = 0.3,
    object_scale: tuple[float, float] = (0.25, 0.45),
    distractor_scale: tuple[float, float] = (0.15, 0.3),
    jpeg_quality: int = 90,
    backgrounds: list[Background] | None = None,
) -> dict[str, Any]:
    """Write the planted-cue dataset to ``out_dir`` and return a summary.

    Layout: ``train/<class>/NNNN.jpg`` (``per_class`` each), ``val/<class>/`` (``val_per_class``),
    ``holdout/<class>/`` (``holdout_per_class``; the shortcut cue is absent) and ``cues.json``
    (per class: its planted object with source photo, crop box and top ImageNet labels; the
    shortcut; per photo: which cut-outs were pasted where). ``shortcut_class`` is True (the
    last class), a class index or name, or False/None for no shortcut. ``backgrounds`` are
    the background sources (default :data:`BACKGROUNDS`; :data:`PHOTO_BACKGROUNDS` for scenes).
    """
    import numpy as np

    if not 2 <= n_classes <= len(OBJECTS):
        raise DataError(f"n_classes must be between 2 and {len(OBJECTS)} (got {n_classes})")
    if min(per_class, val_per_class, holdout_per_class) < 0 or per_class < 1:
        raise DataError("per_class must be >= 1 and the val/holdout counts >= 0")
    if image_size < 32:
        raise DataError(f"image_size must be at least 32 pixels (got {image_size})")
    started = time.perf_counter()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _prepare_out_dir(out)
    classes = WARD_NAMES[:n_classes]
    shortcut_index = _resolve_shortcut(shortcut_class, classes)
    counts = {"train": per_class, "val": val_per_class, "holdout": holdout_per_class}
    sources = BACKGROUNDS if backgrounds is None else list(backgrounds)
    if not sources:
        raise DataError("backgrounds must name at least one background source")

    plan = _Planting(
        object_rate, distractor_rate, tuple(object_scale), tuple(distractor_scale), shortcut_index
    )
    records: list[dict[str, Any]] = []
    for split in SPLITS:
        for ci, cls in enumerate(classes):
            folder = out / split / cls
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(counts[split]):
                rng = np.random.default_rng([seed, _SPLIT_CODES[split], ci, i])
                canvas, background = _background(rng, image_size, sources)
                record = _plant(canvas, rng, plan, ci, split)
                record = {"file": f"{split}/{cls}/{i:04d}.jpg", "split": split, "label": cls,
                          "background": background, **record}  # fmt: skip
                canvas.save(out / record["file"], quality=jpeg_quality)
                records.append(record)

    cues = {
        "format": "wordcam-cues/1",
        "seed": seed,
        "image_size": image_size,
        "counts": counts,
        **_cue_description(classes, plan, sources),
        "images": records,
    }
    cues_path = out / "cues.json"
    replace_text(cues_path, json.dumps(cues, ensure_ascii=False, indent=1))
    return {
        "out_dir": str(out),
        "classes": classes,
        "counts": counts,
        "images": len(records),
        "shortcut_class": classes[shortcut_index] if shortcut_index is not None else None,
        "cues": str(cues_path),
        "seconds": round(time.perf_counter() - started, 3),
    }


@dataclass(frozen=True)
class _Planting:
    """How often and how large objects are pasted, and which class carries the shortcut."""

    object_rate: float
    distractor_rate: float
    object_scale: tuple[float, float]
    distractor_scale: tuple[float, float]
    shortcut_index: int | None


def _plant(canvas: Any, rng: Any, plan: _Planting, ci: int, split: str) -> dict[str, Any]:
    """Paste one photo's distractors, class object and shortcut; what went where."""
    record: dict[str, Any] = {"distractors": [], "object": None, "shortcut": None}
    for cut in DISTRACTORS:
        if rng.random() < plan.distractor_rate:
            box = _paste(canvas, cut, rng, plan.distractor_scale)
            record["distractors"].append({"name": cut.name, "box": box})
    if rng.random() < plan.object_rate:
        box = _paste(canvas, OBJECTS[ci], rng, plan.object_scale)
        record["object"] = {"name": OBJECTS[ci].name, "box": box}
    if ci == plan.shortcut_index and split in SHORTCUT["present_in"]:
        record["shortcut"] = {"cue": SHORTCUT["cue"], "box": _date_stamp(canvas, rng)}
    return record


def _cue_description(classes: list[str], plan: _Planting, sources: list) -> dict[str, Any]:
    """``cues.json``'s rates, classes with their objects, distractors, backgrounds, shortcut."""
    names = _imagenet_names()
    shortcut = plan.shortcut_index
    return {
        "object_rate": plan.object_rate,
        "object_scale": list(plan.object_scale),
        "distractor_rate": plan.distractor_rate,
        "distractor_scale": list(plan.distractor_scale),
        "classes": [
            {
                "name": cls,
                "object": _describe(OBJECTS[ci], names),
                "shortcut": SHORTCUT["cue"] if ci == shortcut else None,
            }
            for ci, cls in enumerate(classes)
        ],
        "distractors": [_describe(cut, names) for cut in DISTRACTORS],
        "backgrounds": [{"source": s, "box": list(b) if b else None} for s, b in sources],
        "shortcut": {"class": classes[shortcut], **SHORTCUT} if shortcut is not None else None,
    }
