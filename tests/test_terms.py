"""Terms with kinds and regions from what each explainer knows, stored by the job, redone for
runs of an older version without explaining again, and filtered by kind in mining."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest
from test_precompute import make_photos, register_test_backends

from core.explainers.base import ExplainRequest
from core.explainers.grounded import GroundedExplainer, RegionFacts
from core.regions import Region
from core.text import tokenize
from core.text.evidence import TERMS_VERSION, document_terms

NAMES = {
    "en": ["trench coat", "Kerry blue terrier", "goldfish"],
    "ja": ["トレンチコート", "ケリー・ブルー・テリア", "金魚"],
}
FILLER = {
    "en": {"mainly", "focus", "upper", "lower", "left", "evidence", "main", "object",
           "heat", "hold", "light", "concentrate", "classify", "recognisable", "region"},
    "ja": {"モデル", "領域", "注目", "熱", "主", "根拠", "判断", "集中", "占める", "見える", "部分",
           "物体", "特定"},
}  # fmt: skip


def fake_crop_model() -> SimpleNamespace:
    """What ``_compose`` reads of the crop model: its localized names and spec."""
    return SimpleNamespace(localized_labels=NAMES, spec="fake-crops")


def region(index: int, position: str) -> Region:
    return Region(index, (0, 0, 10, 10), (5.0, 5.0), 0.5 / index, 100, position)


def grounded_answer(lang: str, label: str | None = None):
    """A grounded explanation composed by the explainer's own templates (3 regions)."""
    explainer = GroundedExplainer(crop_model=fake_crop_model(), lang=lang)
    facts = [
        RegionFacts(region(1, "upper-left"), [("cyan", 0.6), ("red", 0.3)], [(0, 0.5), (1, 0.2)]),
        RegionFacts(region(2, "lower-center"), [("grey", 1.0)]),
        RegionFacts(region(3, "upper-left"), [("red", 1.0)], [(2, 0.4)]),
    ]
    request = ExplainRequest(None, None, [], label, "")  # type: ignore[arg-type]
    answer = explainer._compose(request, facts)
    return json.loads(json.dumps(answer.details)), answer.text  # as stored


@pytest.mark.parametrize("lang", ["en", "ja"])
@pytest.mark.parametrize("label", [None, "trench coat"])
def test_grounded_terms_kinds_and_regions_come_from_the_details(lang, label) -> None:
    details, text = grounded_answer(lang, label)
    terms = document_terms(text, details, lang, explainer="grounded")
    en = lang == "en"
    upper_left, lower_centre = ("upper left", "lower centre") if en else ("左上", "下部中央")
    light_blue, red, grey = ("light blue", "red", "grey") if en else ("水色", "赤", "灰色")
    coat, terrier, fish = ("trench coat", "kerry blue terrier", "goldfish") if en else NAMES["ja"]
    assert list(zip(terms.tokens, terms.kinds, strict=True)) == [
        (upper_left, "position"), (light_blue, "colour"), (red, "colour"), (coat, "object"),
        (terrier, "object"), (lower_centre, "position"), (grey, "colour"),
        (upper_left, "position"), (red, "colour"), (fish, "object"),
    ]  # fmt: skip
    regions = terms.word_regions()
    assert regions[coat] == ([1], True) and regions[fish] == ([3], True)
    assert regions[upper_left] == ([1, 3], True) and regions[red] == ([1, 3], True)
    assert regions[grey] == ([2], True) and regions[lower_centre] == ([2], True)
    # every term is written in the text as it stands (examples and highlights search the text)
    assert all(t in (text.lower() if en else text) for t in terms.tokens)
    # the templates' filler reaches no term, though the tokenizer alone would let it through
    assert not FILLER[lang] & set(terms.tokens)
    assert FILLER[lang] & set(tokenize(text, lang=lang))


def test_grounded_without_regions_or_objects_has_no_filler_terms() -> None:
    explainer = GroundedExplainer(crop_model=fake_crop_model(), lang="en")
    request = ExplainRequest(None, None, [], None, "")  # type: ignore[arg-type]
    answer = explainer._compose(request, [])
    assert answer.text and document_terms(answer.text, answer.details, "en").tokens == []


MARKS = [{"index": 1, "position": "upper left"}, {"index": 2, "position": "lower centre"}]


def test_structured_answer_terms_take_the_regions_each_item_names() -> None:
    details = {
        "objects": [
            {"object": "Trench coats", "feature": "long beige fabric", "region": "1"},
            {"object": "red car", "feature": "shiny", "region": "lower center"},
            {"object": "sky", "feature": "clear", "region": "background"},
        ],
        "regions": MARKS,
    }
    terms = document_terms("(rendered objects)", details, "en", explainer="openai:gpt-4o")
    kinds = dict(zip(terms.tokens, terms.kinds, strict=True))
    assert kinds["trench coat"] == "object" and kinds["car"] == "object"
    assert kinds["red"] == kinds["beige"] == "colour" and kinds["fabric"] == "other"
    assert kinds["lower centre"] == "position"
    regions = terms.word_regions()
    assert regions["trench coat"] == regions["fabric"] == ([1], True)
    assert regions["car"] == regions["shiny"] == regions["lower centre"] == ([2], True)
    assert regions["sky"] == ([1, 2], False)  # a region the marks do not name: unlocalized


def test_structured_answer_without_numbered_regions_is_unlocalized() -> None:
    details = {"objects": [{"object": "自転車", "feature": "赤いフレーム", "region": "上部中央"}]}
    terms = document_terms("自転車（上部中央）: 赤いフレーム", details, "ja")
    assert "上部中央" in terms.tokens and "自転車" in terms.tokens
    assert all(v == ([], False) for v in terms.word_regions().values())


def test_marks_free_text_ties_sentences_to_the_regions_they_name() -> None:
    text = (
        "Region 1 shows a bicycle lane marking, highlighted in red in the Grad-CAM heatmap. "
        "Regions 1 and 2 contain a trench coat. The sky is clear.\n"
        "領域2には自転車が停まっている。"
    )
    terms = document_terms(text, {"regions": MARKS}, "en")
    regions = terms.word_regions()
    assert regions["bicycle lane marking"] == ([1], True)
    assert regions["trench coat"] == ([1, 2], True)
    assert regions["sky"] == ([1, 2], False)
    assert not {"red", "grad-cam", "heatmap", "highlight"} & set(terms.tokens)
    ja = document_terms("領域2には自転車が停まっている。空は青い。", {"regions": MARKS}, "ja")
    assert ja.word_regions()["自転車"] == ([2], True)
    assert ja.word_regions()["停まる"] == ([2], True)
    assert ja.word_regions()["空"] == ([1, 2], False)


def test_free_text_is_unlocalized_and_known_names_are_objects() -> None:
    text = "屋根の構造: GradCAMの画像で屋根部分が赤く強調されています。金魚と看板が見えます。"
    terms = document_terms(text, {"model": "gpt-4o"}, "ja", phrases=["看板"])
    kinds = dict(zip(terms.tokens, terms.kinds, strict=True))
    assert kinds["金魚"] == "object" and kinds["看板"] == "object"  # ImageNet name, model label
    assert kinds["構造"] == "other" and "構造:" not in kinds
    assert not {"GradCAM", "赤い", "強調"} & set(kinds)
    assert all(v == ([], False) for v in terms.word_regions().values())
    en = document_terms("A goldfish near a trench coats rack.", None, "en")
    assert dict(zip(en.tokens, en.kinds, strict=True))["trench coat"] == "object"


# ----------------------------------------------------------------------------- the job


class CannedGrounded(GroundedExplainer):
    """The grounded explainer with a canned crop model: every crop 'looks like' one name."""

    name = "testgrounded"

    def __init__(self, arg=None, lang="en", **options):
        super().__init__(crop_model=fake_crop_model(), lang=lang)

    def _candidates(self, crops, heats=None):
        from core.explainers.naming import Naming

        return [Naming(specific=((i % 3, 0.5),)) for i in range(len(crops))]


class Refuses:
    """An explainer that must not be called (re-tokenizing never explains again)."""

    name = "testgrounded"

    def explain_batch(self, requests):
        raise AssertionError("the explainer was called")


@pytest.fixture(scope="module")
def grounded_db(tmp_path_factory) -> tuple[Path, Path]:
    from core.jobs import run_precompute
    from core.registry import register_explainer

    register_test_backends()
    register_explainer("testgrounded", CannedGrounded)
    root = tmp_path_factory.mktemp("terms")
    photos = make_photos(root / "photos", per_class=3, broken=False)
    db = root / "wordcam.duckdb"
    summary = run_precompute(
        photos, db, model="tiny", explainer="testgrounded", lang="en", progress=False
    )
    assert summary.done == 9
    return photos, db


def _stored(db: Path) -> tuple[list, list, list]:
    from core.store import connect_read

    with connect_read(db) as con:
        tokens = con.execute(
            "SELECT image_id, tokens, kinds, tokenizer FROM tokens ORDER BY image_id"
        ).fetchall()
        regions = con.execute(
            "SELECT image_id, term, regions, localized FROM word_regions ORDER BY ALL"
        ).fetchall()
        terms = [t for (t,) in con.execute("SELECT term FROM terms ORDER BY term").fetchall()]
    return tokens, regions, terms


def test_the_job_stores_kinds_version_and_word_regions(grounded_db) -> None:
    _, db = grounded_db
    tokens, regions, terms = _stored(db)
    assert len(tokens) == 9 and {t[3] for t in tokens} == {TERMS_VERSION}
    for _, words, kinds, _ in tokens:
        assert len(words) == len(kinds) and set(kinds) <= {"object", "colour", "position"}
        assert "object" in kinds and "position" in kinds
    assert regions and all(localized for *_, localized in regions)
    assert all(r and all(isinstance(i, int) and i >= 1 for i in r) for _, _, r, _ in regions)
    assert {"trench coat", "goldfish"} & set(terms) and not FILLER["en"] & set(terms)


def _age(db: Path) -> None:
    """Make the run look written by the old tokenizer: text tokens, no kinds, no regions."""
    from core.mining import store_default_results, write_terms
    from core.store import StoreWriter

    with StoreWriter(db) as writer:
        con = writer.con
        for image_id, text in con.execute("SELECT image_id, text FROM explanations").fetchall():
            con.execute(
                "UPDATE tokens SET tokens = ?, kinds = NULL, tokenizer = NULL WHERE image_id = ?",
                [tokenize(text, lang="en"), image_id],
            )
        con.execute("DELETE FROM word_regions")
        write_terms(con, 1)
        store_default_results(con, 1)
        writer.publish(force=True)


def test_rerun_retokenizes_an_old_run_without_explaining(grounded_db) -> None:
    from core.jobs import run_precompute
    from core.mining import mine_source

    photos, db = grounded_db
    before = _stored(db)
    _age(db)
    aged_tokens, aged_regions, aged_terms = _stored(db)
    assert not aged_regions and FILLER["en"] & set(aged_terms)
    assert FILLER["en"] & {w for kw in mine_source(db, top=50).classes.values() for w in
                           (k.word for k in kw)}  # fmt: skip

    summary = run_precompute(
        photos, db, model="tiny", explainer=Refuses(), lang="en", progress=False
    )
    assert summary.run_id == 1 and summary.skipped_existing == 9
    assert _stored(db) == before  # tokens, kinds, version, word_regions and terms all back
    words = {k.word for kw in mine_source(db, top=50).classes.values() for k in kw}
    assert words and not FILLER["en"] & words  # the stored keyword tables were rebuilt


def test_retokenize_alone_on_a_db(grounded_db) -> None:
    from core.jobs import retokenize

    _, db = grounded_db
    before = _stored(db)
    _age(db)
    assert retokenize(db) == {1: 9}
    assert _stored(db) == before
    assert retokenize(db) == {}  # nothing stale: nothing done


def test_mine_kind_object(grounded_db, capsys) -> None:
    from core.cli import main
    from core.mining import run_word_kinds

    _, db = grounded_db
    assert set(run_word_kinds(db)) == {"object", "colour", "position"}
    assert main(["mine", "--db", str(db), "--kind", "object", "--format", "json"]) == 0
    words = {kw["word"] for kws in json.loads(capsys.readouterr().out)["classes"].values()
             for kw in kws}  # fmt: skip
    assert words and words <= {"trench coat", "kerry blue terrier", "goldfish"}
    assert main(["mine", "--db", str(db), "--kind", "colour", "--kind", "position,color"]) == 0
    table = capsys.readouterr().out
    # no object word is listed (a colour word may name the object whose region it is)
    assert "goldfish(" not in table and "trench coat(" not in table
    assert main(["mine", "--db", str(db), "--kind", "thing"]) == 1
    assert "unknown word kind thing" in capsys.readouterr().err
