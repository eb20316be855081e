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

#: How a class's words are ranked: ``"precision"`` by the lower end of the 95% Wilson score
#: interval of their precision n/m (a word seen in few documents ranks low however precise it
#: looks), ``"weight"`` by their logistic-regression weight (the order before issue 21).
RANKS = ("precision", "weight")
#: A colour or position word is shown as an object's attribute, and an object word as the
#: other name of an object word ranked above it, when at least this share of its (document,
#: region) pairs in the class's documents are that object's
#: (:func:`core.store.word_owners.attribute_owners`).
ATTRIBUTE_SHARE = 0.5


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
    position, other, guess; () keeps all, and the table hides the guesses: a word of a kind
    in :data:`core.text.evidence.HIDDEN_KINDS` is shown only when ``kinds`` names it); at most ``cv`` folds of stratified cross-validation give
    the text accuracy (0 or 1 skips it), split with ``seed``.

    The table (``docs/table.md``): the candidates of a class are
    its :data:`STORED_TOP` words of largest positive weight; those found in fewer than
    ``min_m`` documents are left out (the fit and its accuracy still use them), the rest are
    ranked by ``rank`` (:data:`RANKS`), and the ``top`` first are shown, object words first.
    """

    top: int = 10
    min_df: int = 2
    by: str = "true"
    stopwords: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    cv: int = 5
    seed: int = 0
    min_m: int = 3
    rank: str = "precision"

    def __post_init__(self) -> None:
        label_source(self.by)  # a clear error for an unknown label source
        if self.rank not in RANKS:
            raise DataError(f"unknown rank {self.rank!r}; use {' or '.join(RANKS)}")
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
