"""The verification step: a resumable job that measures each word's effect on the model.

:func:`run_verify` reads the run (its model, its keyword table, its ``word_regions``), then
writes through the single :class:`core.store.StoreWriter` on the job skeleton every job shares
(:class:`core.jobs.session.JobSession`: the progress file beside the DB, the statuses
``running``, ``interrupted``, ``failed`` and ``done``, Ctrl-C and a full disk, the summary):
every batch of (word, test, photo) measurements is one short transaction in
``word_effect_photos``, a word-test's effect is stored in ``word_effects`` once all its photos
are in, and at the end the Benjamini-Hochberg q-values and verdicts are set over this
invocation's family (:mod:`core.verify.summary`: the tests per kind, effects, the family).
Ctrl-C (or a kill) keeps every finished batch; rerunning the same command resumes:
stored words and photos are not measured again. A photo that cannot be read is *failed*: not
stored, its word not summarised, measured again on the next run (exit status 3, as precompute).

Where the batches are measured is the engine's business (:mod:`core.verify.engines`):
``local`` (the run's model on ``--device``) or ``ray`` (a pool of Ray actors).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.jobs.ray_options import EngineOptions
from core.jobs.session import JobSession
from core.jobs.summary import JobSummary
from core.store import effects as storage
from core.verify.engines import Engine, LocalEngine, Plan, RayEngine, item_key, row_key
from core.verify.measure import Item
from core.verify.model import RunModel
from core.verify.photos import photo_records
from core.verify.report import VerifyReport
from core.verify.sampling import Pair, check_regions, pairs, top_words
from core.verify.settings import CONTROL, VerifySettings
from core.verify.summary import WordTest, adjust, plan_tests, summarize

log = logging.getLogger(__name__)
ENGINE_FIELDS = ("engine", "device", "ray")  # run_verify's keywords that say where it runs


@dataclass(frozen=True)
class Verification:
    """What the job answers (the report) and how it went (the job's summary)."""

    report: VerifyReport
    summary: JobSummary


def run_verify(
    db: str | Path,
    *,
    settings: VerifySettings | None = None,
    engine: EngineOptions | str | None = None,
    **options: Any,
) -> VerifyReport:
    """Verify the words of a run in ``db`` (the latest unless ``run_id``); see the module doc.

    ``settings`` and/or its fields as keywords; ``engine`` (an
    :class:`~core.jobs.ray_options.EngineOptions`, or its fields ``engine="ray"``,
    ``device=``, ``ray=`` as keywords): where the photo-words are measured.
    """
    return verify(db, settings=settings, engine=engine, **options).report


def verify(
    db: str | Path,
    *,
    settings: VerifySettings | None = None,
    engine: EngineOptions | str | None = None,
    **options: Any,
) -> Verification:
    """:func:`run_verify`, with the job's :class:`JobSummary` (``failed``: photo-words whose
    photo could not be read, measured again on the next run)."""
    from core.store import StoreWriter

    where = {k: options.pop(k) for k in ENGINE_FIELDS if k in options}
    if isinstance(engine, str):  # engine="ray", as JobSettings takes it
        where["engine"], engine = engine, None
    engine = replace(engine or EngineOptions(), **where)
    settings = VerifySettings.of(settings, **options)
    started = time.monotonic()
    db = Path(db).expanduser()
    run, settings, tests, skipped, missing = _prepare(db, settings)
    key = settings.key()
    with StoreWriter(db, publish_every=settings.publish_every) as writer:
        con, run_id = writer.con, run.run_id
        done = storage.done_words(con, run_id, key)
        work = Work.of(con, tests, done, key, run_id)
        session = JobSession(
            writer, total=work.total, skipped=work.resumed, run_id=run_id,
            show=settings.progress, started=started, unit="photo-word", job="verify",
        )  # fmt: skip
        with session:
            session.start(run_id)
            failed_tests = _measure(session, run, settings, engine, work)
            session.note("storing the effects and verdicts")
            lines = [
                summarize(con, run_id, key, wt, settings)
                for wt in tests
                if wt.key not in done and wt.key not in failed_tests
            ]
            members = [wt.key for wt in tests if wt.key not in failed_tests]
            family = adjust(con, run_id, key, members, settings.alpha)
            session.finish()
        summary = session.summary
        session.done(
            f"{summary.done} photo-words measured, {summary.failed} failed, {work.resumed} resumed"
        )
        stored = {(e.cls, e.word, e.test): e for e in storage.effects_of(con, run_id, key)}
    errors = missing + list(summary.errors) + [line for line in lines if line]
    errors += [f"class {c!r} is not one of the model's classes: not verified" for c in skipped]
    words = [stored[wt.key] for wt in tests if wt.key in stored]
    report = VerifyReport(
        run_id=run_id,
        words=words,
        fill=settings.fill,
        control=CONTROL,
        settings=settings.identity(),
        measured=summary.done,
        resumed=work.resumed,
        family=family,
        seconds=round(time.monotonic() - started, 2),
        errors=errors[:50],
    )
    return Verification(report, summary)


def _prepare(db: Path, settings: VerifySettings):
    """The run's model, the settings with the run, the word-tests to run (in table order), the
    classes left out and one line per ``--word`` found nowhere; one clear line (before any
    write) when nothing can be verified."""
    from core.store import latest_run_id, reading

    with reading(db) as con:
        run_id = settings.run_id if settings.run_id is not None else latest_run_id(con)
        run = RunModel.of(con, run_id)
        check_regions(con, run_id)
    settings = replace(settings, run_id=run_id)
    tops = top_words(db, run_id, settings)
    unknown = [c for c in settings.classes if c not in run.labels]
    if unknown:
        raise DataError(
            f"unknown class(es) {', '.join(unknown)}; the model's classes are "
            f"{', '.join(run.labels)}"
        )
    missing: list[str] = []
    with reading(db) as con:
        found = pairs(con, tops, settings, missing=missing)
    todo = [p for p in found if p.cls in run.labels]
    skipped = sorted({p.cls for p in found} - {p.cls for p in todo})
    if found and not todo:
        shown = ", ".join(skipped[:5]) + (" ..." if len(skipped) > 5 else "")
        raise DataError(
            f"the photos' {settings.by} labels ({shown}) are not classes of the run's model "
            f"({run.spec}), so hiding a word cannot be measured against them; verify by the "
            "model's own answer: wordcam verify --by predicted"
        )
    with reading(db) as con:
        tests = plan_tests(con, run_id, _ranked(todo, tops))
    return run, settings, tests, skipped, missing


@dataclass
class Work:
    """The photo-word-tests still to measure (not stored, their word-test not stored) and how
    many are stored already."""

    items: list[Item]
    total: int
    resumed: int
    key: str

    @classmethod
    def of(cls, con, tests: list[WordTest], done: set, key: str, run_id: int) -> Work:
        stored = storage.done_photos(con, run_id, key)
        items = [
            Item(t.cls, t.word, c, t.test)
            for t in tests
            if t.tested and t.key not in done
            for c in t.photos
            if (*t.key, c.image_id) not in stored
        ]
        total = sum(len(t.photos) for t in tests if t.tested)
        return cls(items, total, total - len(items), key)


def _engine(run: RunModel, settings: VerifySettings, engine: EngineOptions, writer, items):
    """The engine measuring ``items`` (with their photos' paths and stored boxes)."""
    import hashlib

    from core.store import asset_dir
    from core.store.nofollow import folder_no_follow

    key = settings.key()
    folder = asset_dir(writer.db) / f"run{run.run_id}"
    pictures = None
    if settings.save_pictures:
        pictures = folder_no_follow(folder / "verify", below=asset_dir(writer.db).parent)
        pictures = pictures.resolve()
    records = photo_records(writer.con, run.run_id, sorted({i.photo.image_id for i in items}))
    plan = Plan(run, settings.seed, settings.fill, key, records, str(pictures or "") or None)
    if engine.engine == "ray":
        digest = hashlib.sha1(key.encode()).hexdigest()[:12]
        shards = folder_no_follow(folder / f"verify-{digest}.shards", asset_dir(writer.db).parent)
        return RayEngine(plan, engine, shards)
    return LocalEngine(plan, engine.device)


def _measure(
    session: JobSession,
    run: RunModel,
    settings: VerifySettings,
    engine_options: EngineOptions,
    work: Work,
) -> set[tuple[str, str, str]]:
    """Measure the photo-words of ``work`` a batch at a time, each batch committed before the
    next; returns the (class, word, test) keys with a photo that failed (not summarised now)."""
    if not work.items:
        return set()
    con, run_id = session.con, run.run_id
    session.note("starting Ray" if engine_options.engine == "ray" else "loading the model")
    engine: Engine = _engine(run, settings, engine_options, session.writer, work.items)
    size = settings.batch_size
    batches = [work.items[start : start + size] for start in range(0, len(work.items), size)]
    failed: dict[str, tuple[str, str, str]] = {}
    pending = {item_key(i) for i in work.items}
    for out in engine.measured(batches):
        with session.writer.transaction():  # a shard's rows stored already: replaced alike
            storage.write_photos(con, run_id, work.key, out.rows)
        keys = [row_key(row) for row in out.rows]
        again = sum(k not in pending for k in keys)  # counted by an earlier session
        pending.difference_update(keys)
        for k in keys:
            failed.pop(k, None)
        for item in out.failed:
            failed[item_key(item)] = (item.cls, item.word, item.test)
        session.count(out.size - len(out.failed) - again, len(out.failed), out.errors)
    return set(failed.values())


def _ranked(todo: list[Pair], tops: dict[str, list[str]]) -> list[Pair]:
    """Pairs in class order of the keyword table, top words by rank, then the extra words."""
    classes = list(tops) + sorted({p.cls for p in todo} - set(tops))
    rank = {(c, w): i for c, ws in tops.items() for i, w in enumerate(ws)}
    return sorted(
        todo, key=lambda p: (classes.index(p.cls), rank.get((p.cls, p.word), 10**6), p.word)
    )
