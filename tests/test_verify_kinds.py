"""One test per kind of word (issue 21): what each test changes in the photo, the fair
control, the BH family of one invocation, and bad input (one clear line, nothing half-way)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from test_verify import verified_db  # noqa: F401  (the module's fixture)

from core.verify.changes import chroma, decolour, moved
from core.verify.changes import tests_for as kind_tests
from core.verify.geometry import (
    COLOUR_MIN_HEAT,
    MAX_OVERLAP,
    PLACE_TOL,
    NoControl,
    Region,
    boxes_mask,
    congruent,
    displacement,
    fair_control,
    place,
    shift,
)
from core.verify.stats import NOT_TESTED, TOO_FEW, VERDICTS


def _photo(size: int = 64, seed: int = 0) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size, size, 3), dtype=np.uint8))


# ----------------------------------------------------------------------------- the changes


def test_the_colour_test_keeps_luminance_and_removes_only_the_colour():
    view = _photo()
    mask = boxes_mask([(8, 8, 40, 30)], view.size)
    out = decolour(view, mask)
    before, after = np.asarray(view.convert("L"), int), np.asarray(out.convert("L"), int)
    assert np.abs(before - after).max() <= 1  # the same luminance everywhere
    assert chroma(out)[mask].max() <= 1 / 255  # grey inside
    assert (np.asarray(out)[~mask] == np.asarray(view)[~mask]).all()  # untouched outside
    assert chroma(view)[mask].mean() > 0.1  # there was colour to take away


def test_the_move_test_moves_the_content_and_hides_the_hole():
    from core.models.base import Preprocessing

    pp = Preprocessing(image_size=64, resize=64)
    view = _photo()
    mask = boxes_mask([(4, 4, 20, 16)], view.size)
    control = fair_control(mask)
    assert not isinstance(control, NoControl)
    dy, dx = displacement(mask, control.mask, np.random.default_rng(0))
    x, picture = moved(view, mask, dy, dx, "mean", pp)
    source = pp.to_tensor(view)
    target = shift(mask, dy, dx)
    assert not (target & mask).any() and target.sum() == mask.sum()
    ys, xs = np.nonzero(mask)
    assert np.allclose(x[:, ys + dy, xs + dx].numpy(), source[:, ys, xs].numpy())
    hole = mask & ~target
    assert np.allclose(x[:, hole].numpy(), 0.0)  # the mean fill: zero input
    rest = ~(mask | target)
    assert np.allclose(x[:, rest].numpy(), source[:, rest].numpy())
    assert picture.size == view.size


def test_the_move_test_leaves_a_hole_like_its_surroundings_not_a_patch():
    # A flat patch left behind reads as an object still at the old place (the planted row
    # cue: 3 of 12 word-tests found with the mean patch, 10 of 12 with ROAD): the move test
    # imputes the hole from its neighbours, for the word and the control alike.
    from core.models.base import Preprocessing
    from core.verify.changes import MOVE_FILL
    from core.verify.measure import plan_change

    pp = Preprocessing(image_size=96, resize=96)
    rgb = np.zeros((96, 96, 3), np.uint8)
    rgb[:] = (90, 140, 60)  # a plain green background
    rgb[10:30, 12:32] = (220, 30, 30)  # a red object, upper left
    view = Image.fromarray(rgb)
    mask = boxes_mask([(12, 10, 32, 30)], view.size)
    plan = plan_change(view, mask, "move", [], [], fill="mean", preprocess=pp, seed=3)
    assert MOVE_FILL == "road" and "skipped" not in plan
    source = pp.to_tensor(view).numpy()
    background = pp.to_tensor(Image.new("RGB", (96, 96), (90, 140, 60))).numpy()
    assert np.abs(background).min() > 0.3  # the mean patch (zero input) would be far from it
    for x, area in ((plan["hidden_x"], mask), (plan["control_x"], plan["control"].mask)):
        x = x.numpy()
        moved_to = list(_destinations(x, source, area))
        assert moved_to, "the content went somewhere"
        hole = area & ~moved_to[0]
        assert hole.any() and np.abs(x[:, hole] - background[:, hole]).max() < 0.1


def _destinations(x, source, area):
    """The shifts of ``area`` whose pixels in ``x`` are the source's ``area`` pixels."""
    ys, xs = np.nonzero(area)
    h, w = area.shape
    for dy in range(-ys.min(), h - ys.max()):
        for dx in range(-xs.min(), w - xs.max()):
            if (dy or dx) and np.allclose(x[:, ys + dy, xs + dx], source[:, ys, xs], atol=1e-5):
                yield shift(area, dy, dx)


def test_the_move_test_tries_the_next_fair_control_when_the_best_has_no_free_place():
    # A tall box on the left: its mirror (the best control) and it cannot move by one
    # displacement to free places; a shifted copy of its up-down mirror can. Before, the
    # photo did not count (on 300 random boxes of 60-120 px: 92 counted, now 142).
    from core.models.base import Preprocessing
    from core.verify.geometry import fair_controls
    from core.verify.measure import plan_change

    size = (224, 224)
    mask = boxes_mask([(10, 33, 71, 138)], size)
    best = fair_control(mask)
    assert not isinstance(best, NoControl) and best.kind == "mirror-lr"
    assert displacement(mask, best.mask, np.random.default_rng(0)) is None
    ranked = fair_controls(mask)
    assert [c.mismatch for c in ranked] == sorted(c.mismatch for c in ranked)
    c, b = place(mask)
    for other in ranked:  # every one fair by the same rules
        oc, ob = place(other.mask)
        assert abs(oc - c) <= PLACE_TOL and abs(ob - b) <= PLACE_TOL
        assert (other.mask & mask).sum() <= MAX_OVERLAP * mask.sum()
    pp = Preprocessing(image_size=224, resize=224)
    plan = plan_change(_photo(224), mask, "move", [], [], fill="mean", preprocess=pp, seed=0)
    assert "skipped" not in plan and plan["control_kind"] != "mirror-lr"
    control = plan["control"].mask
    assert any((control == o.mask).all() for o in ranked)  # one of the fair controls
    hide_plan = plan_change(_photo(224), mask, "hide", [], [], fill="mean", preprocess=pp, seed=0)
    assert hide_plan["control_kind"] == "mirror-lr"  # hiding keeps the best control


def test_the_control_move_never_covers_the_word():
    mask = boxes_mask([(10, 10, 30, 30)], (96, 96))
    control = fair_control(mask)
    assert not isinstance(control, NoControl)
    for seed in range(5):
        dy, dx = displacement(mask, control.mask, np.random.default_rng(seed))
        assert not (shift(control.mask, dy, dx) & mask).any()
        assert not (shift(mask, dy, dx) & mask).any()


def test_tests_by_kind():
    assert kind_tests("object") == ("hide",)
    assert kind_tests("colour") == ("hide", "colour")
    assert kind_tests("position") == ("hide", "move")
    assert kind_tests("other") == () and kind_tests(None) == ()


# ----------------------------------------------------------------------------- the control


def test_a_hot_word_gets_another_hot_region_not_a_cold_mirror():
    size = (224, 224)
    regions = [Region(1, (20, 30, 80, 90), 0.5), Region(2, (140, 120, 196, 180), 0.3)]
    hidden = boxes_mask([regions[0].box], size)
    control = fair_control(hidden, regions, [1])
    assert not isinstance(control, NoControl)
    # region 2 rescaled, or a congruent copy of the word's box shifted onto it: hot either way
    assert not control.kind.startswith("mirror") and control.heat > 0.15
    assert abs(int(control.mask.sum()) - int(hidden.sum())) <= 0.1 * hidden.sum()
    assert not (control.mask & hidden).any()


def test_a_cold_area_gets_its_mirror_with_the_same_place():
    size = (224, 224)
    regions = [Region(1, (150, 150, 200, 200), 0.6)]
    hidden = boxes_mask([(20, 20, 60, 70)], size)  # a random box, away from the heat
    control = fair_control(hidden, regions, [])
    assert not isinstance(control, NoControl) and control.kind.startswith("mirror")
    assert control.mask.sum() == hidden.sum()
    assert place(control.mask) == pytest.approx(place(hidden))
    assert not (control.mask & boxes_mask([regions[0].box], size)).any()


def test_no_fair_control_is_no_control_never_a_corner():
    size = (224, 224)
    only = [Region(1, (60, 60, 160, 160), 0.9)]  # one hot region in the middle
    result = fair_control(boxes_mask([only[0].box], size), only, [1])
    assert isinstance(result, NoControl) and "same size and place" in result.reason
    whole = fair_control(boxes_mask([(0, 0, 224, 224)], size))
    assert isinstance(whole, NoControl) and "100%" in whole.reason
    empty = fair_control(np.zeros((224, 224), bool))
    assert isinstance(empty, NoControl) and "no pixels" in empty.reason


def test_congruent_copies_keep_size_shape_and_place_exactly():
    hidden = boxes_mask([(31, 41, 131, 90), (50, 90, 80, 160)], (224, 224))  # an L shape
    copies = congruent(hidden)
    assert [k for k, _ in copies][3:] == ["rotate-90", "rotate-270", "transpose", "anti-transpose"]
    for _, mask in copies:
        assert mask.sum() == hidden.sum()
        assert place(mask) == pytest.approx(place(hidden))
    assert len(congruent(np.zeros((100, 120), bool))) == 3  # a non-square view: mirrors only


def test_a_large_object_whose_mirrors_overlap_it_gets_a_fair_shifted_copy():
    # version 2 had no control here (its mirrors overlapped the box by more than 10%, no other
    # region): the photo did not count. A copy moved along the border keeps the place.
    box = (31, 41, 131, 135)
    hidden = boxes_mask([box], (224, 224))
    control = fair_control(hidden, [Region(1, box, 0.6)], [1])
    assert not isinstance(control, NoControl) and control.kind.endswith("+shift")
    assert control.mask.sum() == hidden.sum() and control.overlap <= MAX_OVERLAP
    (c, b), (c0, b0) = place(control.mask), place(hidden)
    assert abs(c - c0) <= PLACE_TOL and abs(b - b0) <= PLACE_TOL


def test_min_heat_keeps_the_control_from_being_much_colder_than_the_word():
    # decolouring a photo's hot object changes the model more than decolouring a cold area,
    # whatever the colour; min_heat (COLOUR_MIN_HEAT for the colour test) asks for a control
    # with at least that share of the word's heat
    size = (224, 224)
    value = np.full((224, 224), 0.5)
    hot = [Region(1, (20, 30, 80, 90), 0.6), Region(2, (150, 150, 200, 200), 0.05)]
    hidden = boxes_mask([hot[0].box], size)
    cold = fair_control(hidden, hot, [1], value)  # the hide test's rule: any colder control
    assert not isinstance(cold, NoControl) and cold.heat < 0.1
    assert COLOUR_MIN_HEAT == 0.0  # the default (measured in docs/verify.md)
    none = fair_control(hidden, hot, [1], value, 0.5)
    assert isinstance(none, NoControl) and "50% of the word's heat" in none.reason
    warm = [*hot[:1], Region(2, (140, 120, 196, 180), 0.3)]
    found = fair_control(hidden, warm, [1], value, 0.5)
    assert not isinstance(found, NoControl)
    assert found.heat >= 0.5 * 0.6 - 0.05 and found.overlap <= MAX_OVERLAP


def test_the_colour_control_needs_colour_too():
    size = (64, 64)
    value = np.zeros((64, 64))
    value[:22, :22] = 0.5  # colour around the word's box only
    hidden = boxes_mask([(4, 4, 20, 20)], size)
    assert isinstance(fair_control(hidden, value=value), NoControl)  # copies land on grey
    value[32:, 32:] = 0.4
    assert not isinstance(fair_control(hidden, value=value), NoControl)


# ----------------------------------------------------------------------------- the job


def _copy(db: Path, tmp_path: Path) -> Path:
    out = tmp_path / "wc.duckdb"
    shutil.copyfile(db, out)
    return out


def _tables(db: Path):
    from core.store import connect_read

    with connect_read(db) as con:
        effects = con.execute(
            "SELECT class, word, test, verdict, q_value, family_size FROM word_effects"
        ).fetchall()
        photos = con.execute(
            "SELECT word, test, p_before, p_hidden, p_control, skipped FROM word_effect_photos"
        ).fetchall()
    return effects, photos


def _nothing_half_way(db: Path) -> None:
    effects, photos = _tables(db)
    assert all(v in VERDICTS for *_, v, _q, _f in effects)
    for *_, b, h, c, skipped in photos:
        assert (skipped is None and None not in (b, h, c)) or (
            skipped and (b, h, c) == (None, None, None)
        )


def _word_not_in(report, db: Path) -> str:
    from core.store import connect_read

    with connect_read(db) as con:
        words = [r[0] for r in con.execute("SELECT DISTINCT term FROM word_regions").fetchall()]
    shown = {w.word for w in report.words}
    return next(w for w in sorted(words) if w not in shown)


def test_a_later_word_call_does_not_change_earlier_verdicts(verified_db, tmp_path):  # noqa: F811
    from core.verify import run_verify

    db = _copy(verified_db, tmp_path)
    options = dict(per_word=8, progress=False, save_pictures=False)
    first = run_verify(db, top=2, **options)
    before = {(e[0], e[1], e[2]): e[3:] for e in _tables(db)[0]}
    extra = _word_not_in(first, db)
    second = run_verify(db, top=0, words=(extra,), **options)
    after = {(e[0], e[1], e[2]): e[3:] for e in _tables(db)[0]}
    assert {k: after[k] for k in before} == before  # verdicts, q-values, family sizes kept
    assert {w.word for w in second.words} == {extra}
    _nothing_half_way(db)


def test_adjust_settles_each_family_once(tmp_path):
    from core.store import StoreWriter
    from core.store import effects as storage
    from core.verify.summary import adjust

    def entry(word: str, p: float):
        return storage.WordEffect("c", word, 10, 0.3, 0.1, 0.5, p, None, None, "mean", "fair")

    with StoreWriter(tmp_path / "f.duckdb") as w:
        for word, p in (("a", 0.01), ("b", 0.04)):
            storage.write_effect(w.con, 1, "k", entry(word, p))
        assert adjust(w.con, 1, "k", [("c", "a", "hide"), ("c", "b", "hide")], 0.05) == 2
        first = {e.word: (e.q_value, e.verdict) for e in storage.effects_of(w.con, 1, "k")}
        for word in "xyz":
            storage.write_effect(w.con, 1, "k", entry(word, 0.9))
        members = [("c", x, "hide") for x in "abxyz"]
        assert adjust(w.con, 1, "k", members, 0.05) == 3  # only the new ones
        again = {e.word: (e.q_value, e.verdict) for e in storage.effects_of(w.con, 1, "k")}
    assert first == {"a": (0.02, "causal"), "b": (0.04, "causal")}
    assert {k: again[k] for k in first} == first


def test_a_missing_word_is_one_line_and_the_others_are_verified(verified_db, tmp_path, capsys):  # noqa: F811
    from core.cli import main

    db = _copy(verified_db, tmp_path)
    args = ["verify", "--db", str(db), "--top", "1", "--per-word", "3", "--no-progress"]
    assert main([*args, "--word", "存在しない語", "--format", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["words"]
    lines = [x for x in captured.err.splitlines() if "存在しない語" in x]
    assert len(lines) == 1 and "no photo has an explanation containing" in lines[0]


def test_a_word_with_no_regions_is_one_line_and_nothing_is_stored(verified_db, tmp_path):  # noqa: F811
    from core.store import StoreWriter
    from core.verify import run_verify

    db = _copy(verified_db, tmp_path)
    with StoreWriter(db) as w:
        image_id = w.con.execute("SELECT min(image_id) FROM word_regions").fetchone()[0]
        w.con.execute("INSERT INTO word_regions VALUES (1, ?, 'からっぽ', [], false)", [image_id])
    report = run_verify(db, top=1, words=("からっぽ",), per_word=3, progress=False)
    assert [e for e in report.errors if "からっぽ" in e] == [report.errors[0]]
    assert report.words and all(w.word != "からっぽ" for w in report.words)
    assert all(e[1] != "からっぽ" for e in _tables(db)[0])
    _nothing_half_way(db)


def test_regions_covering_the_whole_photo_count_for_nothing(verified_db, tmp_path):  # noqa: F811
    from core.store import StoreWriter
    from core.verify import run_verify

    db = _copy(verified_db, tmp_path)
    with StoreWriter(db) as w:
        rows = w.con.execute("SELECT image_id, CAST(details AS VARCHAR) FROM explanations")
        for image_id, details in rows.fetchall():
            data = json.loads(details or "{}")
            for r in data.get("regions") or []:
                r["bbox"] = [0, 0, 224, 224]
            w.con.execute(
                "UPDATE explanations SET details = ? WHERE image_id = ?",
                [json.dumps(data), image_id],
            )
    report = run_verify(db, top=2, per_word=3, progress=False, save_pictures=False)
    assert report.words and {w.verdict for w in report.words} <= {TOO_FEW, NOT_TESTED}
    assert all(w.n == 0 for w in report.words)
    assert any("cover 100% of the photo" in e for e in report.errors)
    _nothing_half_way(db)


def test_a_grey_photo_has_no_colour_to_take_away(verified_db, tmp_path):  # noqa: F811
    from core.store import StoreWriter
    from core.verify import run_verify

    db = _copy(verified_db, tmp_path)
    folder = tmp_path / "grey"
    folder.mkdir()
    with StoreWriter(db) as w:
        for image_id, path in w.con.execute("SELECT image_id, path FROM images").fetchall():
            grey = folder / f"{image_id}.png"
            Image.open(path).convert("L").convert("RGB").save(grey)
            w.con.execute("UPDATE images SET path = ? WHERE image_id = ?", [str(grey), image_id])
    report = run_verify(db, top=3, per_word=4, progress=False, save_pictures=False)
    colour = [w for w in report.words if w.test == "colour"]
    assert colour and all(w.n == 0 and w.verdict == TOO_FEW for w in colour)
    assert any("grey: no colour to take away" in e for e in report.errors)
    _nothing_half_way(db)


# ----------------------------------------------------------------------------- the benchmark


def test_the_planted_benchmark_knows_its_truth(tmp_path):
    from core.lab.kinds_bench import PALETTE, PLANTED, make_planted_kinds, planted_word_tests

    truth = make_planted_kinds(tmp_path, seed=3, per_class=1, val_per_class=3, position_per_class=9)
    val = [r for r in truth["images"] if r["split"] == "val"]
    assert len(val) == 3 * len(PLANTED)
    fixed = {c: col for c, _, col in PLANTED}
    for rec in val:
        if fixed[rec["label"]]:
            assert rec["object"]["colour"] == fixed[rec["label"]]  # the colour is the cue
        x0, y0, x1, y1 = rec["object"]["box"]
        centre = np.asarray(Image.open(tmp_path / rec["file"]))[
            (y0 + y1) // 2 - 4 : (y0 + y1) // 2 + 4, (x0 + x1) // 2 - 4 : (x0 + x1) // 2 + 4
        ]
        wanted = int(np.argmax(PALETTE[rec["object"]["colour"]]))
        if rec["object"]["colour"] != "yellow":  # yellow: red and green both high
            assert int(np.argmax(centre.reshape(-1, 3).mean(axis=0))) == wanted
    tests = planted_word_tests(truth, seed=0)
    groups = {t["group"] for t in tests}
    assert {"colour cue", "object word", "object's colour", "object's position"} <= groups
    assert {"shuffled labels"} <= groups
    by = {(t["group"], t["test"]) for t in tests}
    assert ("colour cue", "colour") in by and ("object word", "hide") in by
    assert ("object's position", "move") in by
    shuffled = [t for t in tests if t["group"] == "shuffled labels"]
    names = {c: obj for c, obj, _ in PLANTED}
    from core.lab.synth import OBJECTS

    assert shuffled and all(t["word"] != OBJECTS[names[t["class"]]].name for t in shuffled)


def test_migration_5_keeps_old_effects_as_hide_tests():
    import duckdb

    from core.store.effects import read_word_tests
    from core.store.migrations import MIGRATIONS, migrate

    con = duckdb.connect()
    for m in MIGRATIONS[:4]:  # a DB of the previous version, with one stored effect
        m.apply(con)
    con.execute(
        'INSERT INTO word_effects (run_id, settings, class, word, "by", n, p_value, verdict,'
        " fill, control) VALUES (1, 'k', 'c', 'w', 'true', 5, 0.03, 'causal', 'mean', 'shifted')"
    )
    con.execute(
        "INSERT INTO word_effect_photos VALUES (1, 'k', 'c', 'w', 7, [1], true, 0.9, 0.2, 0.8,"
        " 0.1, 'shifted', 0.0, false, NULL, NULL)"
    )
    assert 5 in migrate(con)
    (old,) = read_word_tests(con, 1, key="k")[("c", "w")]
    assert old.test == "hide" and old.verdict == "causal" and old.n == 5
    row = con.execute("SELECT test, skipped, p_hidden FROM word_effect_photos").fetchone()
    assert row == ("hide", None, 0.2)
