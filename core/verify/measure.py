"""One batch of (word, photo) items -> the model's probabilities before, hidden and control.

Each item hides the word's regions (the union of their boxes) with the fill, and a control of
the same area elsewhere (:func:`core.verify.geometry.control_mask`); the original view is run
once per photo. All inputs of a batch go through the model together. Photos that cannot be
read become an error line and are left out (their word is measured on the others).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import WordcamError
from core.store.effects import PhotoEffect
from core.verify.fill import hide
from core.verify.geometry import boxes_mask, control_mask
from core.verify.photos import Photo, load_photo, region_boxes
from core.verify.sampling import Candidate
from core.verify.stats import word_seed

if TYPE_CHECKING:
    from core.models.base import Classifier
    from core.verify.model import RunModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    """One photo to measure for one (class, word)."""

    cls: str
    word: str
    photo: Candidate


@dataclass
class Measurer:
    """Measures batches of items with the run's loaded model (photos cached per session)."""

    model: Classifier
    run: RunModel
    seed: int
    fill: str
    key: str
    records: dict[int, tuple[str, dict]]
    pictures: Path | None = None
    errors: list[str] = field(default_factory=list)
    _photos: dict[int, Photo | None] = field(default_factory=dict)

    def photo(self, image_id: int) -> Photo | None:
        if image_id not in self._photos:
            path, boxes = self.records.get(image_id, ("", {}))
            try:
                self._photos[image_id] = load_photo(
                    image_id, path, boxes, self.model, self.run.method, self.run.layer
                )
            except (WordcamError, OSError) as exc:
                self.errors.append(f"photo {path or image_id}: {exc}")
                self._photos[image_id] = None
            if len(self._photos) > 256:  # keep the cache small: drop the oldest
                self._photos.pop(next(iter(self._photos)))
        return self._photos[image_id]

    def measure(self, items: Sequence[Item]) -> list[PhotoEffect]:
        """The rows of ``items`` (one per item whose photo could be read)."""
        import numpy as np

        from core.verify.model import probabilities

        inputs, plans = [], []
        originals: dict[int, int] = {}
        for item in items:
            photo = self.photo(item.photo.image_id)
            if photo is None:
                continue
            try:
                plan = self._plan(item, photo)
            except WordcamError as exc:
                self.errors.append(str(exc))
                continue
            if photo.image_id not in originals:
                originals[photo.image_id] = len(inputs)
                inputs.append(self.model.preprocess.to_tensor(photo.view))
            plan["at"] = len(inputs)
            inputs += [plan.pop("hidden_x"), plan.pop("control_x")]
            plans.append((item, photo, plan))
        probs = probabilities(self.model, inputs) if inputs else np.zeros((0, 0))
        rows = []
        for item, photo, plan in plans:
            k = self.run.labels.index(item.cls)
            at = plan.pop("at")
            rows.append(
                PhotoEffect(
                    cls=item.cls,
                    word=item.word,
                    image_id=photo.image_id,
                    regions=list(item.photo.regions),
                    localized=item.photo.localized,
                    p_before=float(probs[originals[photo.image_id], k]),
                    p_hidden=float(probs[at, k]),
                    p_control=float(probs[at + 1, k]),
                    **self._save(item, photo, plan),
                )
            )
        return rows

    def _plan(self, item: Item, photo: Photo) -> dict:
        import numpy as np

        seed = word_seed(self.seed, item.cls, item.word) ^ photo.image_id
        boxes = region_boxes(photo, item.photo.regions, item.word)
        mask = boxes_mask(boxes, photo.view.size)
        control = control_mask(mask, np.random.default_rng(seed))
        pp = self.model.preprocess
        hidden_x, hidden_pic = hide(photo.view, mask, self.fill, pp, seed=seed)
        control_x, control_pic = hide(photo.view, control.mask, self.fill, pp, seed=seed + 1)
        return {
            "hidden_x": hidden_x,
            "control_x": control_x,
            "pictures": (hidden_pic, control_pic),
            "hidden_share": round(float(mask.mean()), 4),
            "control_kind": control.kind,
            "control_overlap": control.overlap,
            "fallback": control.fallback,
        }

    def _save(self, item: Item, photo: Photo, plan: dict) -> dict:
        """The plan's numbers, and its two pictures written (when a folder is set)."""
        hidden_pic, control_pic = plan.pop("pictures")
        paths: dict[str, str | None] = {"hidden_path": None, "control_path": None}
        if self.pictures is not None:
            digest = hashlib.sha1(f"{self.key}\x1f{item.cls}\x1f{item.word}".encode()).hexdigest()
            for name, picture in (("hidden", hidden_pic), ("control", control_pic)):
                path = self.pictures / f"{photo.image_id}-{digest[:12]}-{name}.jpg"
                picture.save(path, quality=85)
                paths[f"{name}_path"] = str(path.resolve())
        return {**plan, **paths}
