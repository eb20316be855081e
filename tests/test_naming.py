"""Names worth showing: the grounded explainer's naming rule, ImageNet's WordNet ancestry, and
English terms limited to the parts of speech the Japanese side keeps (issue 21.4)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from core.explainers.base import ExplainRequest
from core.explainers.grounded import GroundedExplainer
from core.explainers.naming import (
    CATEGORIES,
    DEFAULT_RULE,
    LEGACY_RULE,
    Naming,
    NamingRule,
    class_categories,
    imagenet_ancestry,
    most_specific,
    name_region,
)
from core.models.base import Classifier, Preprocessing
from core.models.imagenet import imagenet_labels
from core.text import tokenize

TABBY, NEMATODE, FLATWORM, MOPED, ESPRESSO, MUG, DAISY = 281, 111, 110, 665, 967, 504, 985


def _key(categories: np.ndarray, index: int) -> str | None:
    return most_specific(categories, index)


# ------------------------------------------------------------------ English parts of speech


def test_the_issues_sentence_keeps_only_the_park_bench():
    assert tokenize("The model mainly focused on a park bench.", lang="en") == ["park bench"]


def test_adverbs_and_function_words_never_become_english_terms():
    text = (
        "It is very likely that the red car was parked quickly near two old buildings, "
        "and then it rained heavily. Probably a dog, almost certainly not outdoors."
    )
    terms = tokenize(text, lang="en")
    for word in ("very", "quickly", "near", "two", "then", "heavily", "probably", "almost"):
        assert word not in terms, terms
    for word in ("red", "car", "park", "old", "building", "rain", "dog"):
        assert word in terms, terms  # nouns, adjectives and verbs stay


def test_the_tagger_decides_not_a_word_list():
    # the same word is a term as a noun and not as an adverb
    assert "back" in tokenize("The cat sat on the back of the sofa.", lang="en")
    assert "back" not in tokenize("The cat came back.", lang="en")


# ------------------------------------------------------------------ WordNet ancestry


def test_the_hierarchy_is_imagenets_1000_synsets_in_class_order():
    ancestry = imagenet_ancestry()
    wnids = [w for w, _ in ancestry]
    assert len(wnids) == 1000 and wnids == sorted(set(wnids))  # ImageNet's order: sorted wnids
    assert wnids[0] == "n01440764"  # tench, the first class
    assert "n00015388" in ancestry[TABBY][1]  # a tabby is an animal


def test_classes_get_their_broader_word_from_wordnet():
    categories = class_categories(imagenet_labels()["en"])
    assert categories is not None and categories.shape == (1000, len(CATEGORIES))
    assert _key(categories, TABBY) == "feline" and _key(categories, NEMATODE) == "invertebrate"
    assert categories[TABBY] @ categories[NEMATODE] == 1  # both animals, nothing narrower
    assert _key(categories, MOPED) == "motor vehicle"
    assert _key(categories, ESPRESSO) == "food"
    assert _key(categories, MUG) == "container"
    assert _key(categories, DAISY) == "flower"
    assert (categories.sum(axis=1) > 0).mean() > 0.9  # most classes have a broader word
    assert class_categories(["apple", "banana"]) is None  # not ImageNet: no broader words
    assert class_categories(list(reversed(imagenet_labels()["en"]))) is None


# ------------------------------------------------------------------ the rule


def _views(*rows: dict[int, float]) -> np.ndarray:
    out = np.full((len(rows), 1000), 0.0)
    for v, row in enumerate(rows):
        rest = (1.0 - sum(row.values())) / (1000 - len(row))
        out[v] = rest
        for k, p in row.items():
            out[v, k] = p
    return out


CATS = class_categories(imagenet_labels()["en"])


def test_a_confident_class_is_named():
    rule = NamingRule(min_prob=0.3, broad_min=0.6)
    naming = name_region(_views({TABBY: 0.8}, {TABBY: 0.6}), rule, CATS)
    assert [k for k, _ in naming.specific] == [TABBY] and naming.broader is None
    assert naming.specific[0][1] == pytest.approx(0.7)


def test_weak_names_of_one_kind_become_the_broader_word():
    # texture: 0.2 nematode, 0.2 flatworm, 0.3 tabby: no class is sure, but all are animals
    views = _views({NEMATODE: 0.2, FLATWORM: 0.2, TABBY: 0.3})
    rule = NamingRule(min_prob=0.35, broad_min=0.6)
    assert name_region(views, rule, CATS) == Naming(
        broader=("animal", pytest.approx(0.819, abs=0.005))  # + the rest's animals
    )
    # the old rule named both nematode-like guesses
    assert [k for k, _ in name_region(views, LEGACY_RULE, CATS).specific] == [TABBY, FLATWORM]
    assert name_region(views, rule, None) == Naming()  # no hierarchy: left unnamed


def test_weak_names_of_mixed_kinds_leave_the_region_unnamed():
    views = _views({NEMATODE: 0.2, MOPED: 0.2, ESPRESSO: 0.2})
    assert name_region(views, NamingRule(min_prob=0.35, broad_min=0.6), CATS) == Naming()


def test_agreement_between_views():
    views = _views({TABBY: 0.7}, {MOPED: 0.5, TABBY: 0.3})
    assert name_region(views, NamingRule(min_prob=0.3), CATS).specific[0][0] == TABBY
    assert name_region(views, NamingRule(min_prob=0.3, agree_below=1.0), CATS).specific == ()


def test_the_default_rule_is_stricter_than_the_legacy_one():
    assert DEFAULT_RULE.min_prob >= LEGACY_RULE.min_prob


# ------------------------------------------------------------------ in the explainer


class _FixedLogits(torch.nn.Module):
    def __init__(self, probs: np.ndarray) -> None:
        super().__init__()
        self.logits = torch.log(torch.tensor(probs, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits.expand(x.shape[0], -1)


def _imagenet_like(probs: np.ndarray) -> Classifier:
    labels = imagenet_labels()
    return Classifier(
        module=_FixedLogits(probs),
        labels=list(labels["en"]),
        preprocess=Preprocessing(image_size=32, resize=37),
        spec="fixed",
        localized_labels={k: list(v) for k, v in labels.items()},
    )


def _request() -> ExplainRequest:
    yy, xx = np.mgrid[0:64, 0:64]
    cam = np.exp(-((xx - 32) ** 2 + (yy - 32) ** 2) / 128.0).astype(np.float32)
    image = Image.fromarray(np.full((64, 64, 3), 120, np.uint8))
    return ExplainRequest(image=image, cam=cam, predictions=[], label=None, task="", key="k")


def test_the_explainer_names_a_weak_animal_region_with_the_broader_word():
    model = _imagenet_like(_views({NEMATODE: 0.2, FLATWORM: 0.2, TABBY: 0.3})[0])
    rule = NamingRule(min_prob=0.35, broad_min=0.6)
    (ja,) = GroundedExplainer(crop_model=model, naming=rule).explain_batch([_request()])
    (en,) = GroundedExplainer(crop_model=model, lang="en", naming=rule).explain_batch([_request()])
    assert "動物のように見えます" in ja.text and "ヒラムシ" not in ja.text
    assert "looks like an animal" in en.text and "flatworm" not in en.text
    (candidate,) = ja.details["regions"][0]["candidates"]
    assert candidate["label"] == "動物" and candidate["broader"] == "animal"
    (old,) = GroundedExplainer(crop_model=model, naming=LEGACY_RULE).explain_batch([_request()])
    assert "ヒラムシ" in old.text  # what the old rule said


def test_an_unnamed_region_says_no_object_is_clear():
    model = _imagenet_like(_views({NEMATODE: 0.2, MOPED: 0.2, ESPRESSO: 0.2})[0])
    rule = NamingRule(min_prob=0.35, broad_min=0.6)
    (ja,) = GroundedExplainer(crop_model=model, naming=rule).explain_batch([_request()])
    assert "特定の物体ははっきりしません" in ja.text
    assert ja.details["regions"][0]["candidates"] == []


def test_a_side_region_gets_a_class_name_only_when_the_class_is_sure():
    rule = NamingRule(min_heat=0.3, sure_prob=0.4, broad_min=0.5)
    weak = _views({NEMATODE: 0.25, FLATWORM: 0.2, TABBY: 0.15})
    assert name_region(weak, rule, CATS, heat_share=0.6).specific[0][0] == NEMATODE
    side = name_region(weak, rule, CATS, heat_share=0.1)  # a side region: the broader word
    assert side.specific == () and side.broader[0] == "animal"
    sure = name_region(_views({TABBY: 0.5}), rule, CATS, heat_share=0.1)
    assert sure.specific[0][0] == TABBY


def test_a_runner_up_far_below_the_best_is_not_a_second_name():
    # the cup read as espresso 0.5 and consomme 0.15: consomme is a second guess at the cup
    views = _views({ESPRESSO: 0.5, MUG: 0.15})
    assert [k for k, _ in name_region(views, LEGACY_RULE, CATS).specific] == [ESPRESSO, MUG]
    rule = NamingRule(second_ratio=0.5)
    assert [k for k, _ in name_region(views, rule, CATS).specific] == [ESPRESSO]
    close = _views({ESPRESSO: 0.4, MUG: 0.3})  # two near-equal readings both stay
    assert [k for k, _ in name_region(close, rule, CATS).specific] == [ESPRESSO, MUG]


def test_broader_words_only_for_side_regions():
    rule = NamingRule(min_prob=0.35, min_heat=0.4, sure_prob=0.4, broad_min=0.5)
    side_only = NamingRule(**{**rule.__dict__, "broad_side_only": True})
    weak = _views({NEMATODE: 0.2, FLATWORM: 0.2, TABBY: 0.3})
    assert name_region(weak, rule, CATS, heat_share=0.6).broader[0] == "animal"
    assert name_region(weak, side_only, CATS, heat_share=0.6) == Naming()  # hot: unnamed
    assert name_region(weak, side_only, CATS, heat_share=0.1).broader[0] == "animal"


def test_a_side_region_keeps_a_name_both_views_agree_on():
    rule = NamingRule(min_heat=0.4, sure_prob=0.4, side_agree=True)
    agreed = _views({TABBY: 0.3}, {TABBY: 0.2})
    split = _views({TABBY: 0.3}, {MOPED: 0.2, TABBY: 0.1})
    assert name_region(agreed, rule, CATS, heat_share=0.1).specific[0][0] == TABBY
    assert name_region(split, rule, CATS, heat_share=0.1).specific == ()
    without = NamingRule(min_heat=0.4, sure_prob=0.4)
    assert name_region(agreed, without, CATS, heat_share=0.1).specific == ()


def test_the_explainer_passes_each_regions_heat_to_the_rule():
    model = _imagenet_like(_views({NEMATODE: 0.25, MOPED: 0.05})[0])
    yy, xx = np.mgrid[0:96, 0:96]
    big = np.exp(-((xx - 30) ** 2 + (yy - 48) ** 2) / 200.0)
    small = 0.8 * np.exp(-((xx - 78) ** 2 + (yy - 18) ** 2) / 60.0)
    cam = (big + small).astype(np.float32)
    image = Image.fromarray(np.full((96, 96, 3), 120, np.uint8))
    request = ExplainRequest(image=image, cam=cam, predictions=[], label=None, task="", key="k")
    rule = NamingRule(min_heat=0.3, sure_prob=0.4)
    (out,) = GroundedExplainer(crop_model=model, lang="en", naming=rule).explain_batch([request])
    regions = out.details["regions"]
    assert len(regions) == 2 and regions[0]["heat_share"] >= 0.3 > regions[1]["heat_share"]
    assert [c["label"] for c in regions[0]["candidates"]] == ["nematode"]
    assert regions[1]["candidates"] == []  # the side region is left unnamed


MATCHSTICK, SHUTTLE = 644, 812


def test_a_name_one_view_does_not_support_is_not_given():
    # the demo's rocket: matchstick 0.01 in one view and 0.39 in the other (mean 0.20)
    split = _views({SHUTTLE: 0.3, MATCHSTICK: 0.01}, {MATCHSTICK: 0.39, SHUTTLE: 0.05})
    assert name_region(split, LEGACY_RULE, CATS).specific[0][0] == MATCHSTICK
    assert name_region(split, NamingRule(view_min=0.05), CATS).specific == ()
    both = _views({MATCHSTICK: 0.18, SHUTTLE: 0.1}, {MATCHSTICK: 0.11, SHUTTLE: 0.02})
    named = name_region(both, NamingRule(view_min=0.05), CATS).specific
    assert [k for k, _ in named] == [MATCHSTICK]  # the runner-up lacks one view's support


def test_agreement_can_mean_among_each_views_first_classes():
    # below agree_below, the best class must be each view's best (agree_rank 1) or among
    # each view's first agree_rank classes
    close = _views({ESPRESSO: 0.32, MUG: 0.12}, {MUG: 0.12, ESPRESSO: 0.06})  # mean 0.19
    far = _views({ESPRESSO: 0.37, MUG: 0.02}, {MUG: 0.3, DAISY: 0.2, ESPRESSO: 0.01})
    strict = NamingRule(agree_below=0.25)
    ranked = NamingRule(agree_below=0.25, agree_rank=2)
    assert name_region(close, strict, CATS).specific == ()
    assert name_region(close, ranked, CATS).specific[0][0] == ESPRESSO
    assert name_region(far, ranked, CATS).specific == ()
    assert NamingRule().agree_rank == 1 and NamingRule().view_min == 0.0  # legacy unchanged
