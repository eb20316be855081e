"""Verified words: does what a word names change the model's answer? (issues 16, 21)

For a class C and a word W of its keyword table, the photos of C whose explanation contains W
are run through the run's model three times: as they are, with W's regions changed by the
test of W's kind (object: hidden; colour: grey at the same luminance; position: content moved
elsewhere), and with the same change to a fair control area (same size and place). The
effect is the mean drop of C's probability (changed) minus the mean drop (control), with an
exact sign-flip p-value, a t interval and a Benjamini-Hochberg verdict per invocation, one of
four states (``docs/verify.md``). One file per concern:

* :mod:`~core.verify.settings` (:class:`VerifySettings`), :mod:`~core.verify.sampling` (words,
  photos), :mod:`~core.verify.photos` (views, regions), :mod:`~core.verify.geometry`
  (masks, the fair control, moves), :mod:`~core.verify.fill` (hiding),
  :mod:`~core.verify.changes` (the three tests' changes), :mod:`~core.verify.model` (the
  run's model), :mod:`~core.verify.measure` (one batch), :mod:`~core.verify.stats` (effect,
  sign-flip p, interval, BH, verdicts), :mod:`~core.verify.nullsim` (the null simulation),
  :mod:`~core.verify.summary` (tests per kind, effects, the BH family),
  :mod:`core.store.effects` (its SQL, in the store), :mod:`~core.verify.job`
  (:func:`run_verify`), :mod:`~core.verify.report` (:class:`VerifyReport`).

Importing this package is light: the job, torch and scipy load on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from core.store.effects import PhotoEffect, WordEffect, read_effects, read_photo_effects
from core.verify.settings import VerifySettings

if TYPE_CHECKING:
    from core.verify.report import VerifyReport

__all__ = [
    "PhotoEffect",
    "VerifySettings",
    "WordEffect",
    "read_effects",
    "read_photo_effects",
    "run_verify",
]


def run_verify(db: Any, *, settings: VerifySettings | None = None, **options: Any) -> VerifyReport:
    """Verify the words of a run: see :func:`core.verify.job.run_verify`."""
    from core.verify.job import run_verify as run

    return run(db, settings=settings, **options)
