"""Verified words: the statistics, the control geometry, the resumable job, bad input, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.errors import DataError
from core.verify.geometry import NoControl, boxes_mask, fair_control, place
from core.verify.stats import CAUSAL, NO_EFFECT, VERDICTS, bh_qvalues, effect_of, verdict

# ----------------------------------------------------------------------------- statistics


def _probs(effect: float, n: int, seed: int):
    rng = np.random.default_rng(seed)
    before = rng.uniform(0.6, 0.95, n)
    control = before - np.abs(rng.normal(0.05, 0.05, n))
    hidden = control - effect + rng.normal(0, 0.08, n)
    return before, hidden, control


def _verdicts(effects: list[float], n: int = 20) -> list[str]:
    found = [effect_of(*_probs(e, n, i), seed=i) for i, e in enumerate(effects)]
    qs = bh_qvalues([f.p_value for f in found])
    return [verdict(q, f.ci_low) for f, q in zip(found, qs, strict=True)]


def test_a_planted_effect_is_found_and_a_null_effect_is_not():
    planted = effect_of(*_probs(0.3, 20, 1), seed=1)
    assert planted.n == 20 and 0.2 < planted.effect < 0.4
    assert planted.ci_low > 0 and planted.p_value < 0.01
    null = effect_of(*_probs(0.0, 20, 2), seed=2)
    assert null.ci_low < 0 < null.ci_high and null.p_value > 0.05
    verdicts = _verdicts([0.3] * 3 + [0.0] * 30)
    assert verdicts[:3] == [CAUSAL] * 3
    assert verdicts[3:].count(CAUSAL) <= 1  # BH keeps the false discoveries rare


def test_the_interval_is_reproducible_and_few_photos_give_no_verdict():
    data = _probs(0.2, 12, 3)
    assert effect_of(*data, seed=5) == effect_of(*data, seed=5)
    few = effect_of([0.9, 0.8], [0.1, 0.1], [0.85, 0.8], seed=0)
    assert few.n == 2 and few.ci_low is None and few.p_value == 1.0
    assert verdict(0.0, few.ci_low) == NO_EFFECT
    assert effect_of([], [], [], seed=0).n == 0


def test_benjamini_hochberg_is_applied_over_all_words():
    p = [0.01, 0.02, 0.03, 0.04, 0.5]
    assert bh_qvalues(p) == pytest.approx([0.05, 0.05, 0.05, 0.05, 0.5])
    # p = 0.02 alone passes; among many null words it no longer does
    assert verdict(bh_qvalues([0.02])[0], 0.01) == CAUSAL
    assert verdict(bh_qvalues([0.02] + [0.9] * 20)[0], 0.01) == NO_EFFECT


# ----------------------------------------------------------------------------- geometry


# issue 21 changed the control: no shifted/reshaped/fallback any more, a fair control (same
# size, place and heat) or none at all (tests/test_verify_kinds.py has the rest).
@pytest.mark.parametrize("boxes", [[(10, 20, 60, 80)], [(10, 20, 60, 80), (30, 150, 70, 200)]])
def test_the_control_has_the_same_area_and_place_and_is_disjoint(boxes):
    hidden = boxes_mask(boxes, (224, 224))
    control = fair_control(hidden)
    assert not isinstance(control, NoControl)
    assert control.mask.sum() == hidden.sum()
    assert not (control.mask & hidden).any() and control.overlap == 0.0
    assert place(control.mask) == pytest.approx(place(hidden))


def test_no_control_when_the_regions_cover_most_of_the_photo():
    hidden = boxes_mask([(0, 0, 200, 200)], (224, 224))
    control = fair_control(hidden)
    assert isinstance(control, NoControl) and "cover" in control.reason


# ----------------------------------------------------------------------------- the job


class RegionWordsExplainer:
    """Grounded-like details from the CAM alone: each region's position and one colour."""

    name = "regionwords"

    def __init__(self, arg=None, lang="ja", **options):
        self.lang = lang

    def explain_batch(self, requests):
        from core.explainers.base import Explanation
        from core.regions import find_regions, position_name

        out = []
        for req in requests:
            regions = find_regions(np.asarray(req.cam, dtype=np.float32), max_regions=2)
            facts, sentences = [], []
            for r in regions:
                pos = position_name(r.position, "ja")
                colour = "赤" if r.index == 1 else "青"
                facts.append({**r.to_dict(), "position_name": pos, "colors": [{"name": colour}]})
                sentences.append(f"{pos}の領域は{colour}です。")
            out.append(Explanation(text="".join(sentences), details={"regions": facts}))
        return out


@pytest.fixture(scope="module")
def verified_db(tmp_path_factory):
    """A precomputed run of the tiny model with word regions derived from its details."""
    from test_precompute import make_photos
    from verify_helpers import fill_db, set_kinds

    from core.jobs import run_precompute
    from core.registry import register_explainer

    register_explainer("regionwords", RegionWordsExplainer)
    root = tmp_path_factory.mktemp("verify")
    photos = make_photos(root / "photos", per_class=4, broken=False)
    db = root / "wc.duckdb"
    run_precompute(photos, db, model="tiny", explainer="regionwords", progress=False)
    assert fill_db(db) > 0
    assert set_kinds(db) > 0  # issue 21: each kind its own test (colour, position words here)
    return db


def _copy(db: Path, tmp_path: Path) -> Path:
    import shutil

    out = tmp_path / "wc.duckdb"
    shutil.copyfile(db, out)
    return out


def test_verify_stores_effects_and_photos_and_resumes(verified_db, tmp_path, monkeypatch):
    from core.jobs import read_progress
    from core.store import connect_read
    from core.verify import measure, run_verify

    db = _copy(verified_db, tmp_path)
    calls: list[int] = []
    stop = [2]  # interrupt the second batch of the first session
    original = measure.Measurer.measure

    def counting(self, items):
        calls.append(len(items))
        if len(calls) == stop[0]:
            stop[0] = 0
            raise KeyboardInterrupt
        return original(self, items)

    monkeypatch.setattr(measure.Measurer, "measure", counting)
    options = dict(top=3, per_word=3, batch_size=2, progress=False, fill="mean")
    with pytest.raises(KeyboardInterrupt):
        run_verify(db, **options)
    with connect_read(db) as con:
        first = con.execute("SELECT count(*) FROM word_effect_photos").fetchone()[0]
    assert first == 2  # the first batch is kept
    record = read_progress(db)  # the progress file of every job, as precompute writes it
    assert (record["job"], record["status"], record["done"]) == ("verify", "interrupted", 2)

    calls.clear()
    report = run_verify(db, **options)
    assert report.resumed == 2 and report.measured == sum(calls)
    assert report.words and {w.verdict for w in report.words} <= set(VERDICTS)
    with connect_read(db) as con:
        photos = con.execute(
            "SELECT p_before, p_hidden, p_control, hidden_path, control_kind FROM word_effect_photos"
            " WHERE skipped IS NULL"
        ).fetchall()
        skipped = con.execute(
            "SELECT count(*) FROM word_effect_photos WHERE skipped IS NOT NULL"
        ).fetchone()[0]
        n = con.execute("SELECT sum(n) FROM word_effects").fetchone()[0]
    assert len(photos) + skipped == report.measured + 2 and len(photos) == n
    assert all(0 <= p <= 1 for row in photos for p in row[:3])
    assert all(Path(row[3]).is_file() for row in photos)

    assert read_progress(db)["status"] == "done"
    calls.clear()
    again = run_verify(db, **options)  # nothing left: no model pass at all
    assert calls == [] and again.measured == 0
    assert [w.to_dict() for w in again.words] == [w.to_dict() for w in report.words]


def test_cli_json_shape_and_mine_shows_effects(verified_db, tmp_path, capsys):
    from core.cli import main

    db = _copy(verified_db, tmp_path)
    rc = main(
        [
            "verify",
            "--db",
            str(db),
            "--top",
            "2",
            "--per-word",
            "3",
            "--format",
            "json",
            "--no-progress",
            "--fill",
            "blur",
        ]
    )
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["fill"] == "blur" and data["control"] == "fair"
    assert {"class", "word", "n", "effect", "ci_low", "ci_high", "verdict"} <= set(data["words"][0])
    own = {"object": "hide", "colour": "colour", "position": "move"}
    tested = {(w["class"], w["word"]): w for w in data["words"] if own[w["kind"]] == w["test"]}
    assert {w["verdict"] for w in data["words"]} <= set(VERDICTS)

    assert main(["mine", "--db", str(db), "--top", "2", "--format", "json"]) == 0
    mined = json.loads(capsys.readouterr().out)
    shown = [(c, k) for c, kws in mined["classes"].items() for k in kws]
    assert shown and all(k["verdict"] == tested[(c, k["word"])]["verdict"] for c, k in shown)
    assert main(["mine", "--db", str(db), "--top", "2"]) == 0
    table = capsys.readouterr().out
    # each shown word's own test's effect is beside it (since issue 21 which words have a
    # number is the fixture's chance: a word without photos that have a fair control has none)
    # (a word with too few photos shows that state, not a number)
    judged = [tested[(c, k["word"])] for c, k in shown]
    numbered = [
        f"{w['effect']:+.2f}" for w in judged if w["verdict"] in ("causal", "no effect shown")
    ]
    assert "検証済みの語" in table and all(e in table for e in numbered)  # a ja run (issue 23)
    assert main(["mine", "--db", str(db), "--top", "2", "--format", "csv"]) == 0
    csv_text = capsys.readouterr().out
    assert not numbered or any(c in csv_text for c in ("+0.", "-0.", ",0.", ",-0."))


def test_mine_without_effects_is_unchanged(verified_db, capsys):
    from core.cli import main

    assert main(["mine", "--db", str(verified_db), "--top", "2", "--format", "json"]) == 0
    mined = json.loads(capsys.readouterr().out)
    assert "verification" not in mined
    assert all("effect" not in k for kws in mined["classes"].values() for k in kws)


def test_a_run_without_stored_regions_is_one_clear_line(verified_db, tmp_path, capsys):
    from core.cli import main
    from core.store import StoreWriter

    db = _copy(verified_db, tmp_path)
    with StoreWriter(db) as w:
        w.con.execute("DELETE FROM word_regions")
    assert main(["verify", "--db", str(db), "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no stored word regions" in err


def test_a_class_with_no_photos_for_the_word_is_one_clear_line(verified_db, capsys):
    from core.cli import main

    with pytest.raises(DataError, match="no photo of class 猫 has an explanation containing"):
        from core.verify import run_verify

        run_verify(verified_db, top=0, words=("存在しない語",), classes=("猫",), progress=False)
    assert main(["verify", "--db", str(verified_db), "--top", "0", "--word", "存在しない語"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no photo has an explanation containing" in err


def test_a_model_that_cannot_be_loaded_is_one_clear_line(verified_db, tmp_path, capsys):
    from core.cli import main
    from core.store import StoreWriter

    db = _copy(verified_db, tmp_path)
    with StoreWriter(db) as w:
        w.con.execute("UPDATE runs SET model = '/nowhere/model'")
    assert main(["verify", "--db", str(db), "--no-progress", "--top", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "cannot load the model of run 1 (/nowhere/model)" in err


def test_dashboard_pieces_mark_and_sort_verified_words():
    import pandas as pd

    from core.mining import Keyword, MiningResult, attach_effects
    from core.store.effects import WordEffect
    from dashboard.catalogue import CATALOGUE
    from dashboard.verified import add_effects, sort_by_effect

    verify_keys = {k for k in CATALOGUE["en"] if k.startswith("verify.")}
    assert verify_keys and verify_keys <= set(CATALOGUE["ja"])
    table = pd.DataFrame({"class": ["a", "a", "b"], "word": ["x", "y", "x"], "n": [3, 2, 1]})
    words = {
        "a": [Keyword("x", 3, 4, 1.0), Keyword("y", 2, 4, 0.5)],
        "b": [Keyword("x", 1, 4, 1.0)],
    }
    effects = [  # as keyword_table attaches them
        WordEffect("a", "x", 3, 0.1, -0.1, 0.3, 0.4, 0.5, "no effect shown", "road", "shifted"),
        WordEffect("a", "y", 2, 0.4, 0.2, 0.6, 0.01, 0.02, "causal", "road", "shifted"),
    ]
    result = attach_effects(MiningResult(words, None, None, None, 3, 0), effects, {"fill": "road"})
    marked = sort_by_effect(add_effects(table, result))  # the screen's language: ja
    assert list(marked["word"]) == ["y", "x", "x"]
    assert list(marked["検証済み"]) == ["✓ 因果的(隠す)", "効果は示されず(隠す)", "未検証"]


def test_the_cli_offers_the_fills_of_the_package():
    from core.cli import verify as cli
    from core.verify.fill import DEFAULT_FILL, FILLS

    assert cli.FILLS == FILLS and cli.FILLS[0] == DEFAULT_FILL


# ----------------------------------------------------------------------------- issue 22


def _move_photos(db: Path, away: bool) -> None:
    """Every photo of the DB moved away (``away``) or back: its stored path stops naming it."""
    import os

    from core.store import connect_read

    with connect_read(db) as con:
        paths = [p for (p,) in con.execute("SELECT path FROM images").fetchall()]
    for path in paths:
        src, dst = (path, path + ".away") if away else (path + ".away", path)
        if os.path.exists(src):
            os.replace(src, dst)


def test_unreadable_photos_stay_to_do_and_the_exit_status_says_so(verified_db, tmp_path, capsys):
    """Issue 22.2: photos moved away are failures (exit 3), not words with n = 0 for ever."""
    from core.cli import main
    from core.jobs.progress import EXIT_SOME_FAILED, read_progress
    from core.store import connect_read

    db = _copy(verified_db, tmp_path)
    args = ["verify", "--db", str(db), "--top", "2", "--per-word", "3", "--no-progress"]
    _move_photos(db, away=True)
    try:
        assert main(args) == EXIT_SOME_FAILED
    finally:
        _move_photos(db, away=False)
    err = capsys.readouterr().err
    assert "failed (exit status 3)" in err
    with connect_read(db) as con:
        assert con.execute("SELECT count(*) FROM word_effect_photos").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FROM word_effects").fetchone()[0] == 0
    record = read_progress(db)
    assert record["status"] == "done" and record["failed"] > 0 and record["job"] == "verify"

    assert main([*args, "--format", "json"]) == 0  # the photos are back: all measured now
    data = json.loads(capsys.readouterr().out)
    assert data["measured"] > 0 and data["resumed"] == 0
    # every photo of every word-test is measured now (counted, or kept out for want of a fair
    # control), none stuck as unmeasured
    assert data["words"] and all(w["n"] + w["skipped"] > 0 for w in data["words"])
    assert any(w["n"] > 0 for w in data["words"])
    assert read_progress(db)["failed"] == 0


def test_true_labels_outside_the_models_classes_are_one_clear_line(verified_db, tmp_path, capsys):
    """Issue 22.3: class folders that are not the model's classes (the default ImageNet model):
    one line naming --by predicted, no traceback, no work file left behind."""
    from core.cli import main
    from core.store import StoreWriter, work_path

    db = _copy(verified_db, tmp_path)
    with StoreWriter(db) as w:  # the model's classes are other names than the folders'
        w.con.execute("""UPDATE runs SET labels = '["tench", "goldfish", "shark"]'""")
    assert main(["verify", "--db", str(db), "--top", "3", "--no-progress"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--by predicted" in err, err
    assert not work_path(db).exists()


def test_a_full_disk_stops_verify_with_one_line_and_status_failed(verified_db, tmp_path):
    """The skeleton's disk-full handling holds for verify as for precompute."""
    import errno

    from core.errors import WordcamError
    from core.jobs import read_progress
    from core.store import effects

    db = _copy(verified_db, tmp_path)
    real = effects.write_photos
    calls = {"n": 0}

    def full_after_one(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(*args, **kwargs)

    from core.verify import run_verify

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(effects, "write_photos", full_after_one)
        with pytest.raises(WordcamError, match="disk") as caught:
            run_verify(db, top=2, per_word=3, batch_size=2, progress=False)
    assert "\n" not in str(caught.value)
    record = read_progress(db)
    assert (record["job"], record["status"]) == ("verify", "failed")
    report = run_verify(db, top=2, per_word=3, batch_size=2, progress=False)
    assert report.resumed == 2 and report.words  # the batch before the full disk was kept
