"""The text import: a CSV/JSONL corpus (``id,label,text``) as a run of kind ``texts``.

Each document becomes an ``images`` row (path = id, status done, true_label = label) with its
explanation (the text) and tokens; the run's term matrix is rebuilt at the end. Importing the
same file (same content) again reuses the run and adds only missing ids.
"""

from __future__ import annotations

import csv
import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.errors import DataError
from core.jobs import runs
from core.jobs.rows import tokenize_rows
from core.jobs.session import JobSession, chunks
from core.jobs.settings import JobSettings
from core.store.results import ExplanationSource, ResultRow

TEXT_CHUNK = 2000  # documents per batch and per DB transaction
TEXT_COLUMNS = ("id", "label", "text")
TextRecord = tuple[str, str | None, str]  # (id, label or None, text)


def import_texts(
    path: str | Path, db: str | Path, *, settings: JobSettings | None = None, **options: Any
) -> dict[str, Any]:
    """Import the corpus file ``path`` into the DuckDB ``db``; resumable.

    ``settings`` and/or its fields as keywords: only ``lang``, ``progress`` and
    ``publish_every`` matter here. Returns the same summary as
    :func:`core.jobs.images.run_precompute` (``image_accuracy`` is None for texts).
    """
    from core.store import StoreWriter

    settings = JobSettings.of(settings, **options)
    started = time.monotonic()
    path = Path(path).expanduser().resolve()
    records = list(read_text_records(path))  # validates the whole file before touching the DB
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
        session = JobSession(
            writer,
            source,
            total=len(records),
            skipped=skipped,
            run_id=run_id,
            show=settings.progress,
            started=started,
            unit="doc",
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
        session.done(f"{session.summary['done']} imported, {skipped} already there")
    return session.summary


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of the file's bytes (a corpus run is identified by its content)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_text_records(path: str | Path) -> Iterator[TextRecord]:
    """``(id, label, text)`` from a CSV (header ``id,label,text``) or JSONL file.

    Missing columns, unknown formats and duplicate ids raise :class:`DataError` naming them.
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise DataError(
            f"{path}: no such file; pass a CSV or JSONL file with columns id,label,text"
        )
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".jsonl", ".ndjson"):
        raise DataError(
            f"{path}: unknown text file type {suffix or '(none)'}; use .csv or .jsonl "
            "with columns id,label,text"
        )
    seen: set[str] = set()
    records = _csv_records(path) if suffix == ".csv" else _jsonl_records(path)
    for number, doc_id, label, text in records:
        if not doc_id:
            raise DataError(f"{path}: line {number}: empty id")
        if doc_id in seen:
            raise DataError(f"{path}: duplicate id {doc_id!r} (line {number}); ids must be unique")
        seen.add(doc_id)
        yield doc_id, label, text


def _text_of(value: Any) -> str:
    return "" if value is None else str(value)


def _csv_records(path: Path) -> Iterator[tuple[int, str, str | None, str]]:
    """``(line number, id, label, text)`` of a CSV file whose header names id,label,text."""
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        header = [c.strip() for c in reader.fieldnames or []]
        missing = [c for c in TEXT_COLUMNS if c not in header]
        if missing:
            raise DataError(
                f"{path}: missing column(s) {', '.join(missing)} (found: "
                f"{', '.join(header) or 'none'}); the header must be id,label,text"
            )
        reader.fieldnames = header
        for number, record in enumerate(reader, start=2):
            label = _text_of(record.get("label")).strip() or None
            yield number, _text_of(record.get("id")).strip(), label, _text_of(record.get("text"))


def _jsonl_records(path: Path) -> Iterator[tuple[int, str, str | None, str]]:
    """``(line number, id, label, text)`` of a JSONL file (blank lines skipped)."""
    with open(path, encoding="utf-8-sig") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise DataError(f"{path}: line {number}: not valid JSON ({exc})") from None
            if not isinstance(record, dict):
                raise DataError(f"{path}: line {number}: expected a JSON object with id,label,text")
            missing = [c for c in TEXT_COLUMNS if c not in record]
            if missing:
                raise DataError(
                    f"{path}: line {number}: missing column(s) {', '.join(missing)}; "
                    "each line needs id, label and text"
                )
            label = _text_of(record["label"]).strip() or None
            yield number, _text_of(record["id"]).strip(), label, _text_of(record["text"])
