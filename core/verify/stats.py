"""A word-test's effect: paired differences, an exact sign-flip p-value, a t interval, BH, verdicts.

For one word and one test the photos give paired drops of the class probability: ``before -
changed`` (the word's regions changed by the test) and ``before - control`` (the same change
to a fair control area). Their difference ``d`` per photo is what is tested:

* **p-value** (one-sided, H0: the word's regions and the control are exchangeable, so ``d``
  is symmetric about zero): the exact sign-flip (randomisation) test of the mean. For
  ``n <= EXACT_MAX`` photos every one of the ``2^n`` sign patterns is enumerated, so the
  p-value is exact (its smallest value is ``2^-n``); above that ``DRAWS`` random patterns
  (seeded per word) with the ``+1`` correction, ``p = (1 + #{T* >= T}) / (DRAWS + 1)``.
* **interval**: the 95% Student-t interval of the mean of ``d`` (closed form, scipy's t
  quantile). It is reported beside the p-value and must lie above zero for ``causal``.
* **BH**: across a family of word-tests (:func:`bh_qvalues`, scipy's
  ``false_discovery_control``); the family is defined by the job (``docs/verify.md``).
* **verdicts**, one of :data:`VERDICTS`: ``not tested`` (no sound test for the word's kind,
  or the test never ran), ``too few photos`` (fewer than :func:`min_photos` photos with a
  fair control: with ``n`` photos the exact test cannot go below ``2^-n``, so ``n`` must
  reach ``2^-n <= alpha``), ``causal`` (q <= alpha and the interval above zero), else
  ``no effect shown``.

``docs/verify.md`` holds the null simulation (false-positive rate before BH at n = 3..50 for
symmetric, heavy-tailed, skewed and mean-zero asymmetric differences).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from core.store.effects import CAUSAL, NO_EFFECT, NOT_TESTED, TOO_FEW, VERDICTS  # noqa: F401

ALPHA = 0.05
#: Up to this many photos the sign-flip test enumerates all 2^n patterns (exact).
EXACT_MAX = 16
#: Random sign patterns above EXACT_MAX (Monte Carlo, +1 corrected).
DRAWS = 20000
#: Kept for the settings' identity (the old bootstrap's resamples); no longer used.
BOOT = DRAWS


def min_photos(alpha: float = ALPHA) -> int:
    """``k``: the fewest photos whose exact sign-flip p-value can reach ``alpha`` (5 at 0.05)."""
    return max(1, math.ceil(math.log2(1.0 / alpha) - 1e-12))


@dataclass(frozen=True)
class Effect:
    """One word-test's effect: n paired photos, mean difference, interval and p-value."""

    n: int
    effect: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float


def word_seed(seed: int, cls: str, word: str) -> int:
    """A seed for one (class, word), stable across runs and processes."""
    return (int(seed) * 1_000_003 + zlib.crc32(f"{cls}\x1f{word}".encode())) % 2**32


@lru_cache(maxsize=EXACT_MAX + 1)
def all_signs(n: int) -> np.ndarray:
    """Every sign pattern of ``n`` photos, ``[2^n, n]`` of +-1 (cached: read-only)."""
    codes = np.arange(2**n, dtype=np.int64)[:, None] >> np.arange(n)
    signs = 1.0 - 2.0 * (codes & 1)
    signs.setflags(write=False)
    return signs


def sign_flip_p(diff: np.ndarray, *, seed: int = 0, draws: int = DRAWS) -> float:
    """One-sided sign-flip p-value of ``mean(diff) > 0`` (exact up to :data:`EXACT_MAX`)."""
    d = np.asarray(diff, dtype=np.float64)
    n = int(d.size)
    if n == 0:
        return 1.0
    observed = float(d.sum())
    tol = 1e-9 * max(1.0, float(np.abs(d).sum()))
    if n <= EXACT_MAX:
        return float(np.mean(all_signs(n) @ d >= observed - tol))
    rng = np.random.default_rng(seed)
    hits = 0
    for start in range(0, draws, 5000):
        size = min(5000, draws - start)
        signs = 1.0 - 2.0 * rng.integers(0, 2, size=(size, n))
        hits += int((signs @ d >= observed - tol).sum())
    return (1.0 + hits) / (draws + 1.0)


def t_interval(diff: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The Student-t interval of the mean of ``diff`` (needs at least 2 values)."""
    from scipy.stats import t

    d = np.asarray(diff, dtype=np.float64)
    n = d.size
    half = float(t.ppf(0.5 + level / 2.0, n - 1)) * float(d.std(ddof=1)) / math.sqrt(n)
    mean = float(d.mean())
    return mean - half, mean + half


def effect_of(
    before: Sequence[float],
    changed: Sequence[float],
    control: Sequence[float],
    *,
    seed: int = 0,
    draws: int = DRAWS,
    min_n: int | None = None,
) -> Effect:
    """The paired effect ``mean((before - changed) - (before - control))``, interval, p-value.

    Below ``min_n`` photos (default :func:`min_photos` at :data:`ALPHA`; at least 2) only the
    mean is given (p = 1): too few photos for a verdict.
    """
    b, h, c = (np.asarray(x, dtype=np.float64) for x in (before, changed, control))
    diff = (b - h) - (b - c)
    return effect_of_diff(diff, seed=seed, draws=draws, min_n=min_n)


def effect_of_diff(
    diff: Sequence[float] | np.ndarray,
    *,
    seed: int = 0,
    draws: int = DRAWS,
    min_n: int | None = None,
) -> Effect:
    """:func:`effect_of` from the per-photo differences."""
    d = np.asarray(diff, dtype=np.float64)
    n = int(d.size)
    if n == 0:
        return Effect(0, None, None, None, 1.0)
    mean = float(d.mean())
    if n < max(2, min_photos(ALPHA) if min_n is None else min_n):
        return Effect(n, mean, None, None, 1.0)
    low, high = t_interval(d)
    return Effect(n, mean, low, high, sign_flip_p(d, seed=seed, draws=draws))


def bh_qvalues(p_values: Sequence[float]) -> list[float]:
    """Benjamini-Hochberg adjusted p-values (q-values), in the input order."""
    if not len(p_values):
        return []
    from scipy.stats import false_discovery_control

    return [float(q) for q in false_discovery_control(np.asarray(p_values, float), method="bh")]


def verdict(
    q_value: float | None,
    ci_low: float | None,
    alpha: float = ALPHA,
    *,
    n: int | None = None,
    tested: bool = True,
) -> str:
    """One of :data:`VERDICTS` (module doc); ``n`` None skips the too-few check."""
    if not tested:
        return NOT_TESTED
    if n is not None and n < min_photos(alpha):
        return TOO_FEW
    if q_value is not None and ci_low is not None and ci_low > 0.0 and q_value <= alpha:
        return CAUSAL
    return NO_EFFECT
