"""The text import: a CSV/JSONL corpus (``id,label,text``) as a run of kind ``texts``.

Each document becomes an ``images`` row (path = id, status done, true_label = label) with its
explanation (the text) and tokens; the run's term matrix is rebuilt at the end. Importing the
same file (same content) again reuses the run and adds only missing ids.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.jobs import runs
from core.jobs.batches import chunks
from core.jobs.rows import tokenize_rows
from core.jobs.session import RunSession
from core.jobs.settings import JobSettings
from core.jobs.summary import JobSummary
from core.mining.files import id_label_text
from core.store.results import ExplanationSource, ResultRow

TEXT_CHUNK = 2000  # documents per batch and per DB transaction


def import_texts(
    path: str | Path, db: str | Path, *, settings: JobSettings | None = None, **options: Any
) -> JobSummary:
    """Import the corpus file ``path`` into the DuckDB ``db``; resumable.

    ``settings`` and/or its fields as keywords: only ``lang``, ``progress`` and
    ``publish_every`` matter here. Returns the same summary as
    :func:`core.jobs.images.run_precompute` (``image_accuracy`` is None for texts).
    """
    from core.store import StoreWriter

    settings = JobSettings.of(settings, **options)
    started = time.monotonic()
    path = Path(path).expanduser().resolve()
    records = list(id_label_text(path))  # validates the whole file before touching the DB
    if not records:
        raise DataError(f"{path}: no documents (the file has a header but no rows)")
    db = Path(db).expanduser()
    run = runs.text_run(path, settings.lang, file_sha256(path))
    labels = sorted({label for _, label, _ in records if label is not None})
    source = ExplanationSource("import", None, settings.lang)
    with StoreWriter(db, publish_every=settings.publish_every) as writer:
        run_id, existing = runs.find(writer.con, run)
        run_id = runs.start(writer.con, run, run_id, labels)
        todo = [r for r in records if existing.get(r[0]) != "done"]
        skipped = len(records) - len(todo)
        session = RunSession(
            writer,
            source,
            total=len(records),
            skipped=skipped,
            run_id=run_id,
            show=settings.progress,
            started=started,
            unit="doc",
            job="import",
        )
        with session:
            session.start(run_id)
            for chunk in chunks(todo, TEXT_CHUNK):
                rows = [
                    ResultRow(i, i, label, status="done", text=text) for i, label, text in chunk
                ]
                tokenize_rows(rows, settings.lang, workers=2)
                session.save(rows)
            session.finish()
        session.done(f"{session.summary.done} imported, {skipped} already there")
    return session.summary


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file's bytes (a corpus run is identified by its content)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
