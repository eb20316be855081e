"""Hedged names (issue 21.4, docs/terms.md "Hedged names"): the naming rule decides what is
shown, not what is kept. A name the default rule drops stays in the explanation as a guess,
a ``guess`` term that words -> label keeps and the default keyword table hides."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.explainers.base import ExplainRequest
from core.explainers.grounded import GroundedExplainer, RegionFacts
from core.explainers.naming import CALIBRATED_RULE, DEFAULT_RULE, LEGACY_RULE, name_region
from core.mining.arrange import arrange
from core.mining.result import Keyword, MiningResult
from core.mining.settings import DEFAULTS, MiningSettings
from core.models.base import Classifier, Preprocessing
from core.models.imagenet import imagenet_labels
from core.regions import Region
from core.text import tokenize
from core.text.evidence import KINDS, document_terms, majority_kinds

NEMATODE, FLATWORM, TABBY, TIGER_CAT = 111, 110, 281, 282


def _views(*rows: dict[int, float]) -> np.ndarray:
    out = np.zeros((len(rows), 1000))
    for v, row in enumerate(rows):
        out[v] = (1.0 - sum(row.values())) / (1000 - len(row))
        for k, p in row.items():
            out[v, k] = p
    return out


class _Uniform(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros(x.shape[0], 1000)


@pytest.fixture(scope="module")
def imagenet_names() -> Classifier:
    labels = imagenet_labels()
    return Classifier(
        module=_Uniform(),
        labels=list(labels["en"]),
        preprocess=Preprocessing(image_size=32, resize=37),
        spec="names",
        localized_labels={k: list(v) for k, v in labels.items()},
    )


def _explain(model: Classifier, rule, lang: str, recorded):
    """Explanations composed from recorded per-view probabilities, as the calibration's replay
    does (``benchmarks/naming_calibration.py``)."""
    explainer = GroundedExplainer(crop_model=model, lang=lang, naming=rule)
    request = ExplainRequest(
        image=Image.new("RGB", (8, 8)), cam=np.zeros((8, 8)), predictions=[], label=None,
        task="", key="k",
    )  # fmt: skip
    out = []
    for regions in recorded:
        facts = []
        for region, probs in regions:
            naming = name_region(probs, rule, None, region.heat_share)
            fact = RegionFacts(region, [("grey", 1.0)], list(naming.specific))
            fact.hedged_ids = list(naming.hedged)
            facts.append(fact)
        out.append(explainer._compose(request, facts))
    return out


def _recorded(seed: int = 0, photos: int = 60):
    """Photos of 1-4 regions of random heat, each with two views' probabilities: a few peaked
    classes at 0.05-0.6 over a flat rest (weak texture readings and sure objects alike)."""
    rng = np.random.default_rng(seed)
    positions = ["upper-left", "middle-center", "lower-right", "upper-right"]
    out = []
    for _ in range(photos):
        n = int(rng.integers(1, 5))
        shares = rng.dirichlet(np.ones(n))
        regions = []
        for i, share in enumerate(sorted(shares, reverse=True)):
            region = Region(i + 1, (0, 0, 4, 4), (2.0, 2.0), float(share), 16, positions[i])
            peaks = rng.choice(1000, size=3, replace=False)
            rows = [
                {int(k): float(rng.uniform(0.02, 0.3)) for k in peaks}
                for _ in range(2)
            ]  # fmt: skip
            regions.append((region, _views(*rows)))
        out.append(regions)
    return out


def test_a_dropped_name_is_kept_as_a_guess():
    weak = _views({NEMATODE: 0.2, FLATWORM: 0.12})
    side = name_region(weak, DEFAULT_RULE, None, heat_share=0.1)
    assert side.specific == () and [k for k, _ in side.hedged] == [NEMATODE, FLATWORM]
    assert name_region(weak, CALIBRATED_RULE, None, heat_share=0.1).hedged == ()
    hot = name_region(weak, DEFAULT_RULE, None, heat_share=0.6)  # named: nothing to hedge
    assert [k for k, _ in hot.specific] == [NEMATODE, FLATWORM] and hot.hedged == ()


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_every_explanation_keeps_the_legacy_rules_words(imagenet_names, lang):
    recorded = _recorded()
    legacy = _explain(imagenet_names, LEGACY_RULE, lang, recorded)
    hedged = _explain(imagenet_names, DEFAULT_RULE, lang, recorded)
    default = _explain(imagenet_names, CALIBRATED_RULE, lang, recorded)
    guesses = 0
    for old, new, shown in zip(legacy, hedged, default, strict=True):
        old_terms = document_terms(old.text, old.details, lang)
        new_terms = document_terms(new.text, new.details, lang)
        shown_terms = document_terms(shown.text, shown.details, lang)
        assert set(new_terms.tokens) == set(old_terms.tokens)  # words -> label keeps them
        # what is shown (every kind but guess) is the default rule's
        assert [t for t in new_terms.terms if t.kind != "guess"] == shown_terms.terms
        guesses += sum(t.kind == "guess" for t in new_terms.terms)
        # read as free text: every legacy word is kept, and the hedge adds no filler term
        # (the only other words are the unnamed template's own: 特定, 物体 / object)
        free_old, free_new = set(tokenize(old.text, lang=lang)), set(tokenize(new.text, lang=lang))
        assert free_old <= free_new
        assert free_new - free_old <= set(tokenize(shown.text, lang=lang))
    assert guesses > 20  # the random regions do exercise the hedge


def test_the_hedged_sentence_reads_as_a_guess(imagenet_names):
    region = Region(1, (0, 0, 4, 4), (2.0, 2.0), 0.2, 16, "upper-left")
    recorded = [[(region, _views({NEMATODE: 0.2, FLATWORM: 0.12}))]]
    (ja,) = _explain(imagenet_names, DEFAULT_RULE, "ja", recorded)
    (en,) = _explain(imagenet_names, DEFAULT_RULE, "en", recorded)
    assert "特定の物体ははっきりしません（もしかすると線虫やヒラムシ）。" in ja.text
    assert "shows no clearly recognisable object, perhaps a nematode or a flatworm." in en.text
    assert en.details["regions"][0]["candidates"] == []
    assert [h["label"] for h in en.details["regions"][0]["hedged"]] == ["nematode", "flatworm"]
    assert tokenize(en.text, lang="en")[-2:] == ["nematode", "flatworm"]
    # a region named and hedged at once (a rule that drops a second name)
    both = RegionFacts(region, [], [(TABBY, 0.5)])
    both.hedged_ids = [(TIGER_CAT, 0.15)]
    explainer = GroundedExplainer(crop_model=imagenet_names, lang="en")
    request = ExplainRequest(Image.new("RGB", (8, 8)), np.zeros((8, 8)), [], None, "", "k")
    assert (
        "looks like a tabby, perhaps also a tiger cat." in explainer._compose(request, [both]).text
    )


def test_a_rule_without_hedge_writes_no_hedged_key(imagenet_names):
    region = Region(1, (0, 0, 4, 4), (2.0, 2.0), 0.2, 16, "upper-left")
    recorded = [[(region, _views({NEMATODE: 0.2}))]]
    (out,) = _explain(imagenet_names, CALIBRATED_RULE, "en", recorded)
    assert "hedged" not in out.details["regions"][0]  # stored details unchanged


def test_guess_is_a_kind_of_its_own_and_the_majority_decides():
    assert KINDS[-1] == "guess"
    details = {
        "explainer": "grounded",
        "regions": [
            {"index": 1, "position": "upper-left", "colors": [], "candidates": [],
             "hedged": [{"label": "Nematode", "prob": 0.2}]},
            {"index": 2, "position": "lower-right", "colors": [],
             "candidates": [{"label": "nematode", "prob": 0.5}], "hedged": []},
        ],
    }  # fmt: skip
    terms = document_terms("x", details, "en")
    assert [(t.term, t.kind, t.regions) for t in terms.terms if t.kind in ("object", "guess")] == [
        ("nematode", "guess", (1,)),
        ("nematode", "object", (2,)),
    ]
    # one each: a tie goes to the kind listed first (object)
    assert majority_kinds([terms])["nematode"] == "object"
    assert (
        majority_kinds(
            [terms, document_terms("x", {**details, "regions": details["regions"][:1]}, "en")]
        )["nematode"]
        == "guess"
    )


def test_the_stores_tie_order_is_the_kinds_order():
    from core.store.word_owners import _KIND_ORDER

    assert sorted(_KIND_ORDER, key=_KIND_ORDER.get) == list(KINDS)


def test_the_default_table_hides_guesses_unless_the_filter_picks_them():
    words = [
        Keyword("線虫", 6, 7, 2.0),
        Keyword("エジプト猫", 20, 24, 1.5),
        Keyword("茶色", 9, 30, 1.0),
    ]
    result = MiningResult({"中央区": words}, 0.8, None, None, 60, 0)
    kinds = {"線虫": "guess", "エジプト猫": "object", "茶色": "colour"}
    shown = arrange(result, DEFAULTS, kinds)
    assert [k.word for k in shown.classes["中央区"]] == ["エジプト猫", "茶色"]
    assert shown.text_accuracy == 0.8  # the fit, with the guess, is unchanged
    picked = arrange(result, MiningSettings(kinds=("object", "guess")), kinds)
    assert "線虫" in [k.word for k in picked.classes["中央区"]]


def test_a_guess_word_is_tested_by_hiding():
    from core.verify.changes import tests_for

    assert tests_for("guess") == ("hide",)


# ------------------------------------------------------------------ on a stored run


def _hedged_row(i: int, cls: str):
    from tests.synthetic_db import done_row

    obj = {"cafe": "cup", "street": "car", "park": "bench"}[cls]
    tokens, kinds = [obj, "grey"], ["object", "colour"]
    if cls == "street" and i < 3:  # thresher named twice, guessed once: m = 3, but 2 named
        tokens.append("thresher")
        kinds.append("object" if i < 2 else "guess")
    if cls == "park" and i < 8:  # nematode: guessed in 7 photos, named in 1
        tokens.append("nematode")
        kinds.append("object" if i == 0 else "guess")
    if cls == "cafe" and i < 4:  # espresso: named in 4, guessed besides in 2 of them
        tokens += ["espresso"] + (["espresso"] if i < 2 else [])
        kinds += ["object"] + (["guess"] if i < 2 else [])
    return done_row(cls, i, tokens, kinds, {t: ([1], True) for t in tokens})


@pytest.fixture(scope="module")
def hedged_db(tmp_path_factory):
    from core.mining import store_default_results
    from core.store import StoreWriter
    from core.store.results import ExplanationSource, write_rows
    from core.store.runs import RunRecord, create_run
    from core.store.terms import write_terms

    path = tmp_path_factory.mktemp("hedged") / "hedged.duckdb"
    with StoreWriter(path) as w:
        run_id = create_run(w.con, RunRecord("images", "/p", lang="en"), ["cafe", "street", "park"])
        rows = [_hedged_row(i, c) for c in ("cafe", "street", "park") for i in range(12)]
        write_rows(w.con, run_id, rows, ExplanationSource("grounded", "blind", "en"))
        write_terms(w.con, run_id)
        store_default_results(w.con, run_id)
    return path


def test_the_stored_table_shows_names_given_with_their_own_counts(hedged_db):
    from core.mining import keyword_table

    table = keyword_table(hedged_db, settings=MiningSettings(min_m=1))
    words = {c: {k.word: k for k in kws} for c, kws in table.classes.items()}
    assert "nematode" not in words["park"]  # mostly a guess: hidden
    assert (words["street"]["thresher"].n, words["street"]["thresher"].m) == (2, 2)  # not 3
    assert (words["cafe"]["espresso"].n, words["cafe"]["espresso"].m) == (4, 4)
    assert "thresher" not in {k.word for k in keyword_table(hedged_db).classes["street"]}  # m<3
    picked = keyword_table(hedged_db, settings=MiningSettings(kinds=("guess",), min_m=1))
    assert "nematode" in {k.word for k in picked.classes["park"]}
    assert table.text_accuracy == keyword_table(hedged_db, settings=MiningSettings()).text_accuracy


def test_the_store_and_the_replay_count_guessed_documents_alike(hedged_db):
    from core.mining.arrange import guessed_only as in_memory
    from core.store import reading
    from core.store.word_owners import guessed_only
    from core.text.evidence import DocumentTerms, Term

    rows = [_hedged_row(i, c) for c in ("cafe", "street", "park") for i in range(12)]
    docs = [
        DocumentTerms([Term(t, k) for t, k in zip(r.tokens, r.kinds, strict=True)]) for r in rows
    ]
    expected = in_memory(docs, [r.true_label for r in rows])
    assert expected == {"thresher": (1, {"street": 1}), "nematode": (7, {"park": 7})}
    with reading(hedged_db) as con:
        words = ["thresher", "nematode", "espresso", "cup"]
        assert guessed_only(con, 1, "true", words, ["guess"]) == expected
        assert guessed_only(con, 1, "true", words, []) == {}


def test_the_explainers_default_is_the_calibrated_rule_with_hedged_names():
    from dataclasses import replace

    assert replace(CALIBRATED_RULE, hedge=True) == DEFAULT_RULE
    assert GroundedExplainer(crop_model=object()).rule == DEFAULT_RULE


def test_the_ward_contrast_leaves_guesses_out(tmp_path, monkeypatch):
    """The Compare page's ward contrast hides the guesses as the Keywords table does."""
    import duckdb
    from streamlit.testing.v1 import AppTest

    from core.mining import shown_kinds
    from tests.synthetic_db import make_db

    assert shown_kinds(["object", "colour"]) == ()  # a run without guesses: no filter
    assert shown_kinds(["object", "other", "guess"]) == ("object", "other")
    db = make_db(tmp_path / "guess.duckdb", n_images=300)
    con = duckdb.connect(str(db))
    words = [r[0] for r in con.execute("SELECT DISTINCT unnest(tokens) FROM tokens").fetchall()]
    guesses = sorted(words)[::2]  # every other word is only ever guessed
    con.execute(
        "UPDATE tokens SET kinds = list_transform(tokens, lambda t:"
        " CASE WHEN list_contains(?, t) THEN 'guess' ELSE 'object' END)",
        [guesses],
    )
    con.close()
    monkeypatch.setenv("WORDCAM_DB", str(db))
    app = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py"))
    app.query_params["lang"] = "en"
    app.run(timeout=90)
    app.switch_page("views/compare.py").run(timeout=90)
    assert not app.exception, [e.value for e in app.exception]
    contrast = app.dataframe[-1].value
    assert len(contrast) and not set(contrast["word"]) & set(guesses)
    assert any("only guessed" in c.value for c in app.caption)


def test_wordcam_mine_contrast_leaves_guesses_out_as_the_compare_page_does(hedged_db, capsys):
    from core.cli import main

    assert (
        main(["mine", "--db", str(hedged_db), "--contrast", "park", "cafe", "--format", "csv"]) == 0
    )
    shown = capsys.readouterr().out
    assert "nematode" not in shown and "bench" in shown
    picked = ["--kind", "guess", "--min-df", "1"]
    args = ["mine", "--db", str(hedged_db), "--contrast", "park", "cafe", "--format", "csv"]
    assert main([*args, *picked]) == 0
    assert "nematode" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra",
    [{"agree_below": 0.2}, {"agree_below": 0.3, "agree_rank": 2}, {"view_min": 0.05}],
    ids=["agree", "agree-rank", "view-min"],
)
def test_a_stricter_shown_rule_keeps_the_legacy_rules_words(imagenet_names, extra):
    # the fourth round (docs/terms.md): any stricter shown rule, hedged, keeps every legacy word
    from dataclasses import replace

    recorded = _recorded(seed=1)
    stricter = replace(DEFAULT_RULE, **extra)
    legacy = _explain(imagenet_names, LEGACY_RULE, "ja", recorded)
    hedged = _explain(imagenet_names, stricter, "ja", recorded)
    default = _explain(imagenet_names, DEFAULT_RULE, "ja", recorded)
    shown = {"stricter": 0, "default": 0}
    for old, new, usual in zip(legacy, hedged, default, strict=True):
        old_terms = document_terms(old.text, old.details, "ja")
        new_terms = document_terms(new.text, new.details, "ja")
        assert set(new_terms.tokens) == set(old_terms.tokens)
        for key, e in (("stricter", new), ("default", usual)):
            shown[key] += sum(len(r.get("candidates") or []) for r in e.details["regions"])
    assert shown["stricter"] < shown["default"]  # it does show fewer names
