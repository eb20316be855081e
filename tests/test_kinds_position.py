"""The planted kinds benchmark's position photos (issue 21, the object's-position line): small
objects in every grid cell, where a move and its control both fit; and its groups filter."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from core.errors import WordcamError
from core.lab.kinds_bench import (
    GOALS,
    PLANTED,
    benchmark_groups,
    make_planted_kinds,
    measure_planted,
    planted_groups,
    planted_word_tests,
)
from core.verify.geometry import PLACE_TOL, NoControl, boxes_mask, displacement, fair_control, shift
from core.verify.geometry import place as place_of

OFFSET = 16  # the crop margin of a 256 px photo: the model's view is its centre 224 px
CELLS = [f"{r}-{c}" for r in ("upper", "middle", "lower") for c in ("left", "center", "right")]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    root = tmp_path_factory.mktemp("kinds")
    truth = make_planted_kinds(root, seed=5, per_class=1, val_per_class=2, position_per_class=9)
    return root, truth


def _box(rec: dict, key: str) -> list[int]:
    return [v - OFFSET for v in rec[key]["box"]]


def _cell(box: list[int]) -> str:
    from core.regions import position_key

    return position_key((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, 224, 224)


def test_position_photos_put_a_small_object_in_every_cell(planted):
    _, truth = planted
    photos = [r for r in truth["images"] if r["split"] == "position"]
    assert len(photos) == 9 * len(PLANTED)
    for cls, _, _ in PLANTED:
        own = sorted(
            (int(r["file"][-8:-4]), r) for r in photos if r["label"] == cls
        )  # 0000.jpg ... 0008.jpg
        for i, rec in own:
            box, dbox = _box(rec, "object"), _box(rec, "distractor")
            side = ((box[2] - box[0]) * (box[3] - box[1])) ** 0.5 / 224
            assert 0.14 <= side <= 0.26, side  # 15-25% of the view's side
            assert min(box) >= 0 and max(box) <= 224  # inside the view
            assert _cell(box) == CELLS[i % 9]  # one object per cell in turn
            assert _cell(dbox) != _cell(box)  # the distractor elsewhere, always there
    val = [r for r in truth["images"] if r["split"] == "val"]
    sides = [((b[2] - b[0]) * (b[3] - b[1])) ** 0.5 / 224 for b in (_box(r, "object") for r in val)]
    assert min(sides) > 0.3  # the val photos' objects stay large (the hide lines unchanged)


def test_position_photos_change_no_train_or_val_photo(tmp_path, planted):
    root, truth = planted
    plain = make_planted_kinds(tmp_path, seed=5, per_class=1, val_per_class=2)
    assert [r for r in truth["images"] if r["split"] != "position"] == plain["images"]
    for rec in plain["images"]:  # the same pixels: a model trained before stays valid
        assert (tmp_path / rec["file"]).read_bytes() == (root / rec["file"]).read_bytes()
    assert not (tmp_path / "position").exists()


def test_a_move_and_its_fair_control_fit_on_the_position_photos(planted):
    _, truth = planted
    fitted, total = 0, 0
    for rec in (r for r in truth["images"] if r["split"] == "position"):
        for key in ("object", "distractor"):
            mask = boxes_mask([_box(rec, key)], (224, 224))
            control = fair_control(mask)
            total += 1
            if isinstance(control, NoControl):
                continue
            move = displacement(mask, control.mask, np.random.default_rng(total))
            if move is None:
                continue
            fitted += 1
            moved, control_moved = shift(mask, *move), shift(control.mask, *move)
            assert moved.sum() == mask.sum() and not (moved & mask).any()  # a free place
            assert control_moved.sum() == control.mask.sum()  # the same displacement, inside
            assert not (control_moved & (mask | control.mask)).any()  # never on the word
            c, b = place_of(mask)
            cc, cb = place_of(control.mask)
            assert abs(c - cc) <= PLACE_TOL and abs(b - cb) <= PLACE_TOL
    assert fitted >= 0.9 * total, (fitted, total)


def test_the_move_tests_use_the_position_photos_and_every_cell_has_its_word(planted):
    _, truth = planted
    tests = planted_word_tests(truth, seed=0)
    moves = [t for t in tests if t["test"] == "move"]
    assert {t["group"] for t in moves} == {"object's position", "spread attribute"}
    assert all(f.startswith("position/") for t in moves for f, _ in t["photos"])
    others = [t for t in tests if t["test"] != "move"]
    assert all(f.startswith("val/") for t in others for f, _ in t["photos"])
    objects = {c for c, _, fixed in PLANTED if fixed is None}
    position = [t for t in moves if t["group"] == "object's position"]
    assert {t["class"] for t in position} == objects
    for cls in objects:  # 9 photos of a class: one per position word
        assert sorted(t["word"] for t in position if t["class"] == cls) == sorted(CELLS)


def test_benchmark_groups_by_name_or_slug_and_unknown_ones_in_one_line():
    assert benchmark_groups(["spread-attribute", "object's position"]) == [
        "object's position",
        "spread attribute",
    ]
    assert benchmark_groups(["objects-position"]) == ["object's position"]
    with pytest.raises(WordcamError, match="unknown benchmark group 'position'"):
        benchmark_groups(["position"])
    with pytest.raises(WordcamError, match="none given"):
        benchmark_groups([])


def test_measure_planted_measures_only_the_groups_asked(monkeypatch, planted):
    root, truth = planted
    import core.models

    monkeypatch.setattr(
        core.models, "load_model", lambda *_: SimpleNamespace(preprocess=None, labels=[])
    )
    tests = [t for t in planted_word_tests(truth, seed=0) if t["group"] != "random region"]
    result = measure_planted(root, tests, groups=["random region"])  # none of those given
    assert result["rows"] == [] and result["family"] == 0


def test_planted_groups_reports_the_asked_groups_and_the_count_before_bh():
    rows = [
        {"group": "object's position", "n": 8, "p_value": 0.01, "ci_low": 0.02},
        {"group": "object's position", "n": 8, "p_value": 0.3, "ci_low": -0.1},
        {"group": "object's position", "n": 3, "p_value": 1.0, "ci_low": None},
    ]
    for r, v in zip(rows, ("no effect shown", "no effect shown", "too few photos"), strict=True):
        r["verdict"] = v  # the first: p <= 0.05 before BH, not after
    out = planted_groups([{"rows": rows}], ["object's position"])
    assert [g["group"] for g in out] == ["object's position"]
    (g,) = out
    assert (g["word_tests"], g["with_verdict"], g["causal"], g["too_few"]) == (3, 2, 0, 1)
    assert g["before_bh"] == 1 and g["goal"] == GOALS["object's position"]
    assert len(planted_groups([{"rows": rows}])) == len(GOALS)


def test_the_cli_names_an_unknown_group_in_one_line_before_running(tmp_path, capsys):
    from core.cli import main

    argv = ["bench", "--only", "kinds", "--kinds-groups", "nonsense"]
    assert main(argv + ["--demo-dir", str(tmp_path), "--out", str(tmp_path)]) == 1
    lines = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(lines) == 1 and "unknown benchmark group 'nonsense'" in lines[0]
    assert not (tmp_path / "kinds").exists()  # nothing built


def test_the_position_cue_classes_differ_only_in_the_objects_row(tmp_path):
    from core.lab.kinds_bench import POSITION_CUE, make_position_cue

    truth = make_position_cue(tmp_path, seed=2, per_class=3, val_per_class=3)
    rows = {cls: {CELLS[c].split("-")[0] for c in cells} for cls, cells in POSITION_CUE}
    assert rows == {"flower top": {"upper"}, "flower bottom": {"lower"}}
    names = set()
    for rec in truth["images"]:
        box = _box(rec, "object")
        assert _cell(box).split("-")[0] in rows[rec["label"]]  # the row is the class
        side = ((box[2] - box[0]) * (box[3] - box[1])) ** 0.5 / 224
        assert 0.14 <= side <= 0.26
        names.add(rec["object"]["name"])
    assert names == {"flower"}  # the same object in both classes
