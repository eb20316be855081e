"""The verification step: a resumable job that measures each word's effect on the model.

:func:`run_verify` reads the run (its model, its keyword table, its ``word_regions``), then
writes through the single :class:`core.store.StoreWriter` like the precompute job: every
batch of (word, test, photo) measurements is one short transaction in ``word_effect_photos``,
a word-test's effect is stored in ``word_effects`` once all its photos are in, and at the end
the Benjamini-Hochberg q-values and verdicts are set over this invocation's family
(:mod:`core.verify.summary`: tests per kind, effects, the family). Ctrl-C (or a kill) keeps every finished batch; rerunning the same command resumes:
stored words and photos are not measured again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.store import effects as storage
from core.verify.measure import Item, Measurer
from core.verify.model import RunModel
from core.verify.photos import photo_records
from core.verify.report import VerifyReport
from core.verify.sampling import Pair, check_regions, pairs, top_words
from core.verify.settings import CONTROL, VerifySettings
from core.verify.summary import WordTest, adjust, plan_tests, summarize

log = logging.getLogger(__name__)


def run_verify(
    db: str | Path, *, settings: VerifySettings | None = None, **options: Any
) -> VerifyReport:
    """Verify the words of a run in ``db`` (the latest unless ``run_id``); see the module doc."""
    from core.store import StoreWriter, latest_run_id, reading

    settings = VerifySettings.of(settings, **options)
    started = time.monotonic()
    db = Path(db).expanduser()
    with reading(db) as con:
        run_id = settings.run_id if settings.run_id is not None else latest_run_id(con)
        run = RunModel.of(con, run_id)
        check_regions(con, run_id)
    settings = replace(settings, run_id=run_id)
    tops = top_words(db, run_id, settings)
    key = settings.key()
    unknown = [c for c in settings.classes if c not in run.labels]
    if unknown:
        raise DataError(
            f"unknown class(es) {', '.join(unknown)}; the model's classes are "
            f"{', '.join(run.labels)}"
        )
    with StoreWriter(db, publish_every=settings.publish_every) as writer:
        con = writer.con
        missing: list[str] = []
        found = pairs(con, tops, settings, missing=missing)
        todo = [p for p in found if p.cls in run.labels]
        skipped = sorted({p.cls for p in found} - {p.cls for p in todo})
        done = storage.done_words(con, run_id, key)
        tests = plan_tests(con, run_id, _ranked(todo, tops))
        measured, resumed, errors = _measure(writer, run, settings, tests, done)
        errors = missing + errors
        errors += [f"class {c!r} is not one of the model's classes: not verified" for c in skipped]
        for wt in tests:
            if wt.key not in done:
                line = summarize(con, run_id, key, wt, settings)
                errors += [line] if line else []
        family = adjust(con, run_id, key, [wt.key for wt in tests], settings.alpha)
        stored = {(e.cls, e.word, e.test): e for e in storage.effects_of(con, run_id, key)}
    words = [stored[wt.key] for wt in tests if wt.key in stored]
    return VerifyReport(
        run_id=run_id,
        words=words,
        fill=settings.fill,
        control=CONTROL,
        settings=settings.identity(),
        measured=measured,
        resumed=resumed,
        family=family,
        seconds=round(time.monotonic() - started, 2),
        errors=errors[:50],
    )


def _measure(writer, run: RunModel, settings: VerifySettings, todo: list[WordTest], done):
    """Measure the photos not yet stored, a batch at a time; ``(measured, resumed, errors)``."""
    from core.store import asset_dir
    from core.verify.progress import Progress

    con, run_id, key = writer.con, run.run_id, settings.key()
    stored = storage.done_photos(con, run_id, key)
    items = [
        Item(t.cls, t.word, c, t.test)
        for t in todo
        if t.tested and t.key not in done
        for c in t.photos
        if (*t.key, c.image_id) not in stored
    ]
    resumed = sum(len(t.photos) for t in todo if t.tested) - len(items)
    if not items:
        return 0, resumed, []
    pictures = None
    if settings.save_pictures:
        pictures = asset_dir(writer.db) / f"run{run_id}" / "verify"
        pictures.mkdir(parents=True, exist_ok=True)
    records = photo_records(con, run_id, sorted({i.photo.image_id for i in items}))
    measurer = Measurer(run.load(), run, settings.seed, settings.fill, key, records, pictures)
    progress = Progress(len(items), settings.progress)
    for start in range(0, len(items), settings.batch_size):
        batch = items[start : start + settings.batch_size]
        rows = measurer.measure(batch)
        con.execute("BEGIN TRANSACTION")
        storage.write_photos(con, run_id, key, rows)
        con.execute("COMMIT")
        writer.publish()
        progress.advance(len(batch))
    progress.close()
    return len(items), resumed, measurer.errors


def _ranked(todo: list[Pair], tops: dict[str, list[str]]) -> list[Pair]:
    """Pairs in class order of the keyword table, top words by rank, then the extra words."""
    classes = list(tops) + sorted({p.cls for p in todo} - set(tops))
    rank = {(c, w): i for c, ws in tops.items() for i, w in enumerate(ws)}
    return sorted(
        todo, key=lambda p: (classes.index(p.cls), rank.get((p.cls, p.word), 10**6), p.word)
    )
