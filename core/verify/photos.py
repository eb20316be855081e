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

if TYPE_CHECKING:
    import duckdb
    from PIL import Image

    from core.models.base import Classifier


@dataclass
class Photo:
    """One stored photo: its view (the model's input crop) and region boxes by index."""

    image_id: int
    path: str
    view: Image.Image
    boxes: dict[int, tuple[int, int, int, int]]


def stored_boxes(details: Any) -> dict[int, tuple[int, int, int, int]]:
    """``{index: bbox}`` of the regions in an explanation's details ({} when none)."""
    if isinstance(details, str):
        try:
            details = json.loads(details)
        except ValueError:
            return {}
    regions = (details or {}).get("regions") if isinstance(details, dict) else None
    out = {}
    for r in regions or []:
        try:
            out[int(r["index"])] = tuple(int(v) for v in r["bbox"])[:4]
        except (KeyError, TypeError, ValueError):
            continue
    return out


def photo_records(
    con: duckdb.DuckDBPyConnection, run_id: int, image_ids: list[int]
) -> dict[int, tuple[str, dict[int, tuple[int, int, int, int]]]]:
    """``{image_id: (path, stored boxes)}`` of the given photos."""
    from core.store.verify_inputs import photo_details

    rows = photo_details(con, run_id, image_ids)
    return {int(i): (p, stored_boxes(d)) for i, p, d in rows}


def load_photo(
    image_id: int,
    path: str,
    boxes: dict[int, tuple[int, int, int, int]],
    model: Classifier,
    method: str,
    layer: str | None,
) -> Photo:
    """The photo's view and boxes (recomputed from its CAM when the details had none)."""
    from core.images import load_image

    view = model.preprocess.crop(load_image(path))
    if not boxes:
        boxes = recomputed_boxes(model, view, method, layer)
    return Photo(image_id, path, view, boxes)


def recomputed_boxes(model: Classifier, view: Image.Image, method: str, layer: str | None):
    """Region boxes of the predicted class's CAM, as the marks mode numbers them."""
    import torch

    from core.attribution import attribute_batch
    from core.regions import find_regions

    batch = torch.stack([model.preprocess.to_tensor(view)])
    result = attribute_batch(model, batch, method=method, layer=layer, top_k=1)
    return {r.index: r.bbox for r in find_regions(result.maps[0][0], max_regions=5)}


def region_boxes(photo: Photo, regions: tuple[int, ...], word: str) -> list[tuple[int, ...]]:
    """The boxes of the word's regions; a clear error when the photo lacks one of them."""
    missing = [r for r in regions if r not in photo.boxes]
    if missing:
        raise DataError(
            f"photo {photo.path}: the word {word!r} names region(s) "
            f"{', '.join(map(str, missing))}, which its explanation does not describe"
        )
    return [photo.boxes[r] for r in regions]
