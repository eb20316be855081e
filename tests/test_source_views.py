"""The grounded explainer cuts its views from the photo itself when the photo is larger.

The model classifies a 224-px view; on a 4000-px photo that view keeps a fraction of the pixels
the crop model could name the region from. The request carries the photo and where the view
lies in it (:meth:`Preprocessing.view_box`); from :data:`SOURCE_MIN_SCALE` times the view's
pixels per side the views are cut from the photo. Below it (the demo's 256-px photos) nothing
changes: the views are the old ones, pixel for pixel.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from test_grounded import blob

from core.explainers.base import ExplainRequest
from core.explainers.grounded import (
    SOURCE_MIN_SCALE,
    Source,
    region_views,
    sharper_source,
    source_view,
)
from core.models.base import Preprocessing
from core.regions import find_regions


def _checkerboard(w: int, h: int, cell: int = 1) -> Image.Image:
    """Black and white squares of ``cell`` pixels: detail that only full resolution keeps."""
    yy, xx = np.mgrid[0:h, 0:w] // cell
    board = ((xx + yy) % 2 * 255).astype(np.uint8)
    return Image.fromarray(np.stack([board] * 3, axis=-1))


@pytest.mark.parametrize("size", [(256, 256), (512, 384), (384, 1200), (4000, 3000)])
def test_view_box_is_where_the_view_lies_in_the_photo(size):
    pre = Preprocessing()
    w, h = size
    # smooth content, so that resampling differences stay small
    photo = Image.fromarray(
        (np.add.outer(np.linspace(0, 200, h), np.linspace(0, 55, w))[..., None] * [1, 0.5, 0.2])
        .astype(np.uint8)
        .clip(0, 255)
    )
    x0, y0, x1, y1 = pre.view_box(photo.size)
    assert 0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h
    assert (x1 - x0) == pytest.approx(y1 - y0, rel=0.01)  # a square view of a square box
    again = photo.resize((224, 224), Image.Resampling.BILINEAR, box=(x0, y0, x1, y1))
    diff = np.abs(np.asarray(again, np.float64) - np.asarray(pre.crop(photo), np.float64))
    assert diff.mean() < 2.0


def test_a_256_px_photo_keeps_the_old_views_exactly():
    pre = Preprocessing()
    photo = _checkerboard(256, 256)
    view = pre.crop(photo)
    request = ExplainRequest(view, np.zeros((224, 224), np.float32), [], None, "")
    request.source = (photo, pre.view_box(photo.size))
    assert pre.view_box(photo.size) == (16.0, 16.0, 240.0, 240.0)
    assert sharper_source(request, view.size) is None  # the same pixels: the old path


def test_a_large_photo_gives_views_with_the_detail_the_model_view_lost():
    pre = Preprocessing()
    photo = _checkerboard(1024, 1024, cell=3)  # 4.6 times the view per side
    view = pre.crop(photo)
    cam = blob(224, 112, 112, 12)
    (region,) = find_regions(cam, max_regions=4)
    request = ExplainRequest(view, cam, [], None, "")
    request.source = (photo, pre.view_box(photo.size))
    source = sharper_source(request, view.size)
    assert source is not None and SOURCE_MIN_SCALE <= 4.6
    old = region_views(view, cam, region)
    new = region_views(view, cam, region, source=source)
    assert [v.size[0] for v in new] > [v.size[0] for v in old]  # more pixels, at most 224
    assert max(v.size[0] for v in new) <= 224
    tight_old, tight_new = (np.asarray(v.convert("L"), np.float64) for v in (old[0], new[0]))
    assert tight_new.std() > 3 * tight_old.std()  # the checkerboard survives; the view's is grey


def test_a_blurred_source_view_is_sharp_where_hot_and_blurred_elsewhere():
    pre = Preprocessing()
    photo = _checkerboard(896, 896, cell=4)
    cam = blob(224, 112, 112, 10)
    box = (62, 62, 162, 162)  # 100 view pixels around the peak, 400 photo pixels
    source = Source(photo, pre.view_box(photo.size))
    view = source_view(source, (224, 224), cam, box, blur=True)
    assert view.size == (224, 224)  # 400 photo pixels kept at the crop model's 224
    arr = np.asarray(view.convert("L"), np.float64)
    n = view.size[0]
    centre = arr[n // 2 - 8 : n // 2 + 8, n // 2 - 8 : n // 2 + 8]
    corner = arr[:16, :16]
    assert centre.std() > 60  # still a checkerboard where the map is hot
    assert corner.std() < centre.std() / 4  # grey where it is cold


def test_the_pipeline_hands_the_explainer_the_decoded_photo(tmp_path):
    pytest.importorskip("torchvision")
    from core.pipeline import explain_loaded
    from tests.test_explain_cli import tiny_classifier

    seen = []

    class Recorder:
        lang = "en"

        def explain_batch(self, requests):
            from core.explainers.base import Explanation

            seen.extend(requests)
            return [Explanation(text="ok") for _ in requests]

    photo = Image.new("RGB", (600, 400), (10, 200, 30))
    grey = Image.new("L", (600, 400), 90)
    explain_loaded(tiny_classifier(), Recorder(), [photo, grey], top_k=1)
    first, second = seen
    assert first.source is not None and first.source[0] is photo
    x0, y0, x1, y1 = first.source[1]  # resize 72 on the short side, centre 64: 108 x 72
    assert (x1 - x0, y1 - y0) == pytest.approx((64 * 600 / 108, 64 * 400 / 72))
    assert second.source is None  # not RGB: the views come from the model's view as before
