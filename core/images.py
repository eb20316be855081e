"""Reading photos safely: every valid image becomes RGB, every broken one a one-line error."""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable, Iterator
from pathlib import Path

from core.errors import ImageError

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm"}
)
# Pillow warns above ~89 Mpx and errors above twice that; we refuse anything over this.
MAX_PIXELS = 120_000_000


def load_image(path: str | Path, max_pixels: int = MAX_PIXELS):
    """Open ``path`` as an RGB ``PIL.Image`` with EXIF orientation applied.

    CMYK, 16-bit, palette, greyscale and alpha images are converted to RGB (alpha is
    composited on white). Raises :class:`ImageError` naming the file and the cause for a
    missing, empty, truncated or non-image file, or a decompression bomb.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    p = Path(path)
    if not p.exists():
        raise ImageError(p, "file not found")
    if p.is_dir():
        raise ImageError(p, "is a directory, not an image")
    if p.stat().st_size == 0:
        raise ImageError(p, "empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            # Our own max_pixels check decides; Pillow's warning zone (~89-179 Mpx) is not an
            # error here (Pillow still raises DecompressionBombError above twice its limit).
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(p) as im:
                w, h = im.size
                if w * h > max_pixels:
                    raise ImageError(p, f"image too large ({w}x{h} pixels; limit {max_pixels:,})")
                im.load()
                im = ImageOps.exif_transpose(im) or im
                return to_rgb(im)
    except ImageError:
        raise
    except UnidentifiedImageError:
        raise ImageError(p, "not an image file (format not recognised)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageError(p, f"refused as a decompression bomb ({exc})") from None
    except OSError as exc:
        msg = str(exc) or exc.__class__.__name__
        if "truncated" in msg.lower():
            msg = "truncated or corrupt image data"
        raise ImageError(p, msg) from None
    except (ValueError, SyntaxError) as exc:
        raise ImageError(p, f"corrupt image ({exc})") from None


def to_rgb(image):
    """Convert any PIL mode (CMYK, I;16, P, LA, RGBA ...) to 8-bit RGB."""
    import numpy as np
    from PIL import Image

    mode = image.mode
    if mode == "RGB":
        return image
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(image, dtype=np.float64)
        hi = arr.max() if arr.size else 1.0
        scale = 65535.0 if hi > 255 or mode.startswith("I;16") else 255.0
        arr8 = np.clip(arr / scale * 255.0, 0, 255).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if mode == "F":
        arr = np.asarray(image, dtype=np.float64)
        lo, hi = float(arr.min()), float(arr.max())
        arr8 = ((arr - lo) / ((hi - lo) or 1.0) * 255.0).astype(np.uint8)
        return Image.fromarray(arr8, "L").convert("RGB")
    if mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
        mode = "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    return image.convert("RGB")


def file_sha256(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes (the content hash stored for each photo)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def iter_image_files(root: str | Path) -> Iterator[Path]:
    """All image files below ``root`` (by suffix, case-insensitive), sorted, hidden files skipped."""
    root = Path(root)
    for p in sorted(root.rglob("*")):
        if (
            p.is_file()
            and p.suffix.lower() in IMAGE_SUFFIXES
            and not any(part.startswith(".") for part in p.relative_to(root).parts)
        ):
            yield p


def labelled_images(root: str | Path) -> list[tuple[Path, str | None]]:
    """``(path, label)`` for a dataset folder.

    One sub-folder per class gives each photo its folder's name as label; image files directly
    in ``root`` (a flat folder) get ``None``. Nested folders below a class folder belong to it.
    """
    root = Path(root)
    out: list[tuple[Path, str | None]] = []
    for p in iter_image_files(root):
        rel = p.relative_to(root)
        out.append((p, rel.parts[0] if len(rel.parts) > 1 else None))
    return out


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand a mix of files and folders into a list of image paths (folders recursively)."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            out.extend(iter_image_files(p))
        else:
            out.append(p)
    return out
