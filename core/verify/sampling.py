"""Which words to verify, and which photos of a class show each of them.

The words are the top ``top`` words of every class in the run's keyword table (by the label
source of the settings; :func:`core.mining.mine_source`, which answers from the stored table
when it can) plus the ``--word`` words in every class where they occur. The photos of class C
for word W are the photos labelled C (true or predicted label) whose explanation has W in
``word_regions``; at most ``per_word`` of them, drawn without replacement with a seed of
(seed, C, W), so reruns and resumed runs test the very same photos.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import DataError
from core.verify.stats import word_seed

if TYPE_CHECKING:
    import duckdb

    from core.verify.settings import VerifySettings


@dataclass(frozen=True)
class Candidate:
    """A photo of the class whose explanation names the word, and the word's regions there."""

    image_id: int
    regions: tuple[int, ...]
    localized: bool


@dataclass(frozen=True)
class Pair:
    """A (class, word) to verify and the photos sampled for it."""

    cls: str
    word: str
    photos: tuple[Candidate, ...]


def check_regions(con: duckdb.DuckDBPyConnection, run_id: int) -> None:
    """A clear error when the run has no stored word regions."""
    from core.store.verify_inputs import region_count

    if not region_count(con, run_id):
        raise DataError(
            f"run {run_id} has no stored word regions (which heat regions each word was said "
            "about); rerun `wordcam precompute` on it with this version to record them"
        )


def top_words(db: Path, run_id: int, settings: VerifySettings) -> dict[str, list[str]]:
    """``{class: [top words]}`` of the run's keyword table by the settings' label source."""
    from core.mining import MiningSettings, keyword_table

    if settings.top == 0:
        return {}
    result = keyword_table(db, run_id, MiningSettings(top=settings.top, by=settings.by))
    return {c: [k.word for k in kws] for c, kws in result.classes.items()}


def candidates(
    con: duckdb.DuckDBPyConnection, run_id: int, by: str, word: str
) -> dict[str, list[Candidate]]:
    """``{class: photos}`` whose explanation has ``word`` with stored regions, by image id."""
    from core.store.verify_inputs import word_photos

    out: dict[str, list[Candidate]] = {}
    for cls, image_id, regions, localized in word_photos(con, run_id, by, word):
        out.setdefault(cls, []).append(Candidate(int(image_id), tuple(regions), bool(localized)))
    return out


def sample(photos: list[Candidate], cls: str, word: str, per_word: int, seed: int):
    """At most ``per_word`` of ``photos``, drawn reproducibly, in image-id order."""
    import numpy as np

    if len(photos) <= per_word:
        return tuple(photos)
    rng = np.random.default_rng(word_seed(seed, cls, word))
    picked = sorted(rng.choice(len(photos), size=per_word, replace=False).tolist())
    return tuple(photos[i] for i in picked)


def pairs(
    con: duckdb.DuckDBPyConnection,
    tops: dict[str, list[str]],
    settings: VerifySettings,
    missing: list[str] | None = None,
) -> list[Pair]:
    """The (class, word) pairs to verify with their photos; clear errors for bad requests.

    With ``missing`` (a list), a ``--word`` found in no photo is named there in one line and
    the others are verified; the error is raised only when nothing at all is left.
    """
    run_id = settings.run_id
    assert run_id is not None
    wanted = list(settings.classes) or list(tops) or None
    words = {(c, w) for c, ws in tops.items() for w in ws}
    found: dict[str, dict[str, list[Candidate]]] = {}
    for word in dict.fromkeys([w for _, w in sorted(words)] + list(settings.words)):
        found[word] = candidates(con, run_id, settings.by, word)
    for word in settings.words:
        classes = [c for c in found[word] if wanted is None or c in wanted]
        if not classes:
            where = f"of class {', '.join(wanted)} " if settings.classes else ""
            line = (
                f"no photo {where}has an explanation containing {word!r} with stored regions;"
                " check the word (as `wordcam mine` writes it) and the class"
            )
            if missing is None:
                raise DataError(line)
            missing.append(line)
        words.update((c, word) for c in classes)
    if wanted is not None:
        words = {(c, w) for c, w in words if c in wanted}
    if missing and not words:
        raise DataError(missing[0])
    return [
        Pair(c, w, sample(found[w].get(c, []), c, w, settings.per_word, settings.seed))
        for c, w in sorted(words)
    ]
