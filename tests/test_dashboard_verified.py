"""Verified words in the dashboard: Keywords' effect columns and chart marks, the Photos
comparison, the Precompute page's verify button and engine choice (AppTest)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from PIL import Image  # noqa: E402
from streamlit.testing.v1 import AppTest  # noqa: E402
from synthetic_db import make_db  # noqa: E402

from core.store import StoreWriter, asset_dir, queries, reading  # noqa: E402
from core.store.effects import PhotoEffect, WordEffect, write_effect, write_photos  # noqa: E402
from dashboard import charts, job  # noqa: E402

APP = Path(__file__).resolve().parents[1] / "dashboard" / "app.py"
WARD = "台東区"
KEY = "fill=road;seed=0"


def _effect(word: str, i: int) -> WordEffect:
    causal = i % 2 == 0
    effect = 0.05 * (i + 1)
    return WordEffect(
        cls=WARD,
        word=word,
        n=10,
        effect=effect,
        ci_low=effect - 0.02 if causal else -0.01,
        ci_high=effect + 0.02,
        p_value=0.01 if causal else 0.4,
        q_value=0.02 if causal else 0.5,
        verdict="causal" if causal else "no effect shown",
        fill="road",
        control="shifted",
    )


@pytest.fixture(scope="module")
def dbs(tmp_path_factory):
    """A DB with stored effects for the top words of one ward (and one photo's pictures), and
    the same DB without them."""
    from core.mining import mine_source

    root = tmp_path_factory.mktemp("verified")
    plain = make_db(root / "plain.duckdb", n_images=300)
    db = make_db(root / "v.duckdb", n_images=300)
    words = [k.word for k in mine_source(db, 1, top=10, classes=[WARD]).classes[WARD]]
    pictures = asset_dir(db) / "run1" / "verify"
    pictures.mkdir(parents=True)
    paths = []
    for name in ("hidden", "control"):
        paths.append(pictures / f"1-{name}.jpg")
        Image.new("RGB", (32, 32), (10, 200, 30)).save(paths[-1])
    with reading(db) as con:  # the first photo the Photos page shows for the word
        f = queries.PhotoFilter(word=words[0])
        image_id = int(queries.ordered_photos(con, 1, f, "id", limit=1)["image_id"][0])
    photo = PhotoEffect(
        WARD, words[0], image_id, [1], True, 0.9, 0.3, 0.8, 0.2, "shifted", 0.0, False
    )
    with StoreWriter(db) as w:
        for i, word in enumerate(words[:6]):
            write_effect(w.con, 1, KEY, _effect(word, i))
        write_photos(
            w.con,
            1,
            KEY,
            [PhotoEffect(**{**photo.__dict__, "hidden_path": str(paths[0])})]
            + [PhotoEffect(**{**photo.__dict__, "word": words[1], "control_path": str(paths[1])})],
        )
    return {"db": db, "plain": plain, "words": words, "image_id": image_id}


def _app(db: Path, monkeypatch, **params: str) -> AppTest:
    monkeypatch.setenv("WORDCAM_DB", str(db))
    at = AppTest.from_file(str(APP), default_timeout=90)
    at.query_params.update({"lang": "en", **params})
    return at


def _keywords(db: Path, monkeypatch) -> AppTest:
    at = _app(db, monkeypatch, run="1")
    at.query_params["ward"] = [WARD]
    at.switch_page("views/keywords.py").run()
    assert not at.exception
    return at


def test_keywords_show_effects_and_sort_by_them(dbs, monkeypatch):
    at = _keywords(dbs["db"], monkeypatch)
    table = at.dataframe[0].value
    # one value per column (issue 23): the interval as two numbers, n and m apart
    assert {"effect", "95% interval low", "95% interval high", "verified", "n", "m"} <= set(
        table.columns
    )
    assert list(table["word"]) == dbs["words"]  # the mined order first
    shown = table.set_index("word")
    first, second = dbs["words"][:2]
    assert shown.loc[first, "verified"] == "✓ causal (hiding)"
    assert shown.loc[second, "verified"] == "no effect shown (hiding)"
    assert shown.loc[first, "effect"] == pytest.approx(0.05)
    assert shown.loc[first, "95% interval low"] == pytest.approx(0.03)
    assert shown.loc[first, "95% interval high"] == pytest.approx(0.07)
    unverified = dbs["words"][6:]
    assert (shown.loc[unverified, "verified"] == "not tested").all()
    assert shown.loc[unverified, "95% interval low"].isna().all()
    assert not any("wordcam verify --db" in c.value for c in at.caption)

    at.toggle(key="kw_sort_effect").set_value(True).run()
    by_effect = at.dataframe[0].value
    assert list(by_effect["word"][:6]) == dbs["words"][:6][::-1]  # 0.30, 0.25, ... 0.05
    assert by_effect["effect"][:6].is_monotonic_decreasing
    assert by_effect["effect"][6:].isna().all()


def test_keyword_chart_marks_causal_words():
    import pandas as pd

    frame = pd.DataFrame(
        {"ward": ["a", "a", "a"], "word": ["x", "y", "z"], "n": [3, 2, 1], "m": [4, 4, 4]}
    )
    data = charts.keyword_chart_data(frame, _verified_result("a", {"x": 0.2, "y": 0.0}, {"x"}))
    assert list(data["nm"]) == ["3/4 ✓", "2/4", "1/4"]
    assert list(data["word"]) == ["x", "y", "z"]  # the clicked word stays the word
    assert list(data["verified"][:2]) == [
        "✓ 因果的(隠す)",
        "効果は示されず(隠す)",
    ]  # ja outside a page
    plain = charts.keyword_chart_data(frame)
    assert list(plain["nm"]) == ["3/4", "2/4", "1/4"] and (plain["verified"] == "").all()
    spec = charts.spec_for("keywords", data, lang="en")
    tooltips = {t["field"] for layer in spec["layer"] for t in layer["encoding"]["tooltip"]}
    assert {"effect", "verified", "region"} <= tooltips
    assert (data["region"] == "").all()  # no word here is shown under an object


def test_keyword_chart_names_the_object_a_word_is_shown_under():
    """The bar of a word the table shows as "— region of cup" says so in its tooltip."""
    import pandas as pd

    from core.mining import Keyword, MiningResult

    words = [
        Keyword("cup", 4, 4, 1.0, kind="object"),
        Keyword("mug", 3, 3, 0.9, kind="object", attribute_of="cup"),
        Keyword("red", 3, 4, 0.8, kind="colour", attribute_of="cup"),
        Keyword("tree", 2, 4, 0.5, kind="object"),
    ]
    result = MiningResult({"a": words}, None, None, None, documents=8, skipped=0, lang="en")
    frame = pd.DataFrame(
        {"ward": ["a"] * 4, "word": [k.word for k in words], "n": [4, 3, 3, 2], "m": [4, 3, 4, 4]}
    )
    data = charts.keyword_chart_data(frame, result)
    assert list(data["region"]) == ["", "cup", "cup", ""]


def _verified_result(cls: str, effects: dict[str, float], causal: set[str]):
    """A keyword table of ``cls`` (words x, y, z) with ``effects`` attached as keyword_table
    attaches them (the other words not tested)."""
    from core.mining import Keyword, MiningResult, attach_effects

    words = [Keyword(w, 1, 4, 1.0) for w in ("x", "y", "z")]
    result = MiningResult({cls: words}, None, None, None, 3, 0)
    rows = [
        WordEffect(cls, w, 3, e, e - 0.1, e + 0.1, 0.01, 0.02, "causal", "road", "shifted")
        if w in causal
        else WordEffect(cls, w, 3, e, e - 0.1, e + 0.1, 0.4, 0.5, "no effect shown", "road", "c")
        for w, e in effects.items()
    ]
    return attach_effects(result, rows, {"fill": "road"})


def test_keywords_without_effects_say_how_to_get_them(dbs, monkeypatch):
    at = _keywords(dbs["plain"], monkeypatch)
    assert at.dataframe[0].value.columns.tolist() == [WARD]  # the table as before
    hint = [c.value for c in at.caption if "wordcam verify --db" in c.value]
    assert len(hint) == 1 and str(dbs["plain"]) in hint[0]
    assert not at.get("toggle")


def _pictures(at: AppTest) -> tuple[list[str], list[str]]:
    """Captions of the pictures shown, and of the pictures missing (a caption only)."""
    shown = [c for el in at.get("image") for c in el.captions]
    return shown, [c.value for c in at.caption]


def test_photos_show_the_comparison_for_a_verified_word(dbs, monkeypatch):
    first, second = dbs["words"][:2]
    at = _app(dbs["db"], monkeypatch, run="1", word=first)
    at.switch_page("views/photos.py").run()
    assert not at.exception
    picker = at.selectbox(key=f"ph_verify_{dbs['image_id']}_{first}")
    assert picker.options == [f"{first} ({WARD})", f"{second} ({WARD})"]
    assert picker.value == 0  # the word of the filter
    assert len([s for s in at.selectbox if str(s.key).startswith("ph_verify_")]) == 1
    shown, missing = _pictures(at)
    assert "Photo · 90.0%" in shown and f"“{first}” hidden · 30.0%" in shown
    assert "Control (same area) · 80.0%" in missing  # no control picture stored for this word
    picker.set_value(1).run()
    shown, missing = _pictures(at)
    assert "Control (same area) · 80.0%" in shown and f"“{second}” hidden · 30.0%" in missing


def test_precompute_has_the_verify_button(dbs, monkeypatch):
    at = _app(dbs["db"], monkeypatch)
    at.switch_page("views/precompute.py").run()
    assert not at.exception
    assert at.button(key="verify_start").label == "Verify the top words"
    assert any(s.value == "Verify words" for s in at.subheader)


def test_engine_options_give_the_ray_flags():
    assert job.engine_options("local", "ray://x:1", 3) == {}
    options = {"--model": "imagenet", "--limit": None}
    options |= job.engine_options("ray", " ray://head:10001 ", 4)
    command = job.job_command(Path("w.duckdb"), "photos", options)
    assert command[:4] == [sys.executable, "-m", "core", "precompute"]
    assert command[-6:-1] == [
        "--model=imagenet",
        "--engine=ray",
        "--ray-address=ray://head:10001",
        "--actors=4",
        "--",
    ]
    bare = job.job_command(Path("w.duckdb"), "photos", job.engine_options("ray", "", 0))
    assert bare[5:-1] == ["--no-progress", "--engine=ray", "--"]  # no address, no actors


def test_precompute_passes_the_engine_and_still_resumes(dbs, tmp_path, monkeypatch):
    started: list[dict] = []
    monkeypatch.setattr(
        job, "start_job", lambda db, folder, options: started.append(options) or _Job()
    )
    at = _app(dbs["db"], monkeypatch)
    at.switch_page("views/precompute.py").run()
    assert not at.exception
    assert at.button(key="pc_start").label == "Resume this run"
    assert at.text_input(key="pc_ray_address").disabled
    at.radio(key="pc_engine").set_value("ray").run()
    at.text_input(key="pc_ray_address").input("ray://head:10001").run()
    at.number_input(key="pc_actors").set_value(4).run()
    assert not at.text_input(key="pc_ray_address").disabled
    assert at.button(key="pc_start").label == "Resume this run"  # not part of the run's identity
    folder = tmp_path / "photos"
    folder.mkdir()
    at.text_input(key="pc_folder").input(str(folder)).run()
    assert at.button(key="pc_start").disabled  # writing into the open DB waits for a tick
    at.checkbox(key="pc_confirm_open_db").check().run()
    at.button(key="pc_start").click().run()
    assert not at.exception and started, [e.value for e in at.error]
    flags = started[-1]
    assert flags["--engine"] == "ray" and flags["--ray-address"] == "ray://head:10001"
    assert flags["--actors"] == 4 and flags["--model"] == "synthetic-wards"  # the run's


class _Job:
    pid = 0

    def poll(self) -> int:
        return 0


def test_the_verification_panel_shows_the_word_the_user_came_from(tmp_path, monkeypatch):
    """Issue 23: on a photo verified for two words, the panel follows the word of the filter
    when it changes (a picker kept from the first word showed the first word's pictures)."""
    db = make_db(tmp_path / "two.duckdb", n_images=200)
    with reading(db) as con:
        first, second, image_id = con.execute(
            "SELECT a.w, b.w, a.image_id FROM (SELECT image_id, unnest(tokens) AS w FROM tokens) a"
            " JOIN (SELECT image_id, unnest(tokens) AS w FROM tokens) b USING (image_id)"
            " JOIN images i USING (image_id) WHERE a.w < b.w AND i.true_label = ?"
            " AND i.status = 'done' ORDER BY i.pred_prob DESC LIMIT 1",
            [WARD],
        ).fetchone()
    photo = PhotoEffect(WARD, first, image_id, [1], True, 0.9, 0.3, 0.8, 0.2, "shifted", 0.0, False)
    with StoreWriter(db) as w:
        for i, word in enumerate((first, second)):
            write_effect(w.con, 1, KEY, _effect(word, i))
        write_photos(w.con, 1, KEY, [photo, PhotoEffect(**{**photo.__dict__, "word": second})])
    at = _app(db, monkeypatch, run="1", word=first, q=Path(_rel_path(db, image_id)).name)
    at.switch_page("views/photos.py").run()

    def shown_word() -> str:
        pickers = [s for s in at.selectbox if str(s.key).startswith(f"ph_verify_{image_id}")]
        assert len(pickers) == 1
        return pickers[0].options[pickers[0].value]

    assert shown_word() == f"{first} ({WARD})"
    at.text_input(key="w_ph_word").set_value(second).run()
    assert not at.exception
    assert shown_word() == f"{second} ({WARD})"


def _rel_path(db: Path, image_id: int) -> str:
    with reading(db) as con:
        return con.execute(
            "SELECT coalesce(rel_path, path) FROM images WHERE image_id = ?", [image_id]
        ).fetchone()[0]


def test_verify_starts_through_the_one_job_runner(dbs, monkeypatch):
    from dashboard import verified

    started: list[dict] = []
    monkeypatch.setattr(job, "start_verify", lambda db, options: started.append(options) or _Job())
    at = _app(dbs["db"], monkeypatch)
    at.switch_page("views/precompute.py").run()
    at.radio(key="pc_engine").set_value("ray").run()
    at.number_input(key="pc_actors").set_value(2).run()
    at.button(key="verify_start").click().run()
    assert not at.exception and started
    assert started[-1]["--run"] == 1
    assert (started[-1]["--engine"], started[-1]["--actors"]) == ("ray", 2)
    assert not hasattr(verified, "start_verify")  # no second runner
    command = job.verify_command(Path("w.duckdb"), {"--run": 1, "--engine": "ray"})
    assert command[3:] == ["verify", f"--db={Path('w.duckdb').resolve()}", "--no-progress",
                           "--run=1", "--engine=ray"]  # fmt: skip
    assert job.log_path(Path("w.duckdb"), "verify").name == "w.duckdb.verify.log"


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("en", "did not count in the test of “{word}”: no area of the same size"),
        ("ja", "「{word}」の検証に数えられていません: 対照に使える同じ大きさ"),
    ],
)
def test_a_photo_verify_could_not_measure_says_why(tmp_path, monkeypatch, lang, expected):
    """A sampled photo with no fair control has no pictures and no probabilities: the panel
    said "Photo · —", "hidden · —" (seen on the demo DB); it now says why, in the UI language."""
    db = make_db(tmp_path / "skipped.duckdb", n_images=200)
    with reading(db) as con:
        f = queries.PhotoFilter(labels=(WARD,))
        image_id = int(queries.ordered_photos(con, 1, f, "id", limit=1)["image_id"][0])
    skipped = PhotoEffect(
        WARD, "川", image_id, [1], True, None, None, None, None, None, None, False,
        skipped="no area of the same size and place elsewhere in the photo",
    )  # fmt: skip
    with StoreWriter(db) as w:
        write_effect(w.con, 1, KEY, _effect("川", 0))
        write_photos(w.con, 1, KEY, [skipped])
    at = _app(db, monkeypatch, run="1", q=Path(_rel_path(db, image_id)).name)
    at.query_params["lang"] = lang
    at.switch_page("views/photos.py").run()
    assert not at.exception
    captions = [c.value for c in at.caption]
    assert any(expected.format(word="川") in c for c in captions), captions
    assert not [c for c in captions if "· —" in c]


def test_photos_look_the_verification_up_once_not_per_card(dbs, monkeypatch):
    """Each Photos card asks for its photo's verified words; the latest verification is found
    once per snapshot, and a run without one asks nothing per card (the lookups were a third
    of a Photos rerun on the 300,000-photo benchmark)."""
    from dashboard import verified

    verified.q_effects_key.clear()  # earlier tests of this module read the same snapshots
    verified._q_photo_effects.clear()
    opened = []
    real = verified.cursor
    monkeypatch.setattr(verified, "cursor", lambda *a: opened.append(a) or real(*a))
    plain = str(dbs["plain"])
    mtime = dbs["plain"].stat().st_mtime_ns
    assert [verified.q_photo_effects(plain, mtime, 1, i) for i in range(1, 13)] == [[]] * 12
    assert len(opened) == 1
    db, image_id = str(dbs["db"]), dbs["image_id"]
    mtime = dbs["db"].stat().st_mtime_ns
    assert [e.word for e in verified.q_photo_effects(db, mtime, 1, image_id)] == dbs["words"][:2]
    verified.q_photo_effects(db, mtime, 1, image_id + 1)
    assert len(opened) == 1 + 3  # the key once, then one read per photo
