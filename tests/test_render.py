"""Heat regions on synthetic maps and the pictures drawn from them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from core import render
from core.regions import Region, find_regions, position_key, position_name


def gaussian(
    shape: tuple[int, int], cx: float, cy: float, sigma: float, amp: float = 1.0
) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return amp * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2.0 * sigma**2))


def two_blobs() -> np.ndarray:
    # A strong blob at the top centre, a weaker one at the lower left.
    cam = gaussian((224, 224), 112, 30, 15) + gaussian((224, 224), 40, 185, 15, 0.6)
    return (cam / cam.max()).astype(np.float32)


def test_two_blobs_give_two_regions_with_shares_and_positions():
    cam = two_blobs()
    regions = find_regions(cam)
    assert [r.index for r in regions] == [1, 2]
    first, second = regions
    assert first.position == "upper-center" and second.position == "lower-left"
    assert abs(first.centroid[0] - 112.5) < 1.5 and abs(first.centroid[1] - 30.5) < 1.5
    assert first.bbox[0] < 112 < first.bbox[2] and first.bbox[1] < 30 < first.bbox[3]
    # Shares: each region holds the heat above 0.4 x max inside it; the weaker blob has its
    # lower peak, so a smaller hot area and much less heat.
    total = float(cam.sum())
    inside = float(cam[first.bbox[1] : first.bbox[3], first.bbox[0] : first.bbox[2]].sum())
    assert 0.3 < first.heat_share < inside / total + 1e-6
    assert 0.05 < second.heat_share < first.heat_share
    assert first.heat_share + second.heat_share <= 1.0
    assert first.area > second.area > 0
    assert second.peak == pytest.approx(0.6, abs=0.01)


def test_merged_blob_with_shallow_saddle_is_one_region_deep_saddle_two():
    shallow = gaussian((224, 224), 100, 112, 12) + gaussian((224, 224), 130, 112, 12)
    assert len(find_regions(shallow / shallow.max())) == 1
    deep = gaussian((224, 224), 90, 112, 12) + gaussian((224, 224), 140, 112, 12)
    regions = find_regions(deep / deep.max())
    assert len(regions) == 2
    assert regions[0].heat_share == pytest.approx(regions[1].heat_share, rel=0.05)


def test_edge_cases_and_limits():
    assert find_regions(np.zeros((8, 8))) == []
    assert find_regions(np.full((8, 8), np.nan)) == []
    (whole,) = find_regions(np.ones((9, 9)))
    assert whole.bbox == (0, 0, 9, 9) and whole.heat_share == pytest.approx(1.0)
    assert whole.position == "middle-center"
    many = sum(gaussian((200, 200), x, y, 6) for x in (30, 100, 170) for y in (30, 100, 170))
    assert len(find_regions(many, max_regions=3)) == 3
    with pytest.raises(ValueError):
        find_regions(np.ones((2, 2, 2)))


def test_position_names():
    assert position_name("upper-center", "ja") == "上部中央"
    assert position_name("upper-center", "en") == "upper centre"
    assert position_name("lower-right", "ja") == "右下"
    assert position_name("middle-center", "en") == "centre"
    assert position_key(0, 0, 90, 90) == "upper-left"
    assert position_key(89, 45, 90, 90) == "middle-right"
    with pytest.raises(ValueError):
        position_name("nowhere", "ja")
    data = find_regions(two_blobs())[0].to_dict()
    assert data["position"] == "upper-center" and isinstance(data["bbox"], list)


def test_jet_table_and_overlay():
    table = render.jet_table()
    assert table.shape == (256, 3) and table.dtype == np.uint8
    assert tuple(table[0]) == (0, 0, 128) and tuple(table[-1]) == (128, 0, 0)
    image = Image.new("RGB", (120, 80), (100, 100, 100))
    cam = np.zeros((7, 7), np.float32)
    cam[3, 3] = 1.0
    out = render.overlay(image, cam, alpha=0.5)
    assert out.size == (120, 80) and out.mode == "RGB"
    arr = np.asarray(out).astype(int)
    # Cold corner: grey blended with dark blue; hot centre: grey blended with dark red.
    assert arr[0, 0, 2] > arr[0, 0, 0]
    assert arr[40, 60, 0] > arr[40, 60, 2]
    assert np.array_equal(np.asarray(render.overlay(image, cam, alpha=0.0)), np.asarray(image))


def test_panel_marks_thumbnail_sizes_and_determinism():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (224, 300, 3), dtype=np.uint8))
    cam = render.resize_cam(two_blobs(), image.size)
    panel = render.panel(image, cam)
    assert panel.size == (2 * 300 + render.PANEL_GAP, 224) and panel.mode == "RGB"
    assert np.array_equal(np.asarray(panel)[:, :300], np.asarray(image))

    plain = render.overlay(image, cam)
    marks = render.marks_overlay(image, cam)
    assert marks.size == image.size and marks.mode == "RGB"
    regions = find_regions(cam)
    for region in regions:
        x0, y0, x1, y1 = region.bbox
        colour = render.MARK_COLOURS[region.index - 1]
        # The outline is drawn in the region's colour on the box's right edge...
        edge = np.asarray(marks)[(y0 + y1) // 2, x1 - 2]
        assert tuple(edge) == colour
    # ...and the pictures differ only where marks were drawn.
    diff = np.any(np.asarray(marks) != np.asarray(plain), axis=2)
    assert 0 < diff.mean() < 0.25
    again = render.marks_overlay(image, cam)
    assert _png(marks) == _png(again)

    thumb = render.thumbnail(image, 100)
    assert max(thumb.size) == 100 and thumb.size == (100, 75)
    small = Image.new("L", (40, 20))
    assert render.thumbnail(small, 256).size == (40, 20) and render.thumbnail(small).mode == "RGB"


def test_marks_scale_regions_found_on_a_small_map():
    image = Image.new("RGB", (448, 448), (30, 30, 30))
    small = two_blobs()[::4, ::4]  # 56 x 56
    regions = find_regions(small)
    marks = render.marks_overlay(image, small, regions)
    x0, y0, x1, y1 = regions[0].bbox
    # The box is drawn at 8x scale in the big image.
    ys = (y0 * 8 + y1 * 8) // 2
    assert tuple(np.asarray(marks)[ys, x1 * 8 - 2]) == render.MARK_COLOURS[0]
    fake = [
        Region(
            index=3,
            bbox=(0, 0, 10, 10),
            centroid=(5, 5),
            heat_share=0.5,
            area=100,
            position="upper-left",
        )
    ]
    out = render.marks_overlay(image, np.ones((448, 448)), fake)
    assert tuple(np.asarray(out)[5, 9]) != tuple(
        np.asarray(render.overlay(image, np.ones((448, 448))))[5, 9]
    )


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_default_overlay_blends_in_integers_to_the_float_formulas_bytes():
    """alpha 0.5 takes an integer path: the bytes of round(0.5 * image + 0.5 * heat) in float32
    (halves to even), for every pair of bytes and on whole pictures."""
    from core.render import cam as cam_pictures

    base, heat = (a.astype(np.uint8) for a in np.meshgrid(np.arange(256), np.arange(256)))
    want = np.round(0.5 * base.astype(np.float32) + 0.5 * heat.astype(np.float32))
    assert np.array_equal(cam_pictures._half_blend(base, heat), want.astype(np.uint8))
    rng = np.random.default_rng(4)
    for size in ((64, 48), (224, 224)):
        image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
        cam = rng.random((7, 9)).astype(np.float32)
        heat_rgb = cam_pictures.colorize(cam_pictures.resize_cam(cam, size)).astype(np.float32)
        mixed = np.round(0.5 * np.asarray(image, dtype=np.float32) + 0.5 * heat_rgb)
        expected = np.clip(mixed, 0, 255).astype(np.uint8)
        assert np.array_equal(np.asarray(render.overlay(image, cam)), expected)
        assert render.overlay(image, cam, alpha=0.3).size == size  # the float path still works
