"""The keyword miner's settings: one frozen :class:`MiningSettings`, its defaults defined here.

Every default of the miner lives in this file and nowhere else: ``wordcam mine``'s flags, the
dashboard's Keywords widgets, the report, the keyword tables the precompute job stores and
the benchmarks all read them from :data:`DEFAULTS`. Standard library only, so the CLI can
read the defaults while it builds its parser without loading numpy.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import DataError

#: Words kept per class in a stored keyword table; a table of up to this many words per class
#: is answered from it (the dashboard mines this many and slices).
STORED_TOP = 50

_BY = {"true": "true", "predicted": "predicted", "pred": "predicted"}


def label_source(by: str) -> str:
    """``"true"`` or ``"predicted"`` for a ``--by`` value (``"pred"`` too)."""
    if by not in _BY:
        raise DataError(f"unknown --by {by!r}; use 'true' or 'predicted'")
    return _BY[by]


@dataclass(frozen=True)
class MiningSettings:
    """What a keyword table is mined with (the run it is mined on is not part of it).

    ``top`` words per class are shown; ``min_df`` drops words in fewer documents;
    ``by`` labels the documents by their true or predicted class (``"pred"`` is kept as
    given, :attr:`label_source` normalises it); ``stopwords`` are removed on top of those
    removed at tokenization; ``kinds`` keeps only words of those kinds (object, colour,
    position, other; () keeps all); at most ``cv`` folds of stratified cross-validation give
    the text accuracy (0 or 1 skips it), split with ``seed``.
    """

    top: int = 10
    min_df: int = 2
    by: str = "true"
    stopwords: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    cv: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        label_source(self.by)  # a clear error for an unknown label source
        for name in ("stopwords", "kinds"):  # hashable, whatever sequence was given
            value = getattr(self, name)
            value = (value,) if isinstance(value, str) else value
            object.__setattr__(self, name, tuple(value) if value else ())

    @property
    def label_source(self) -> str:
        """``"true"`` or ``"predicted"``."""
        return label_source(self.by)

    @property
    def answered_from_store(self) -> bool:
        """Whether a stored keyword table can answer (else the table is fit): stored tables
        hold :data:`STORED_TOP` words of every kind."""
        return self.top <= STORED_TOP and not self.kinds


#: The miner's defaults; also the settings whose keyword tables the precompute job stores.
DEFAULTS = MiningSettings()
