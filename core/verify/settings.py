"""The settings of one verification: one frozen object from the CLI, the demo or the dashboard.

:meth:`VerifySettings.key` is the part that shapes every word's effect (stored as
``word_effects.settings``): rerunning with the same key resumes, a different key is a new
verification beside the old one. Which words are tested (``top``, ``words``, ``classes``) and
how the job runs (``batch_size`` ...) are not part of it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from core.errors import DataError
from core.verify.fill import DEFAULT_FILL, FILLS
from core.verify.stats import ALPHA, DRAWS, EXACT_MAX

#: Bump when the measurement changes, so that older effects are not mixed with new ones.
#: 2 (issue 21): one test per kind (hide, colour, move), fair controls, the sign-flip test.
#: 3: the fair control is searched among all congruent copies of the word's area (rotations,
#: diagonal reflections) and shifted copies, and a rescaled region is moved inside the view.
#: 4: the move test fills the hole a moved area leaves by ROAD imputation (MOVE_FILL), not
#: with the hiding fill, and tries the next fair control when the best has no free place.
VERIFY_VERSION = 4
#: The control: the same change to an area of the same size and place, closest in heat
#: (see core.verify.geometry; no fallback).
CONTROL = "fair"
#: The tests (see core.verify.changes).
TESTS = ("hide", "colour", "move")
#: Where the regions' pixels come from: the bounding boxes stored in the explanation's details.
GEOMETRY = "bbox"


@dataclass(frozen=True)
class VerifySettings:
    """What a verification measures (``by`` ... ``alpha``) and which words and how it runs."""

    by: str = "true"
    per_word: int = 20
    fill: str = DEFAULT_FILL
    seed: int = 0
    draws: int = DRAWS
    alpha: float = ALPHA
    top: int = 10
    words: tuple[str, ...] = ()
    classes: tuple[str, ...] = ()
    run_id: int | None = None
    batch_size: int = 16
    publish_every: float = 10.0
    progress: bool = True
    save_pictures: bool = True

    def __post_init__(self) -> None:
        if self.by not in ("true", "predicted"):
            raise DataError(f"unknown label source {self.by!r}; use true or predicted")
        if self.fill not in FILLS:
            raise DataError(f"unknown fill {self.fill!r}; use one of {', '.join(FILLS)}")
        if self.per_word < 1:
            raise DataError(f"--per-word must be at least 1 (got {self.per_word})")
        if self.top < 0:
            raise DataError(f"--top must be 0 or more (got {self.top})")
        if self.top == 0 and not self.words:
            raise DataError("nothing to verify: --top 0 needs at least one --word")
        object.__setattr__(self, "words", tuple(dict.fromkeys(self.words)))
        object.__setattr__(self, "classes", tuple(dict.fromkeys(self.classes)))

    @classmethod
    def of(cls, settings: VerifySettings | None = None, **options: Any) -> VerifySettings:
        """``settings`` (default: the defaults) with ``options`` (field names) replaced."""
        if settings is None:
            return cls(**options)
        return replace(settings, **options) if options else settings

    def identity(self) -> dict[str, Any]:
        """The settings that shape each word's effect, JSON-safe."""
        return {
            "version": VERIFY_VERSION,
            "by": self.by,
            "per_word": self.per_word,
            "fill": self.fill,
            "control": CONTROL,
            "geometry": GEOMETRY,
            "seed": self.seed,
            "tests": list(TESTS),
            "statistic": f"sign-flip exact<={EXACT_MAX}, t interval",
            "draws": self.draws,
            "alpha": self.alpha,
        }

    def key(self) -> str:
        """:meth:`identity` as canonical JSON (``word_effects.settings``)."""
        return json.dumps(self.identity(), sort_keys=True)
