"""A photo as the model saw it, and the boxes of its heat regions.

The regions are the bounding boxes the explainer stored in ``explanations.details["regions"]``
(``index`` and ``bbox``, in the model's view: the centre crop the CAM is aligned with), which
the grounded explainer and the numbered-marks mode of ``openai:`` write. Using them, rather
than recomputing the CAM, hides exactly the regions the words were said about, costs no
backward pass, and cannot drift from what the explainer saw. A run whose details carry no
boxes (``openai:`` in pair or panel mode) gets them recomputed once per photo with the run's
model, method and layer (:func:`core.attribution.attribute_batch` and
:func:`core.regions.find_regions` with the settings the marks mode uses).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.errors import DataError
from core.verify.geometry import Region

if TYPE_CHECKING:
    import duckdb
    from PIL import Image

    from core.models.base import Classifier


@dataclass
class Photo:
    """One stored photo: its view (the model's input crop) and its heat regions by index."""

    image_id: int
    path: str
    view: Image.Image
    regions: dict[int, Region]

    @property
    def boxes(self) -> dict[int, tuple[int, int, int, int]]:
        return {i: r.box for i, r in self.regions.items()}


def stored_regions(details: Any) -> dict[int, Region]:
    """``{index: Region}`` (box, and ``heat_share`` when stored) of an explanation's details."""
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            return {}
    regions = (details or {}).get("regions") if isinstance(details, dict) else None
    out = {}
    for r in regions or []:
        try:
            box = tuple(int(v) for v in r["bbox"])[:4]
            heat = r.get("heat_share")
            index = int(r["index"])
            out[index] = Region(index, box, None if heat is None else float(heat))  # type: ignore[arg-type]
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return out


def stored_boxes(details: Any) -> dict[int, tuple[int, int, int, int]]:
    """``{index: bbox}`` of the regions in an explanation's details ({} when none)."""
    return {i: r.box for i, r in stored_regions(details).items()}


def photo_records(
    con: duckdb.DuckDBPyConnection, run_id: int, image_ids: list[int]
) -> dict[int, tuple[str, dict[int, Region]]]:
    """``{image_id: (path, stored regions)}`` of the given photos."""
    from core.store.verify_inputs import photo_details

    rows = photo_details(con, run_id, image_ids)
    return {int(i): (p, stored_regions(d)) for i, p, d in rows}


def load_photo(
    image_id: int,
    path: str,
    regions: dict[int, Region],
    model: Classifier,
    method: str,
    layer: str | None,
) -> Photo:
    """The photo's view and regions (recomputed from its CAM when the details had none)."""
    from core.images import load_image

    view = model.preprocess.crop(load_image(path))
    if not regions:
        regions = recomputed_regions(model, view, method, layer)
    return Photo(image_id, path, view, regions)


def recomputed_regions(model: Classifier, view: Image.Image, method: str, layer: str | None):
    """Regions (box, heat share) of the predicted class's CAM, as the marks mode numbers them."""
    import torch

    from core.attribution import attribute_batch
    from core.regions import find_regions

    batch = torch.stack([model.preprocess.to_tensor(view)])
    result = attribute_batch(model, batch, method=method, layer=layer, top_k=1)
    found = find_regions(result.maps[0][0], max_regions=5)
    return {r.index: Region(r.index, tuple(r.bbox), float(r.heat_share)) for r in found}


def region_boxes(photo: Photo, regions: tuple[int, ...], word: str) -> list[tuple[int, ...]]:
    """The boxes of the word's regions; a clear error when the photo lacks one of them."""
    missing = [r for r in regions if r not in photo.regions]
    if missing:
        raise DataError(
            f"photo {photo.path}: the word {word!r} names region(s) "
            f"{', '.join(map(str, missing))}, which its explanation does not describe"
        )
    return [photo.regions[r].box for r in regions]
