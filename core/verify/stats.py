"""The effect of hiding a word's regions: paired drops, a bootstrap interval, BH across words.

For one word the photos give paired drops: ``before - hidden`` (the word's regions hidden) and
``before - control`` (the same area hidden elsewhere). The effect is the mean of their
difference; its 95% interval is the percentile interval of ``boot`` bootstrap means (numpy,
seeded per word, so reruns agree), and its one-sided p-value (H0: effect <= 0) is the share
of bootstrap means at or below zero (with the usual +1 correction). Across all words tested,
the p-values get a Benjamini-Hochberg correction (:func:`scipy.stats.false_discovery_control`);
a word is ``causal`` when its q-value is at most ``alpha`` *and* its 95% interval lies above
zero, otherwise ``no effect shown``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

CAUSAL = "causal"
NO_EFFECT = "no effect shown"
ALPHA = 0.05
BOOT = 2000
#: Fewer paired photos than this never give a verdict (p = 1).
MIN_N = 3


@dataclass(frozen=True)
class Effect:
    """One word's effect: n paired photos, mean difference of drops, interval and p-value."""

    n: int
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float


def word_seed(seed: int, cls: str, word: str) -> int:
    """A seed for one (class, word), stable across runs and processes."""
    return (int(seed) * 1_000_003 + zlib.crc32(f"{cls}\x1f{word}".encode())) % 2**32


def effect_of(
    before: Sequence[float],
    hidden: Sequence[float],
    control: Sequence[float],
    *,
    seed: int = 0,
    boot: int = BOOT,
) -> Effect:
    """The paired effect ``mean((before - hidden) - (before - control))`` with its interval."""
    b, h, c = (np.asarray(x, dtype=np.float64) for x in (before, hidden, control))
    diff = (b - h) - (b - c)
    n = int(diff.size)
    if n == 0:
        return Effect(0, None, None, None, 1.0)
    mean = float(diff.mean())
    if n < MIN_N:
        return Effect(n, mean, None, None, 1.0)
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, n, size=(int(boot), n))].mean(axis=1)
    low, high = np.quantile(means, [0.025, 0.975])
    p = (1.0 + float((means <= 0.0).sum())) / (boot + 1.0)
    return Effect(n, mean, float(low), float(high), min(1.0, p))


def bh_qvalues(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order."""
    if not len(p_values):
        return []
    from scipy.stats import false_discovery_control

    return [float(q) for q in false_discovery_control(np.asarray(p_values, float), method="bh")]


def verdict(q_value: float, ci_low: float | None, alpha: float = ALPHA) -> str:
    """``causal`` when the word survives BH at ``alpha`` and its interval is above zero."""
    return CAUSAL if ci_low is not None and ci_low > 0.0 and q_value <= alpha else NO_EFFECT
