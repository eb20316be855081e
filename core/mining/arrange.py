"""The default keyword table's layout: which words are shown, in which order, as what.

:func:`arrange` turns a class's candidates (its :data:`~core.mining.settings.STORED_TOP`
words of largest positive weight, as fit or as stored) into the table shown
(``docs/table.md``):

1. without a kind filter, the words of a hidden kind (:data:`~core.text.evidence.HIDDEN_KINDS`:
   ``guess``, a name the explainer only hedged) are left out, and a word's n/m count only the
   documents that say it as shown (a document that only guesses the word is not counted:
   ``guessed``); then words found in fewer than ``min_m`` documents are left out (the fit and
   its accuracy are unchanged: only the table leaves them out; docs/terms.md, "Hedged
   names");
2. the rest are ranked by the lower end of the 95% Wilson score interval of their precision
   n/m (``rank="precision"``, the default: 2/2 ranks below 24/24 and below 21/37) or by
   weight (``rank="weight"``), ties by weight, then word;
3. the ``top`` first are shown (:attr:`Keyword.rank` 1..top): object words first, then the
   object words that name the regions of an object word ranked above them (the crop model's
   other name for the same thing, "consommé" beside "espresso": one finding, not two), then
   the colour and position words that are an object's attribute, both with that object
   (:attr:`Keyword.attribute_of`), then the other words, each group in rank order. A word's
   group depends on that word and the words ranked above it, so the layout of the ``top``
   best is the layout of more words with ranks past ``top`` removed
   (:meth:`MiningResult.select`).

The kinds and the owners come from the store (:mod:`core.store.word_owners`) through
:func:`core.mining.keyword_table`; a corpus file has neither and keeps the rank order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from core.mining.result import Keyword, MiningResult
from core.mining.settings import ATTRIBUTE_SHARE, MiningSettings

#: The normal quantile of a two-sided 95% interval.
Z95 = 1.959963984540054
#: Kinds that describe a region rather than name what is in it.
ATTRIBUTE_KINDS = ("colour", "position")
#: Kinds whose words are placed with the object word whose regions they share: an attribute,
#: or an object word naming the regions of one ranked above it.
PLACED_KINDS = ("object", *ATTRIBUTE_KINDS)


def wilson_low(n: Any, m: Any, z: float = Z95) -> Any:
    """The lower end of the Wilson score interval of the proportion ``n/m`` (0 where m = 0).

    The closed form of ``scipy.stats.binomtest(n, m).proportion_ci(method="wilson")`` (the
    test checks they agree), vectorised and without importing scipy, so that the stored table
    stays light.
    """
    n = np.asarray(n, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = n / m
        centre = p + z * z / (2 * m)
        spread = z * np.sqrt(p * (1 - p) / m + z * z / (4 * m * m))
        low = (centre - spread) / (1 + z * z / m)
    return np.where(m > 0, np.clip(low, 0.0, 1.0), 0.0)


def ranked(words: Sequence[Keyword], settings: MiningSettings) -> list[Keyword]:
    """``words`` in ``min_m`` or more documents, in the order of ``settings.rank``."""
    kept = [k for k in words if k.m >= max(1, settings.min_m)]
    if settings.rank == "weight":
        return sorted(kept, key=lambda k: (-k.weight, k.word))
    low = wilson_low([k.n for k in kept], [k.m for k in kept])
    order = sorted(range(len(kept)), key=lambda i: (-low[i], -kept[i].weight, kept[i].word))
    return [kept[i] for i in order]


OwnersOf = Callable[[dict[str, list[str]], dict[str, list[str]]], Mapping[tuple[str, str], Any]]


def arrange(
    result: MiningResult,
    settings: MiningSettings,
    kinds: Mapping[str, str] | None = None,
    owners_of: OwnersOf | None = None,
    objects: Mapping[str, list[str]] | None = None,
    guessed: Mapping[str, tuple[int, Mapping[str, int]]] | None = None,
) -> MiningResult:
    """The table shown for ``settings`` from ``result``'s candidates (see the module doc).

    ``kinds`` gives each word's kind (``{}``: none known); ``owners_of(words, objects)``
    answers, per class, which object word each colour, position or object word shares its
    regions with (an object word: among those ranked above it;
    :func:`core.store.word_owners.attribute_owners` on the open DB): an owner holding at
    least :data:`~core.mining.settings.ATTRIBUTE_SHARE` of the word's pairs makes it that
    object's attribute, or its other name. The owners are the object words among a class's
    ranked candidates, or ``objects`` (per class, in rank order) when given: a table filtered
    to colour words still names the objects of the unfiltered table. ``guessed`` gives, per
    word, the documents that hold it only as a hidden kind: ``(all of them, {class: of the
    class})`` (:func:`core.store.word_owners.guessed_only` on a DB, :func:`guessed_only` in
    memory).
    """
    kinds = kinds or {}
    hidden = hidden_kinds(settings)
    ranks = {
        c: ranked(
            [shown_counts(c, k, guessed) for k in kws if kinds.get(k.word) not in hidden],
            settings,
        )
        for c, kws in result.classes.items()
    }
    shown = {
        c: [
            replace(k, kind=kinds.get(k.word), rank=r) for r, k in enumerate(kws[: settings.top], 1)
        ]
        for c, kws in ranks.items()
    }
    owners: Mapping[tuple[str, str], Any] = {}
    if owners_of is not None:
        attributes = {
            c: [k.word for k in kws if k.kind in PLACED_KINDS] for c, kws in shown.items()
        }
        if objects is None:
            objects = {
                c: [k.word for k in kws if kinds.get(k.word) == "object"]
                for c, kws in ranks.items()
            }
        if any(attributes.values()) and any(objects.values()):
            owners = owners_of(attributes, objects)
    classes = {c: _layout(c, kws, owners) for c, kws in shown.items()}
    ranking = {"rank": settings.rank, "min_m": settings.min_m}
    return replace(result, classes=classes, ranking=ranking)


def hidden_kinds(settings: MiningSettings) -> frozenset[str]:
    """The kinds whose words the table leaves out: :data:`~core.text.evidence.HIDDEN_KINDS`
    without a kind filter; none with one (the filter already chose the words fit, and the
    table shows them all)."""
    from core.text.evidence import HIDDEN_KINDS

    return frozenset() if settings.kinds else frozenset(HIDDEN_KINDS)


def shown_counts(
    cls: str, word: Keyword, guessed: Mapping[str, tuple[int, Mapping[str, int]]] | None
) -> Keyword:
    """``word`` with its n/m less the documents that only guess it (see :func:`arrange`)."""
    found = (guessed or {}).get(word.word)
    if found is None:
        return word
    m, n = found
    return replace(word, n=max(0, word.n - n.get(cls, 0)), m=max(0, word.m - m))


def guessed_only(
    terms: Sequence[Any], labels: Sequence[str | None]
) -> dict[str, tuple[int, dict[str, int]]]:
    """Per word, the labelled documents that hold it only as a hidden kind:
    ``(count, {label: count})``; ``terms`` are the documents'
    :class:`~core.text.evidence.DocumentTerms` (what :func:`core.store.word_owners.guessed_only`
    reads from a stored run)."""
    from core.text.evidence import HIDDEN_KINDS

    out: dict[str, tuple[int, dict[str, int]]] = {}
    for doc, label in zip(terms, labels, strict=True):
        if label is None:
            continue
        kinds: dict[str, set[str]] = {}
        for t in doc.terms:
            kinds.setdefault(t.term, set()).add(t.kind)
        for word, said in kinds.items():
            if said <= set(HIDDEN_KINDS):
                m, n = out.get(word, (0, {}))
                n[label] = n.get(label, 0) + 1
                out[word] = (m + 1, n)
    return out


def _layout(cls: str, words: list[Keyword], owners: Mapping[tuple[str, str], Any]) -> list:
    """Object words, then those naming another object's regions, then attribute words (both
    with their owner), then the rest; ranks kept."""
    objects, other_names, attributes, rest = [], [], [], []
    for k in words:
        owner = owners.get((cls, k.word)) if k.kind in PLACED_KINDS else None
        placed = owner is not None and owner.share >= ATTRIBUTE_SHARE
        if placed:
            group = other_names if k.kind == "object" else attributes
            group.append(replace(k, attribute_of=owner.word))
        elif k.kind == "object":
            objects.append(k)
        else:
            rest.append(k)
    return objects + other_names + attributes + rest
