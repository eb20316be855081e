"""The pictures of a photo: drawn once, the same pixels as drawn apart; the job writes no panel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_precompute import make_photos  # registers the tiny model and testwords explainer

from core import render
from core.jobs import run_precompute
from core.pipeline import ImageResult, write_pictures
from core.regions import find_regions
from core.store import asset_dir, connect_read


def a_photo(size: int = 224) -> tuple[Image.Image, np.ndarray]:
    """A noisy view and a two-blob map of the same size."""
    rng = np.random.default_rng(1)
    view = Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))
    yy, xx = np.mgrid[0:size, 0:size]
    cam = np.exp(-((xx - 60) ** 2 + (yy - 50) ** 2) / 400.0)
    cam += 0.7 * np.exp(-((xx - 170) ** 2 + (yy - 160) ** 2) / 300.0)
    return view, (cam / cam.max()).astype(np.float32)


def pixels(picture: Image.Image | str) -> np.ndarray:
    image = Image.open(picture) if isinstance(picture, str) else picture
    return np.asarray(image.convert("RGB"))


@pytest.mark.parametrize("alpha", [0.5, 0.3])
def test_panel_and_marks_from_a_given_overlay_are_the_same_pixels(alpha):
    view, cam = a_photo()
    heat = render.overlay(view, cam, alpha)
    before = pixels(heat).copy()
    regions = find_regions(cam, max_regions=4)
    assert len(regions) == 2
    marks = render.marks_overlay(view, cam, regions, alpha, overlaid=heat)
    assert np.array_equal(pixels(marks), pixels(render.marks_overlay(view, cam, regions, alpha)))
    assert not np.array_equal(pixels(marks), before)  # marks were drawn...
    assert np.array_equal(pixels(heat), before)  # ...on a copy: the overlay is unchanged
    panel = render.panel(view, cam, alpha, overlaid=heat)
    assert np.array_equal(pixels(panel), pixels(render.panel(view, cam, alpha)))


def test_written_pictures_are_the_pictures_drawn_one_by_one(tmp_path):
    """write_pictures draws the overlay once; each file holds what drawing it alone gives."""
    view, cam = a_photo()
    result = ImageResult(path="photo.jpg", view=view, cam=cam)
    write_pictures(result, tmp_path)
    assert np.array_equal(pixels(result.overlay_path), pixels(render.overlay(view, cam)))
    assert np.array_equal(pixels(result.panel_path), pixels(render.panel(view, cam)))
    want = render.marks_overlay(view, cam, find_regions(cam, max_regions=4))
    assert np.array_equal(pixels(result.marks_path), pixels(want))
    thumb = Image.open(result.thumb_path)
    assert thumb.format == "JPEG" and thumb.size == view.size

    bare = ImageResult(path="photo.jpg", view=view, cam=cam)
    write_pictures(bare, tmp_path / "bare", panel=False)
    assert bare.panel_path is None
    assert sorted(p.name.rsplit("_", 1)[1] for p in (tmp_path / "bare").iterdir()) == [
        "marks.png",
        "overlay.png",
        "thumb.jpg",
    ]
    for attr in ("overlay_path", "marks_path", "thumb_path"):
        assert Path(getattr(bare, attr)).read_bytes() == Path(getattr(result, attr)).read_bytes()


def test_the_job_writes_no_panel_and_its_readers_do_without(tmp_path):
    """The job stores NULL panel paths and no ``_panel.png`` (nothing reads them); the
    dashboard's photo page query, the report and the export work on such a run."""
    from core.report import build_report, render_html
    from core.store import queries

    photos = make_photos(tmp_path / "photos", per_class=2, broken=False)
    db = tmp_path / "wc.duckdb"
    summary = run_precompute(photos, db, model="tiny", explainer="testwords", progress=False)
    assert summary.done == 6 and summary.failed == 0
    with connect_read(db) as con:
        rows = con.execute(
            "SELECT panel_path, overlay_path, marks_path, thumb_path FROM images"
        ).fetchall()
        page = queries.photos(con, summary.run_id, queries.PhotoFilter(), limit=12)
    assert len(rows) == 6 and all(row[0] is None for row in rows)
    assert all(Path(p).is_file() for row in rows for p in row[1:])
    assert not list(asset_dir(db).rglob("*_panel.png"))
    assert len(page) == 6 and page["panel_path"].isna().all()
    html = render_html(build_report(db, lang="ja"))
    assert html.count('src="data:image/') >= 1
