"""The null simulation of the word-test statistics: false positives before BH, by n and noise.

Under the null a word's regions and its control are exchangeable: the two drops of a photo
are two draws of the same distribution, so their difference is symmetric about zero however
skewed or heavy-tailed the drops are (``symmetric`` cases below). The ``asymmetric`` cases
have differences with mean zero that are *not* symmetric: they break the sign-flip test's
assumption (a fair control is what makes it hold) and show how far the rule still holds.

:func:`false_positive_table` gives, for each case and n, the share of simulated null words
whose p-value is at most ``alpha`` (``p``), and whose verdict rule before BH holds (``rule``:
``p <= alpha``, the 95% t interval above zero, and ``n >= k``). ``docs/verify.md`` holds the
table; ``tests/test_verify_stats.py`` checks it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from core.verify.stats import ALPHA, EXACT_MAX, all_signs, min_photos

Sampler = Callable[[np.random.Generator, tuple[int, int]], np.ndarray]


def _diff(draw: Sampler) -> Sampler:
    """Differences of two independent drops from ``draw`` (symmetric about zero)."""
    return lambda rng, shape: draw(rng, shape) - draw(rng, shape)


#: Null differences: name -> (sampler, symmetric?).
CASES: dict[str, tuple[Sampler, bool]] = {
    "normal": (lambda r, s: r.normal(0.0, 0.1, s), True),
    "heavy-tailed (t, 2 df)": (lambda r, s: 0.05 * r.standard_t(2, s), True),
    "skewed drops (exponential)": (_diff(lambda r, s: r.exponential(0.1, s)), True),
    "skewed drops (lognormal)": (_diff(lambda r, s: 0.05 * r.lognormal(0.0, 1.0, s)), True),
    "ties (60% zero)": (lambda r, s: r.normal(0, 0.1, s) * (r.random(s) < 0.4), True),
    "asymmetric, mean 0 (right skew)": (lambda r, s: r.exponential(0.1, s) - 0.1, False),
    "asymmetric, mean 0 (left skew)": (lambda r, s: 0.1 - r.exponential(0.1, s), False),
    "asymmetric, mean 0 (lognormal, left)": (
        lambda r, s: np.exp(0.5) - r.lognormal(0.0, 1.0, s),
        False,
    ),
}

SIZES = (3, 4, 5, 6, 8, 10, 12, 16, 20, 30, 50)


def _pvalues(d: np.ndarray, rng: np.random.Generator, draws: int) -> np.ndarray:
    """Sign-flip p-values of each row of ``d`` ``[reps, n]`` (as :func:`sign_flip_p`)."""
    reps, n = d.shape
    observed = d.sum(axis=1)
    tol = 1e-9 * np.maximum(1.0, np.abs(d).sum(axis=1))
    out = np.empty(reps)
    for start in range(0, reps, 256):
        block = d[start : start + 256]
        if n <= EXACT_MAX:
            flipped = all_signs(n) @ block.T  # [2^n, block]
            hits = (flipped >= (observed - tol)[start : start + 256]).mean(axis=0)
            out[start : start + len(block)] = hits
        else:
            signs = 1.0 - 2.0 * rng.integers(0, 2, size=(draws, n))
            flipped = signs @ block.T
            hits = (flipped >= (observed - tol)[start : start + 256]).sum(axis=0)
            out[start : start + len(block)] = (1.0 + hits) / (draws + 1.0)
    return out


def _ci_low(d: np.ndarray) -> np.ndarray:
    from scipy.stats import t

    n = d.shape[1]
    half = t.ppf(0.975, n - 1) * d.std(axis=1, ddof=1) / np.sqrt(n)
    return d.mean(axis=1) - half


def false_positive_rates(
    sampler: Sampler,
    n: int,
    *,
    reps: int = 2000,
    seed: int = 0,
    alpha: float = ALPHA,
    draws: int = 2000,
) -> tuple[float, float]:
    """``(share with p <= alpha, share meeting the verdict rule)`` over ``reps`` null words."""
    rng = np.random.default_rng(seed)
    d = sampler(rng, (reps, n))
    p = _pvalues(d, rng, draws)
    rule = (p <= alpha) & (_ci_low(d) > 0.0) & (n >= min_photos(alpha))
    return float((p <= alpha).mean()), float(rule.mean())


def false_positive_table(
    sizes: Sequence[int] = SIZES, reps: int = 2000, seed: int = 0, alpha: float = ALPHA
) -> list[dict]:
    """One row per case: ``{"case", "symmetric", "p": {n: rate}, "rule": {n: rate}}``."""
    rows = []
    for i, (name, (sampler, symmetric)) in enumerate(CASES.items()):
        p_rates, rule_rates = {}, {}
        for n in sizes:
            p_rates[n], rule_rates[n] = false_positive_rates(
                sampler, n, reps=reps, seed=seed * 1000 + 31 * i + n, alpha=alpha
            )
        rows.append({"case": name, "symmetric": symmetric, "p": p_rates, "rule": rule_rates})
    return rows


def table_markdown(rows: list[dict], key: str = "rule") -> str:
    """The table as Markdown: one row per case, one column per n (percent)."""
    sizes = list(rows[0][key]) if rows else []
    head = "| null differences | " + " | ".join(f"n={n}" for n in sizes) + " |"
    lines = [head, "|---|" + "---:|" * len(sizes)]
    for r in rows:
        cells = " | ".join(f"{100 * r[key][n]:.1f}" for n in sizes)
        lines.append(f"| {r['case']} | {cells} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m core.verify.nullsim [reps]
    import sys

    table = false_positive_table(reps=int(sys.argv[1]) if len(sys.argv) > 1 else 2000)
    print("p <= alpha:\n" + table_markdown(table, "p"))
    print("\nverdict rule:\n" + table_markdown(table, "rule"))
