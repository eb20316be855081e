"""A small real-photo dataset from Debian's Tux Paint stamps (for checking terms on real photos).

    apt-get download tuxpaint-stamps-default && dpkg-deb -x tuxpaint-stamps-default_*.deb x
    python scripts/tuxpaint_photos.py x/usr/share/tuxpaint/stamps data/tux
    wordcam train data/tux/train --out data/tux_model --val-dir data/tux/val \
        --freeze-backbone --no-augment --epochs 30
    wordcam precompute data/tux/val --db data/tux.duckdb --model data/tux_model \
        --explainer grounded --lang en

Each photo stamp (a real photograph cut out on transparency) of 7 categories is pasted onto a
light 224 px background at a random scale, place and flip: 6 copies per stamp for training,
4 for validation, split by stamp (no stamp in both). Deterministic (seed 0).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

from PIL import Image

CLASSES = {
    "wild birds": "animals/birds",
    "fresh fruit": "food/fruit",
    "garden flowers": "plants/flowers",
    "vegetables": "food/vegetables",
    "cattle": "animals/mammals/bovines",
    "sea fish": "animals/fish",
    "hand tools": "household/tools",
}
SIZE = 224


def paste(stamp: Image.Image, rng: random.Random) -> Image.Image:
    """``stamp`` on a light background at a random scale (55-90% of the side), place, flip."""
    canvas = Image.new("RGB", (SIZE, SIZE), tuple(rng.randint(200, 250) for _ in range(3)))
    scale = rng.uniform(0.55, 0.9) * SIZE / max(stamp.size)
    size = (max(1, int(stamp.width * scale)), max(1, int(stamp.height * scale)))
    cut = stamp.resize(size)
    if rng.random() < 0.5:
        cut = cut.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    where = (rng.randint(0, SIZE - cut.width), rng.randint(0, SIZE - cut.height))
    canvas.paste(cut, where, cut)
    return canvas


def main(stamps: Path, out: Path) -> None:
    rng = random.Random(0)
    for label, folder in CLASSES.items():
        files = sorted((stamps / folder).glob("*.png"))
        rng.shuffle(files)
        n_val = max(3, len(files) * 3 // 10)
        for split, part, copies in (("val", files[:n_val], 4), ("train", files[n_val:], 6)):
            target = out / split / label
            target.mkdir(parents=True, exist_ok=True)
            for path in part:
                stamp = Image.open(path).convert("RGBA")
                for k in range(copies):
                    paste(stamp, rng).save(target / f"{path.stem}_{k}.jpg", quality=92)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
