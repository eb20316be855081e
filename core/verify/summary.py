"""From measured photos to verdicts: which tests each word gets, its effect, the BH family.

* :func:`plan_tests`: each (class, word) pair becomes one :class:`WordTest` per test its kind
  has (:func:`core.verify.changes.tests_for`: objects ``hide``; colour words ``hide`` and
  ``colour``; position words ``hide`` and ``move``); a word of a kind without a sound test
  gets one ``hide`` entry that is ``not tested`` and is never measured.
* :func:`summarize`: one word-test's effect from its stored photos (those that counted).
* :func:`adjust`: Benjamini-Hochberg over **the family of one invocation**: the word-tests
  this command settled (measured or resumed, without a stored verdict) and that have at least
  ``k`` photos. A stored verdict is never adjusted again, so a later ``--word`` call cannot
  change earlier verdicts; the family's id and size are stored beside each q-value.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.store import effects as storage
from core.store import word_owners
from core.verify.changes import tests_for
from core.verify.stats import (
    NOT_TESTED,
    TOO_FEW,
    bh_qvalues,
    effect_of,
    min_photos,
    verdict,
    word_seed,
)

if TYPE_CHECKING:
    import duckdb

    from core.verify.sampling import Candidate, Pair
    from core.verify.settings import VerifySettings


@dataclass(frozen=True)
class WordTest:
    """One test of one (class, word): its photos, and whether it is measured at all."""

    cls: str
    word: str
    test: str
    kind: str
    photos: tuple[Candidate, ...]
    tested: bool = True

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.cls, self.word, self.test)


def plan_tests(
    con: duckdb.DuckDBPyConnection, run_id: int, pairs: Sequence[Pair]
) -> list[WordTest]:
    """The word-tests of ``pairs``, in their order (tests in ``hide, colour, move`` order)."""
    kinds = word_owners.term_kinds(con, run_id, sorted({p.word for p in pairs}))
    out = []
    for p in pairs:
        kind = kinds.get(p.word, "other")
        tests = tests_for(kind)
        if not tests:
            out.append(WordTest(p.cls, p.word, "hide", kind, p.photos, tested=False))
        out += [WordTest(p.cls, p.word, t, kind, p.photos) for t in tests]
    return out


def summarize(
    con: duckdb.DuckDBPyConnection, run_id: int, key: str, wt: WordTest, settings: VerifySettings
) -> str | None:
    """Store one word-test's effect; a line saying how many photos did not count (or None)."""
    rows = storage.photo_rows(con, run_id, key, wt.cls, wt.word, wt.test)
    wanted = {c.image_id for c in wt.photos}
    rows = [r for r in rows if r.image_id in wanted]
    counted = [r for r in rows if r.skipped is None and r.p_before is not None]
    before, changed, control = (
        [getattr(r, a) for r in counted] for a in ("p_before", "p_hidden", "p_control")
    )
    k = min_photos(settings.alpha)
    e = effect_of(
        before,
        changed,
        control,
        seed=word_seed(settings.seed, wt.cls, f"{wt.word}\x1f{wt.test}"),
        min_n=k,
    )
    state = None
    if not wt.tested:
        state = NOT_TESTED
    elif e.n < k:
        state = TOO_FEW
    effect = storage.WordEffect(
        cls=wt.cls,
        word=wt.word,
        n=e.n if wt.tested else 0,
        effect=e.effect if wt.tested else None,
        ci_low=e.ci_low if wt.tested else None,
        ci_high=e.ci_high if wt.tested else None,
        p_value=e.p_value if wt.tested else 1.0,
        q_value=None,
        verdict=state,
        fill=settings.fill,
        control="fair",
        fallbacks=0,
        unlocalized=sum(not r.localized for r in counted),
        by=settings.by,
        test=wt.test,
        kind=wt.kind,
        skipped=len(rows) - len(counted),
    )
    storage.write_effect(con, run_id, key, effect)
    if counted:
        means = [sum(x) / len(x) for x in (before, changed, control)]
        storage.set_means(con, run_id, key, wt.cls, wt.word, means, wt.test)
    return _skipped_line(wt, rows, counted)


def _skipped_line(wt: WordTest, rows: list, counted: list) -> str | None:
    if not wt.tested:
        return f"{wt.cls} / {wt.word}: no sound test for a word of kind {wt.kind}: not tested"
    if len(counted) == len(rows):
        return None
    reason, _ = Counter(r.skipped for r in rows if r.skipped).most_common(1)[0]
    return (
        f"{wt.cls} / {wt.word} ({wt.test}): {len(rows) - len(counted)} of {len(rows)} photos "
        f"did not count ({reason})"
    )


def adjust(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    key: str,
    members: Sequence[tuple[str, str, str]],
    alpha: float,
) -> int:
    """BH q-values and verdicts over this invocation's unsettled word-tests; the family size."""
    wanted = set(members)
    open_ = [
        e
        for e in storage.effects_of(con, run_id, key)
        if (e.cls, e.word, e.test) in wanted and e.verdict is None
    ]
    if not open_:
        return 0
    digest = hashlib.sha1(repr(sorted(wanted)).encode()).hexdigest()[:10]
    family = f"{time.strftime('%Y%m%dT%H%M%S')}-{digest}"
    qs = bh_qvalues([e.p_value for e in open_])
    storage.set_verdicts(
        con,
        run_id,
        key,
        [
            (e.cls, e.word, e.test, q, verdict(q, e.ci_low, alpha, n=e.n))
            for e, q in zip(open_, qs, strict=True)
        ],
        family=family,
        family_size=len(open_),
    )
    return len(open_)
