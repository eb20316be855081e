"""One batch of (word, test, photo) items -> the model's probabilities before, changed, control.

Each item changes the word's regions (the union of their boxes) as its test says
(:mod:`core.verify.changes`: hide, colour, move) and makes the same change to a fair control
area (:func:`core.verify.geometry.fair_control`); the original view is run once per photo. All
inputs of a batch go through the model together. Photos that cannot be read become an error
line and are left out (their word is measured on the others); a photo without a fair control
(or, for the colour test, without colour in the word's regions) is kept as a *skipped* row
with its reason: it does not count, and a resumed run does not try it again.
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
from core.store.nofollow import open_no_follow
from core.verify.changes import GREY_CHROMA, MOVE_FILL, chroma, decolour, moved
from core.verify.fill import hide
from core.verify.geometry import (
    COLOUR_MIN_HEAT,
    NoControl,
    boxes_mask,
    displacement,
    fair_control,
    fair_controls,
)
from core.verify.photos import Photo, load_photo, region_boxes
from core.verify.sampling import Candidate
from core.verify.stats import word_seed

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from core.models.base import Classifier, Preprocessing
    from core.verify.geometry import Control, Region
    from core.verify.model import RunModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Item:
    """One photo to measure for one (class, word, test)."""

    cls: str
    word: str
    photo: Candidate
    test: str = "hide"


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
            path, regions = self.records.get(image_id, ("", {}))
            try:
                self._photos[image_id] = load_photo(
                    image_id, path, regions, self.model, self.run.method, self.run.layer
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

        inputs, plans, rows = [], [], []
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
            if "skipped" in plan:
                rows.append(_skipped(item, plan["skipped"]))
                continue
            if photo.image_id not in originals:
                originals[photo.image_id] = len(inputs)
                inputs.append(self.model.preprocess.to_tensor(photo.view))
            plan["at"] = len(inputs)
            inputs += [plan.pop("hidden_x"), plan.pop("control_x")]
            plans.append((item, photo, plan))
        probs = probabilities(self.model, inputs) if inputs else np.zeros((0, 0))
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
                    test=item.test,
                    **self._save(item, photo, plan),
                )
            )
        return rows

    def _plan(self, item: Item, photo: Photo) -> dict:
        """The two changed inputs of one item, or ``{"skipped": reason}`` when it cannot count."""
        seed = word_seed(self.seed, item.cls, f"{item.word}\x1f{item.test}") ^ photo.image_id
        mask = boxes_mask(region_boxes(photo, item.photo.regions, item.word), photo.view.size)
        if item.test != "hide" and not item.photo.localized:
            return {"skipped": "the explainer did not say which region the word is about"}
        regions = list(photo.regions.values())
        return plan_change(
            photo.view,
            mask,
            item.test,
            regions,
            item.photo.regions,
            fill=self.fill,
            preprocess=self.model.preprocess,
            seed=seed,
        )

    def _save(self, item: Item, photo: Photo, plan: dict) -> dict:
        """The plan's numbers, and its two pictures written (when a folder is set)."""
        hidden_pic, control_pic = plan.pop("pictures")
        plan.pop("control", None)  # the Control itself (its mask and heat) is not stored
        paths: dict[str, str | None] = {"hidden_path": None, "control_path": None}
        if self.pictures is not None:
            ident = f"{self.key}\x1f{item.cls}\x1f{item.word}\x1f{item.test}"
            digest = hashlib.sha1(ident.encode()).hexdigest()
            for name, picture in (("hidden", hidden_pic), ("control", control_pic)):
                path = self.pictures / f"{photo.image_id}-{digest[:12]}-{name}.jpg"
                with open_no_follow(path, "wb", new=True) as fh:  # never through a link
                    picture.save(fh, "JPEG", quality=85)
                paths[f"{name}_path"] = str(path.resolve())
        return {**plan, **paths}


def _skipped(item: Item, reason: str) -> PhotoEffect:
    """The row of a photo that does not count for the word-test (no probabilities)."""
    return PhotoEffect(
        cls=item.cls,
        word=item.word,
        image_id=item.photo.image_id,
        regions=list(item.photo.regions),
        localized=item.photo.localized,
        p_before=None,
        p_hidden=None,
        p_control=None,
        hidden_share=None,
        control_kind=None,
        control_overlap=None,
        test=item.test,
        skipped=reason,
    )


def _movable(
    mask: np.ndarray,
    control: Control,
    regions: Sequence[Region],
    word_regions: Sequence[int],
    seed: int,
) -> tuple[Control, tuple[int, int] | None]:
    """The control and the move of the move test: the best fair control when a displacement
    takes it and the word's area to free places, else the closest fair control that has
    one (the choice depends on the geometry only, never on the model's answer)."""
    import numpy as np

    move = displacement(mask, control.mask, np.random.default_rng(seed))
    if move is not None:
        return control, move
    others = fair_controls(mask, regions, word_regions)
    for other in [] if isinstance(others, NoControl) else others:
        move = displacement(mask, other.mask, np.random.default_rng(seed))
        if move is not None:
            return other, move
    return control, None


def plan_change(
    view: Image.Image,
    mask: np.ndarray,
    test: str,
    regions: Sequence[Region],
    word_regions: Sequence[int],
    *,
    fill: str,
    preprocess: Preprocessing,
    seed: int,
) -> dict:
    """One test's two changed inputs (the word's area, its fair control) and pictures, or
    ``{"skipped": reason}`` when the photo cannot count (no fair control, nothing to change)."""

    value = chroma(view) if test == "colour" else None
    if value is not None and mask.any() and float(value[mask].mean()) < GREY_CHROMA:
        return {"skipped": "the word's regions are grey: no colour to take away"}
    min_heat = COLOUR_MIN_HEAT if test == "colour" else 0.0
    control = fair_control(mask, regions, word_regions, value, min_heat)
    if isinstance(control, NoControl):
        return {"skipped": control.reason}
    pp = preprocess
    if test == "colour":
        pictures = (decolour(view, mask), decolour(view, control.mask))
        changed_x, control_x = (pp.to_tensor(p) for p in pictures)
    elif test == "move":
        control, move = _movable(mask, control, regions, word_regions, seed)
        if move is None:
            return {"skipped": "no free place to move the word's regions to"}
        changed_x, changed_pic = moved(view, mask, *move, MOVE_FILL, pp, seed=seed)
        control_x, control_pic = moved(view, control.mask, *move, MOVE_FILL, pp, seed + 1)
        pictures = (changed_pic, control_pic)
    else:
        changed_x, changed_pic = hide(view, mask, fill, pp, seed=seed)
        control_x, control_pic = hide(view, control.mask, fill, pp, seed=seed + 1)
        pictures = (changed_pic, control_pic)
    return {
        "hidden_x": changed_x,
        "control_x": control_x,
        "pictures": pictures,
        "hidden_share": round(float(mask.mean()), 4),
        "control_kind": control.kind,
        "control": control,
        "control_overlap": control.overlap,
        "fallback": False,
    }
