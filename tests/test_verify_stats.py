"""The statistics of verified words (issue 21): exact sign-flip p-values, the null simulation,
the four states in every output, and a BH family that later calls cannot change."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest

from core.store.effects import WordEffect
from core.verify.nullsim import CASES, false_positive_rates
from core.verify.report import VerifyReport
from core.verify.stats import (
    ALPHA,
    CAUSAL,
    NO_EFFECT,
    NOT_TESTED,
    TOO_FEW,
    VERDICTS,
    effect_of_diff,
    min_photos,
    sign_flip_p,
    verdict,
)


def _brute_force_p(d: np.ndarray) -> float:
    flips = [np.dot(s, d) for s in itertools.product((1.0, -1.0), repeat=len(d))]
    return float(np.mean(np.asarray(flips) >= d.sum() - 1e-12))


@pytest.mark.parametrize("n", [1, 3, 5, 8])
def test_the_sign_flip_p_value_is_exact_for_small_n(n):
    rng = np.random.default_rng(n)
    for _ in range(5):
        d = rng.normal(0.1, 0.2, n)
        assert sign_flip_p(d) == pytest.approx(_brute_force_p(d))


def test_five_positive_photos_give_one_in_32_not_a_bootstrap_p():
    # the case: 白, n = 5, every difference positive: the bootstrap said p = 0.0005
    d = np.asarray([0.05, 0.2, 0.3, 0.4, 0.59])
    assert sign_flip_p(d) == pytest.approx(1 / 32)
    assert effect_of_diff(d).p_value == pytest.approx(1 / 32)
    assert sign_flip_p(d[:4]) == pytest.approx(1 / 16)  # can never reach 0.05 with 4 photos


def test_monte_carlo_p_is_corrected_and_close_to_exact():
    rng = np.random.default_rng(7)
    d = rng.normal(0.02, 0.2, 40)
    p = sign_flip_p(d, seed=1)
    assert 0 < p <= 1 and p >= 1 / 20001
    assert sign_flip_p(d, seed=1) == p  # seeded
    from scipy.stats import ttest_1samp

    assert p == pytest.approx(ttest_1samp(d, 0, alternative="greater").pvalue, abs=0.03)
    assert sign_flip_p(np.full(30, 0.1), seed=0) == pytest.approx(1 / 20001)  # +1 correction


def test_k_lets_the_exact_test_reach_alpha():
    assert min_photos(0.05) == 5 and min_photos(0.01) == 7 and min_photos(0.1) == 4
    for alpha in (0.2, 0.1, 0.05, 0.01, 0.001):
        k = min_photos(alpha)
        assert 2.0**-k <= alpha < 2.0 ** -(k - 1)


# the null simulation's symmetric cases hold the level; 1000 null words per cell, so allow
# three Monte-Carlo standard errors
SE3 = 3 * np.sqrt(ALPHA * (1 - ALPHA) / 1000)


@pytest.mark.parametrize("case", [c for c, (_, sym) in CASES.items() if sym] + ["right skew"])
def test_false_positives_before_bh_stay_at_or_below_alpha(case):
    name = case if case in CASES else next(c for c in CASES if "right skew" in c)
    sampler = CASES[name][0]
    for n in (3, 4, 5, 6, 8, 12, 16, 20, 50):
        p_rate, rule_rate = false_positive_rates(sampler, n, reps=1000, seed=n)
        assert rule_rate <= p_rate
        assert p_rate <= ALPHA + SE3, (name, n, p_rate)
        if n < min_photos():
            assert rule_rate == 0.0


def test_a_planted_effect_is_found_at_small_n():
    rng = np.random.default_rng(3)
    hits = [
        verdict(effect_of_diff(d).p_value, effect_of_diff(d).ci_low, n=8) == CAUSAL
        for d in rng.normal(0.3, 0.1, (50, 8))
    ]
    assert np.mean(hits) > 0.9


def test_the_four_states():
    assert verdict(0.01, 0.1, n=10) == CAUSAL
    assert verdict(0.2, 0.1, n=10) == NO_EFFECT
    assert verdict(0.01, -0.1, n=10) == NO_EFFECT
    assert verdict(0.0, 0.5, n=4) == TOO_FEW
    assert verdict(0.0, 0.5, n=10, tested=False) == NOT_TESTED
    assert verdict(None, None, n=10) == NO_EFFECT
    assert set(VERDICTS) == {CAUSAL, NO_EFFECT, TOO_FEW, NOT_TESTED}


def _entries() -> list[WordEffect]:
    common = dict(fill="mean", control="fair")
    return [
        WordEffect("a", "猫", 9, 0.4, 0.3, 0.5, 0.002, 0.01, CAUSAL, kind="object", **common),
        WordEffect(
            "a",
            "赤",
            9,
            0.0,
            -0.1,
            0.1,
            0.5,
            0.6,
            NO_EFFECT,
            test="colour",
            kind="colour",
            **common,
        ),
        WordEffect(
            "a",
            "中央",
            3,
            0.2,
            None,
            None,
            1.0,
            None,
            TOO_FEW,
            test="move",
            kind="position",
            **common,
        ),
        WordEffect("a", "縞", 0, None, None, None, 1.0, None, NOT_TESTED, kind="other", **common),
        WordEffect("a", "古い", 4, 0.1, None, None, 1.0, None, None, **common),  # an old row
    ]


def test_every_output_has_one_of_the_four_states_and_never_none():
    report = VerifyReport(1, _entries(), "mean", "fair", {"alpha": 0.05})
    data = json.loads(report.to_json())
    states = [w["verdict"] for w in data["words"]]
    assert states == [CAUSAL, NO_EFFECT, TOO_FEW, NOT_TESTED, NOT_TESTED]
    for w in data["words"]:
        assert {"kind", "test", "n", "effect", "ci_low", "ci_high", "p_value", "q_value"} <= set(w)
        assert w["test"] in ("hide", "colour", "move")
    csv_text = report.to_csv()
    md = report.to_markdown()
    for text in (csv_text, md):
        assert "None" not in text
        for state in (CAUSAL, NO_EFFECT, TOO_FEW, NOT_TESTED):
            assert state in text
    assert csv_text.splitlines()[0] == (
        "class,word,kind,test,n,effect,ci_low,ci_high,p_value,q_value,verdict"
    )
    assert "n < 5" in md  # k documented where the states are read


def test_csv_cells_are_neutralised():
    bad = WordEffect("=cmd", "@x", 5, 0.1, 0.0, 0.2, 0.3, 0.4, NO_EFFECT, "mean", "fair")
    text = VerifyReport(1, [bad], "mean", "fair", {"alpha": 0.05}).to_csv()
    assert "'=cmd" in text and "'@x" in text
