"""What the keyword table reads to place its words: each word's kind, and whose region it is.

:func:`term_kinds`: the kind (object, colour, position, other, guess) the run's tokens give a
word most often (as :func:`core.text.evidence.majority_kinds` does for terms in memory).
:func:`guessed_only`: the documents that hold a word only as a guess (the table's n/m leave
them out). :func:`attribute_owners`: for a colour or position word of a class, the object
word of that class whose (document, region) pairs it shares most (for an object word, the
most shared of those ranked above it), from ``word_regions``
(localized rows only: an unlocalized row lists every described region, which says nothing
about whose region a word is). :mod:`core.mining.arrange` turns both into the table's layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from core.store.schema import has_column, has_table

if TYPE_CHECKING:
    import duckdb

#: Display order of the kinds, used to break a tie between two kinds of a word: the order of
#: ``core.text.evidence.KINDS`` (the store imports no other room; a test checks they agree).
_KIND_ORDER = {"object": 0, "colour": 1, "position": 2, "other": 3, "guess": 4}

_KINDS = """
SELECT term, kind, count(*) FROM (
    SELECT unnest(t.tokens) AS term, unnest(t.kinds) AS kind FROM tokens t
    JOIN images i ON i.image_id = t.image_id AND i.run_id = t.run_id
    WHERE t.run_id = ? AND i.status = 'done' AND t.kinds IS NOT NULL)
WHERE kind IS NOT NULL AND list_contains(?, term)
GROUP BY term, kind
"""


def term_kinds(con: duckdb.DuckDBPyConnection, run_id: int, words: Sequence[str]) -> dict[str, str]:
    """``{word: kind}``: the kind the run's finished documents give each word most often
    (ties in object, colour, position, other, guess order); words without stored kinds (a DB from
    before them, a corpus file) are left out."""
    if not words or not has_column(con, "tokens", "kinds"):
        return {}
    best: dict[str, tuple[int, int, str]] = {}
    for term, kind, count in con.execute(_KINDS, [run_id, list(words)]).fetchall():
        rank = (-int(count), _KIND_ORDER.get(kind, len(_KIND_ORDER)), str(kind))
        if term not in best or rank < best[term]:
            best[term] = rank
    return {term: rank[2] for term, rank in best.items()}


_GUESSED_ONLY = """
WITH said AS (
    SELECT t.image_id, {label} AS cls, unnest(t.tokens) AS term, unnest(t.kinds) AS kind
    FROM tokens t JOIN images i ON i.image_id = t.image_id AND i.run_id = t.run_id
    WHERE t.run_id = $run AND i.status = 'done' AND list_has_any(t.kinds, $hidden)
        AND nullif(trim({label}), '') IS NOT NULL)
SELECT term, cls, count(*) FROM (
    SELECT image_id, cls, term FROM said WHERE list_contains($terms, term)
    GROUP BY image_id, cls, term
    HAVING bool_and(coalesce(list_contains($hidden, kind), false)))
GROUP BY term, cls
"""


def guessed_only(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    by: str,
    words: Sequence[str],
    hidden: Sequence[str],
) -> dict[str, tuple[int, dict[str, int]]]:
    """Per word, the finished labelled documents (true label, or predicted when
    ``by == "predicted"``) whose tokens hold it only with a kind among ``hidden`` (a name the
    explainer only guessed): ``(count, {label: count})``; words without such documents are
    left out, and so is everything on a DB without stored kinds. Only documents with a word of
    a hidden kind are read (a run without guesses costs one pass over its kinds lists)."""
    if not words or not hidden or not has_column(con, "tokens", "kinds"):
        return {}
    label = "trim(i.true_label)" if by == "true" else "trim(i.pred_label)"
    rows = con.execute(
        _GUESSED_ONLY.format(label=label),
        {"run": run_id, "terms": list(words), "hidden": list(hidden)},
    ).fetchall()
    out: dict[str, tuple[int, dict[str, int]]] = {}
    for term, cls, count in rows:
        m, n = out.get(str(term), (0, {}))
        n[str(cls)] = int(count)
        out[str(term)] = (m + int(count), n)
    return out


class Owner(NamedTuple):
    """The object word an attribute word shares most (document, region) pairs with.

    ``shared`` pairs are both words'; ``total`` is the attribute word's localized pairs in the
    class's documents.
    """

    word: str
    shared: int
    total: int

    @property
    def share(self) -> float:
        return self.shared / self.total if self.total else 0.0


_OWNERS = """
WITH wanted AS (
    SELECT unnest($classes) AS cls, unnest($terms) AS term, unnest($roles) AS role),
said AS (
    SELECT x.cls, x.role, w.term, w.image_id, w.regions FROM word_regions w
    JOIN images i ON i.image_id = w.image_id AND i.run_id = $run
    JOIN wanted x ON x.term = w.term AND x.cls = {label}
    WHERE w.run_id = $run AND w.localized AND i.status = 'done'),
pairs AS (SELECT cls, role, term, image_id, unnest(regions) AS region FROM said),
attr AS (SELECT * FROM pairs WHERE role = 'attribute'),
obj AS (SELECT * FROM pairs WHERE role = 'object'),
totals AS (SELECT cls, term, count(*) AS total FROM attr GROUP BY cls, term)
SELECT a.cls, a.term, o.term AS object, count(*) AS shared, any_value(t.total)
FROM attr a
JOIN obj o ON o.cls = a.cls AND o.image_id = a.image_id AND o.region = a.region
    AND o.term <> a.term
JOIN totals t ON t.cls = a.cls AND t.term = a.term
GROUP BY a.cls, a.term, o.term
"""


def attribute_owners(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    by: str,
    attributes: dict[str, Sequence[str]],
    objects: dict[str, Sequence[str]],
) -> dict[tuple[str, str], Owner]:
    """``{(class, word): Owner}``: per class, for each of its ``attributes`` words, the one of
    its ``objects`` words sharing the most (document, region) pairs with it in the documents
    labelled with the class (true label, or predicted when ``by == "predicted"``).

    A word listed in both (an object word whose regions another object word names too) gets
    an owner ranked above it in ``objects[class]``, never itself. A tie goes to the object
    listed first in ``objects[class]`` (the table's rank). A word sharing no pair with any of
    them is left out; so is everything on a DB without ``word_regions``.
    """
    if not has_table(con, "word_regions"):
        return {}
    classes, terms, roles = [], [], []
    for role, words in (("attribute", attributes), ("object", objects)):
        for cls, listed in words.items():
            for word in listed:
                classes.append(cls)
                terms.append(word)
                roles.append(role)
    if not any(r == "attribute" for r in roles) or not any(r == "object" for r in roles):
        return {}
    label = "i.true_label" if by == "true" else "i.pred_label"
    rows = con.execute(
        _OWNERS.format(label=label),
        {"run": run_id, "classes": classes, "terms": terms, "roles": roles},
    ).fetchall()
    rank = {(c, w): i for c, listed in objects.items() for i, w in enumerate(listed)}
    best: dict[tuple[str, str], tuple[tuple[int, int], Owner]] = {}
    for cls, term, obj, shared, total in rows:
        order = (-int(shared), rank.get((cls, obj), len(rank)))
        if order[1] >= rank.get((cls, term), len(rank) + 1):
            continue  # an object word's owner is one ranked above it
        if (cls, term) not in best or order < best[(cls, term)][0]:
            best[(cls, term)] = (order, Owner(str(obj), int(shared), int(total)))
    return {key: owner for key, (_, owner) in best.items()}
