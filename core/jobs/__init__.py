"""The precompute job: photos -> predictions, CAMs, explanations, tokens and terms in DuckDB.

``run_precompute(data_dir, db)`` walks a photo folder (one sub-folder per class gives the true
label) in batches through :func:`core.pipeline.explain_images`, and writes each batch's rows
(``images`` + ``explanations`` + ``tokens``) in one short transaction through the single
:class:`core.store.StoreWriter`, which publishes a read-only snapshot every few seconds. At the
end it (re)builds the run's term matrix (:func:`core.mining.write_terms`) and stores the keyword
tables of the default settings (:func:`core.mining.store_default_results`).

Resume: a run is identified by its source folder and result-affecting settings; running the
same command again reuses that run and processes only the photos that are missing or failed.
A killed job loses at most the batch in flight. Progress (for the dashboard's live view) is a
JSON file beside the DB, see :func:`progress_path`.

This module imports only the standard library at import time (the dashboard imports
:func:`progress_path` from it and must not load torch).
"""

from __future__ import annotations

import csv
import hashlib
import json
import logging
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import DataError, WordcamError
from core.jobs.progress import ProgressFile, progress_path, read_progress

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

# Explainer/model options that change how a job runs but not what it produces: changing them
# must not start a new run (``--concurrency 8`` on a rerun still resumes).
RUNTIME_ONLY_OPTIONS = frozenset({"concurrency", "rpm", "timeout", "max_retries", "no_cache"})
# Never stored in the DB (settings are readable by anyone who can read the DB).
_SECRET_MARKERS = ("key", "token", "secret", "password", "credential", "auth")
# Stop when this many photos in a row failed before any succeeded (a bad key, a dead server).
FAIL_FAST_AFTER = 20
TEXT_CHUNK = 2000


# ----------------------------------------------------------------------------- runs


def _clean_options(options: dict[str, Any] | None) -> dict[str, Any]:
    """JSON-safe options that affect results: no secrets, no runtime-only knobs."""
    out: dict[str, Any] = {}
    for name, value in sorted((options or {}).items()):
        lowered = name.lower()
        if name in RUNTIME_ONLY_OPTIONS or any(m in lowered for m in _SECRET_MARKERS):
            continue
        if isinstance(value, Path):
            value = str(value)
        if isinstance(value, str) and "://" in value and "@" in value:
            value = re.sub(r"://[^/@]*@", "://", value)  # user:password in a URL
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            value = repr(value)
        out[name] = value
    return out


def _model_spec(model: Any) -> str:
    if not isinstance(model, str):
        return str(getattr(model, "spec", "") or getattr(model, "arch", "") or type(model).__name__)
    p = Path(model).expanduser()
    return str(p.resolve()) if p.is_dir() else model


def _find_run(
    con: duckdb.DuckDBPyConnection, kind: str, source: str, settings: dict[str, Any]
) -> tuple[int, str] | None:
    rows = con.execute(
        "SELECT run_id, CAST(settings AS VARCHAR), status FROM runs "
        "WHERE kind = ? AND source = ? ORDER BY run_id DESC",
        [kind, source],
    ).fetchall()
    for run_id, stored, status in rows:
        try:
            if json.loads(stored or "null") == settings:
                return int(run_id), str(status)
        except ValueError:
            continue
    return None


def _create_run(
    con: duckdb.DuckDBPyConnection,
    kind: str,
    source: str,
    settings: dict[str, Any],
    labels: Sequence[str],
    model: str | None,
    explainer: str | None,
    mode: str | None,
    method: str | None,
    lang: str,
) -> int:
    row = con.execute(
        "INSERT INTO runs (kind, source, model, explainer, mode, method, lang, labels, settings,"
        " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'running') RETURNING run_id",
        [
            kind,
            source,
            model,
            explainer,
            mode,
            method,
            lang,
            json.dumps(list(labels), ensure_ascii=False),
            json.dumps(settings, ensure_ascii=False, sort_keys=True),
        ],
    ).fetchone()
    return int(row[0])


def _set_run_status(
    con: duckdb.DuckDBPyConnection, run_id: int, status: str, image_accuracy: float | None = None
) -> None:
    con.execute(
        "UPDATE runs SET status = ?, updated_at = current_timestamp,"
        " image_accuracy = coalesce(?, image_accuracy) WHERE run_id = ?",
        [status, image_accuracy, run_id],
    )


def _finalize(
    con: duckdb.DuckDBPyConnection, run_id: int, status: str, labels: Sequence[str], min_df: int = 1
) -> float | None:
    """Rebuild the run's term matrix, store its accuracy and status.

    A finished run also gets its default keyword tables (:func:`core.mining.store_default_results`);
    an interrupted one does not, so that Ctrl-C stops at once.
    """
    from core.mining import store_default_results, write_terms

    write_terms(con, run_id, min_df=min_df)
    if status == "done":
        store_default_results(con, run_id)
    from core.store.metrics import image_accuracy

    accuracy = image_accuracy(con, run_id)
    accuracy = None if accuracy is None else round(accuracy, 6)
    _set_run_status(con, run_id, status, accuracy)
    return accuracy


# ----------------------------------------------------------------------------- batches


@dataclass
class _Row:
    """One document's rows: ``images`` + ``explanations`` + ``tokens``."""

    path: str
    rel_path: str | None
    true_label: str | None
    status: str
    error: str | None = None
    sha256: str | None = None
    pred_label: str | None = None
    pred_prob: float | None = None
    topk: list[dict[str, Any]] | None = None
    probs: Any = None
    overlay_path: str | None = None
    panel_path: str | None = None
    marks_path: str | None = None
    thumb_path: str | None = None
    text: str | None = None
    text_error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    tokens: list[str] | None = None
    explainer_failed: bool = False


def _one_line(message: object, limit: int = 500) -> str:
    text = " ".join(str(message).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _json_safe(data: Any) -> str | None:
    if not data:
        return None
    return json.dumps(
        data, ensure_ascii=False, default=lambda o: getattr(o, "tolist", lambda: repr(o))()
    )


def write_rows(
    con: duckdb.DuckDBPyConnection,
    run_id: int,
    rows: Sequence[_Row],
    explainer: str | None,
    mode: str | None,
    lang: str,
) -> None:
    """Replace the rows of ``rows``' paths in one transaction (all of a batch, or nothing)."""
    import pandas as pd

    if not rows:
        return
    images = pd.DataFrame(
        {
            "path": [r.path for r in rows],
            "rel_path": [r.rel_path for r in rows],
            "sha256": [r.sha256 for r in rows],
            "true_label": [r.true_label for r in rows],
            "pred_label": [r.pred_label for r in rows],
            "pred_prob": pd.array([r.pred_prob for r in rows], dtype="Float64"),
            "topk": [_json_safe(r.topk) for r in rows],
            "probs": [None if r.probs is None else [float(x) for x in r.probs] for r in rows],
            "overlay_path": [r.overlay_path for r in rows],
            "panel_path": [r.panel_path for r in rows],
            "marks_path": [r.marks_path for r in rows],
            "thumb_path": [r.thumb_path for r in rows],
            "status": [r.status for r in rows],
            "error": [r.error for r in rows],
        }
    )
    con.execute("BEGIN TRANSACTION")
    try:
        con.register("wc_batch_images", images)
        stale = "SELECT image_id FROM images WHERE run_id = ? AND path IN (SELECT path FROM wc_batch_images)"
        con.execute(f"DELETE FROM tokens WHERE image_id IN ({stale})", [run_id])
        con.execute(f"DELETE FROM explanations WHERE image_id IN ({stale})", [run_id])
        con.execute(f"DELETE FROM doc_terms WHERE image_id IN ({stale})", [run_id])
        con.execute(
            "DELETE FROM images WHERE run_id = ? AND path IN (SELECT path FROM wc_batch_images)",
            [run_id],
        )
        inserted = con.execute(
            "INSERT INTO images (run_id, path, rel_path, sha256, true_label, pred_label, pred_prob,"
            " topk, probs, overlay_path, panel_path, marks_path, thumb_path, status, error)"
            " SELECT ?, path, rel_path, sha256, true_label, pred_label, pred_prob,"
            " CAST(topk AS JSON), CAST(probs AS FLOAT[]), overlay_path, panel_path, marks_path,"
            " thumb_path, status, error FROM wc_batch_images RETURNING image_id, path",
            [run_id],
        ).fetchall()
        ids = {path: int(image_id) for image_id, path in inserted}
        explained = [r for r in rows if r.text is not None or r.text_error is not None]
        if explained:
            con.register(
                "wc_batch_expl",
                pd.DataFrame(
                    {
                        "image_id": pd.array([ids[r.path] for r in explained], dtype="Int64"),
                        "text": [r.text or "" for r in explained],
                        "error": [r.text_error for r in explained],
                        "details": [_json_safe(r.details) for r in explained],
                    }
                ),
            )
            con.execute(
                "INSERT INTO explanations (image_id, run_id, explainer, mode, lang, text, error,"
                " details) SELECT image_id, ?, ?, ?, ?, text, error, CAST(details AS JSON)"
                " FROM wc_batch_expl",
                [run_id, explainer, mode, lang],
            )
            con.unregister("wc_batch_expl")
        tokenized = [r for r in rows if r.tokens is not None]
        if tokenized:
            con.register(
                "wc_batch_tokens",
                pd.DataFrame(
                    {
                        "image_id": pd.array([ids[r.path] for r in tokenized], dtype="Int64"),
                        "tokens": [list(r.tokens or []) for r in tokenized],
                    }
                ),
            )
            con.execute(
                "INSERT INTO tokens (image_id, run_id, tokens) SELECT image_id, ?,"
                " CAST(tokens AS VARCHAR[]) FROM wc_batch_tokens",
                [run_id],
            )
            con.unregister("wc_batch_tokens")
        con.unregister("wc_batch_images")
        con.execute("UPDATE runs SET updated_at = current_timestamp WHERE run_id = ?", [run_id])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _tokenize_rows(rows: Sequence[_Row], lang: str, workers: int = 1) -> None:
    """Fill ``tokens`` for every row with an explanation, tokenizing each distinct text once."""
    from core.text import tokenize_many

    texts = list(dict.fromkeys(r.text for r in rows if r.text))
    tokens = (
        dict(zip(texts, tokenize_many(texts, lang=lang, workers=workers), strict=True))
        if texts
        else {}
    )
    for r in rows:
        if r.status == "done":
            r.tokens = list(tokens.get(r.text, [])) if r.text else []


def _result_row(
    result: Any, path: Path, rel_path: str, true_label: str | None, labels: Sequence[str]
) -> _Row:
    """An :class:`core.pipeline.ImageResult` as rows (failed when it or its explanation failed)."""
    import numpy as np

    row = _Row(
        path=str(path),
        rel_path=rel_path,
        true_label=true_label,
        status="done",
        sha256=getattr(result, "sha256", None),
    )
    error = getattr(result, "error", None)
    probs = getattr(result, "probs", None)
    if probs is not None:
        probs = np.asarray(probs, dtype=np.float32).reshape(-1)
        row.probs = probs
        pred_index = getattr(result, "pred_index", None)
        if pred_index is None:
            pred_index = int(np.argmax(probs))
        pred_index = int(pred_index)
        row.pred_label = labels[pred_index] if pred_index < len(labels) else str(pred_index)
        row.pred_prob = float(probs[pred_index])
        shown = list(getattr(result, "predictions", None) or [])
        order = np.argsort(-probs, kind="stable")[: max(1, len(shown))]
        row.topk = [
            {
                "label": labels[i] if i < len(labels) else str(int(i)),
                "display": shown[n][0] if n < len(shown) else None,
                "prob": round(float(probs[i]), 6),
            }
            for n, i in enumerate(order)
        ]
    for name in ("overlay_path", "panel_path", "marks_path", "thumb_path"):
        value = getattr(result, name, None)
        setattr(row, name, str(Path(value).resolve()) if value else None)
    explanation = getattr(result, "explanation", None)
    if explanation is not None:
        row.text = str(explanation.text or "")
        row.text_error = _one_line(explanation.error) if explanation.error else None
        row.details = dict(explanation.details or {})
    if error:
        row.status, row.error = "failed", _one_line(error)
    elif explanation is None:
        row.status, row.error = "failed", "no explanation was produced"
    elif explanation.error:
        row.status, row.error = "failed", f"explainer: {row.text_error}"
        row.explainer_failed = True
    return row


class _HeapTrimmer:
    """Keeps the job's memory flat on glibc: returns freed heap pages to the OS when needed.

    Forward passes over batches of varying shape (e.g. the grounded explainer's region crops,
    2-4 per photo) fragment glibc's heap, and freed memory is kept: resident memory then grows
    by about 1 MB per photo. When RSS has grown more than ``limit_mb`` since the first batch,
    ``malloc_trim(0)`` hands the free pages back (rarely, so the page refaults cost nothing).
    """

    def __init__(self, limit_mb: float = 200.0) -> None:
        self.limit_mb = limit_mb
        self.base_mb: float | None = None
        self.trims = 0
        self._libc = None
        if sys.platform.startswith("linux"):
            import ctypes

            try:
                self._libc = ctypes.CDLL("libc.so.6")
                self._libc.malloc_trim  # noqa: B018 (glibc only: musl has no malloc_trim)
            except (OSError, AttributeError):
                self._libc = None

    @staticmethod
    def rss_mb() -> float | None:
        try:
            pages = int(Path("/proc/self/statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            return None
        return pages * os.sysconf("SC_PAGE_SIZE") / 2**20

    def __call__(self) -> None:
        if self._libc is None or (rss := self.rss_mb()) is None:
            return
        if self.base_mb is None:
            self.base_mb = rss
        elif rss > self.base_mb + self.limit_mb:
            import gc

            gc.collect()
            self._libc.malloc_trim(0)
            self.trims += 1


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ----------------------------------------------------------------------------- images


def _list_photos(
    data_dir: str | Path, limit: int | None
) -> tuple[Path, list[tuple[Path, str | None]]]:
    from core.images import IMAGE_SUFFIXES, labelled_images

    root = Path(data_dir).expanduser()
    if not root.exists():
        raise DataError(
            f"{root}: no such folder; pass a folder of photos (one sub-folder per class)"
        )
    if not root.is_dir():
        raise DataError(f"{root}: not a folder; pass a folder of photos (one sub-folder per class)")
    items = labelled_images(root)
    if not items:
        raise DataError(
            f"{root}: no image files found (looked for {', '.join(sorted(IMAGE_SUFFIXES))}, "
            "recursively); pass a folder of photos"
        )
    if limit is not None:
        if limit < 1:
            raise DataError(f"--limit must be at least 1 (got {limit})")
        items = items[:limit]
    return root.resolve(), [(p.resolve(), label) for p, label in items]


def _existing_status(con: duckdb.DuckDBPyConnection, run_id: int) -> dict[str, str]:
    return dict(
        con.execute("SELECT path, status FROM images WHERE run_id = ?", [run_id]).fetchall()
    )


def run_precompute(
    data_dir: str | Path,
    db: str | Path,
    model: Any = "imagenet",
    explainer: Any = "grounded",
    mode: str = "blind",
    method: str = "gradcam",
    lang: str = "ja",
    limit: int | None = None,
    batch_size: int = 16,
    model_options: dict[str, Any] | None = None,
    explainer_options: dict[str, Any] | None = None,
    progress: bool = True,
    *,
    layer: str | None = None,
    top_k: int = 3,
    publish_every: float = 10.0,
) -> dict[str, Any]:
    """Explain every photo below ``data_dir`` into the DuckDB ``db``; resumable.

    Returns a summary: ``run_id``, ``done`` and ``failed`` (this session), ``skipped_existing``
    (already done by an earlier session), ``total``, ``elapsed`` (s), ``db``, ``status`` and
    ``image_accuracy`` (true == predicted over photos whose folder name is one of the model's
    labels; None when there are none). Ctrl-C abandons the batch in flight, marks the run
    ``interrupted``, publishes and re-raises :class:`KeyboardInterrupt`.
    """
    from core.store import StoreWriter

    if mode not in ("blind", "informed"):
        raise WordcamError(f"unknown mode {mode!r}; use blind or informed")
    if batch_size < 1:
        raise WordcamError(f"--batch-size must be at least 1 (got {batch_size})")
    t0 = time.monotonic()
    db = Path(db).expanduser()
    root, items = _list_photos(data_dir, limit)
    model_options = dict(model_options or {})
    explainer_options = dict(explainer_options or {})
    explainer_options.setdefault("lang", lang)
    model_spec = _model_spec(model)
    explainer_spec = (
        explainer if isinstance(explainer, str) else str(getattr(explainer, "name", explainer))
    )
    settings = {
        "model": model_spec,
        "model_options": _clean_options(model_options),
        "explainer": explainer_spec,
        "explainer_options": _clean_options(explainer_options),
        "mode": mode,
        "method": method,
        "layer": layer,
        "lang": lang,
        "top_k": top_k,
    }

    with StoreWriter(db, publish_every=publish_every) as writer:
        con = writer.con
        found = _find_run(con, "images", str(root), settings)
        run_id = found[0] if found else None
        existing = _existing_status(con, run_id) if run_id is not None else {}
        todo = [(p, label) for p, label in items if existing.get(str(p)) != "done"]
        skipped = len(items) - len(todo)
        tracker = ProgressFile(db, total=len(items), done=skipped, run_id=run_id, show=progress)
        summary: dict[str, Any] = {
            "run_id": run_id,
            "done": 0,
            "failed": 0,
            "skipped_existing": skipped,
            "total": len(items),
            "elapsed": 0.0,
            "db": str(db),
            "image_accuracy": None,
            "status": "running",
            "errors": [],
        }
        try:
            classifier = explainer_obj = None
            labels: list[str] = []
            if todo:
                tracker.write("running", "loading the model and explainer")
                classifier, explainer_obj = _load_backends(
                    model, model_options, explainer, explainer_options
                )
                labels = list(classifier.labels)
            if run_id is None:
                run_id = _create_run(
                    con,
                    "images",
                    str(root),
                    settings,
                    labels,
                    model_spec,
                    explainer_spec,
                    mode,
                    method,
                    lang,
                )
            else:
                labels = labels or _run_labels(con, run_id)
                if classifier is not None:
                    con.execute(
                        "UPDATE runs SET labels = ? WHERE run_id = ?",
                        [json.dumps(labels, ensure_ascii=False), run_id],
                    )
                _set_run_status(con, run_id, "running")
            summary["run_id"] = tracker.run_id = run_id
            writer.publish(force=True)
            tracker.write("running")
            out_dir = _asset_dir(db, run_id)
            streak = 0
            trim_heap = _HeapTrimmer()
            for chunk in _chunks(todo, batch_size):
                rows = _explain_chunk(
                    chunk,
                    root,
                    classifier,
                    explainer_obj,
                    labels,
                    method,
                    lang,
                    mode,
                    top_k,
                    out_dir,
                    layer,
                )
                _tokenize_rows(rows, lang)
                write_rows(con, run_id, rows, explainer_spec, mode, lang)
                ok = sum(r.status == "done" for r in rows)
                failed = [r for r in rows if r.status != "done"]
                summary["done"] += ok
                summary["failed"] += len(failed)
                summary["errors"].extend(
                    r.error if r.path in (r.error or "") else f"{r.path}: {r.error}"
                    for r in failed[:20]
                )
                del summary["errors"][50:]
                for r in failed:
                    log.debug("failed: %s: %s", r.path, r.error)
                tracker.advance(ok, len(failed))
                writer.publish()
                # A bad key or a dead server fails every photo: stop instead of failing them all.
                explainer_failed = [r for r in failed if r.explainer_failed]
                streak = 0 if summary["done"] else streak + len(explainer_failed)
                if streak >= FAIL_FAST_AFTER:
                    last = explainer_failed[-1]
                    raise DataError(
                        f"stopping: the explainer failed on the first {streak} photos (last: "
                        f"{Path(last.path).name}: {last.error}); fix the cause and rerun"
                    )
                del rows, failed, explainer_failed
                trim_heap()
            log.debug("heap trimmed %d times", trim_heap.trims)
            tracker.write("running", "building the term matrix and keyword tables")
            summary["image_accuracy"] = _finalize(con, run_id, "done", labels)
            summary["status"] = "done"
        except KeyboardInterrupt:
            _stop(
                con,
                run_id,
                "interrupted",
                labels,
                tracker,
                summary,
                "interrupted; rerun the same command to resume",
            )
            raise
        except BaseException as exc:
            _stop(con, run_id, "failed", labels, tracker, summary, _one_line(exc))
            raise
        finally:
            tracker.close()
        summary["elapsed"] = round(time.monotonic() - t0, 3)
        tracker.write(
            "done", f"{summary['done']} done, {summary['failed']} failed, {skipped} already done"
        )
    return summary


def _stop(
    con: duckdb.DuckDBPyConnection,
    run_id: int | None,
    status: str,
    labels: Sequence[str],
    tracker: ProgressFile,
    summary: dict[str, Any],
    message: str,
) -> None:
    """Record an early stop (the writer's exit publishes the snapshot)."""
    summary["status"] = status
    tracker.write(status, message)
    if run_id is None:
        return
    try:
        if status == "interrupted":
            _finalize(con, run_id, status, labels)
        else:
            _set_run_status(con, run_id, status)
    except Exception as exc:  # the DB keeps every committed batch either way
        log.debug("could not finalize run %s: %s", run_id, exc)


def _run_labels(con: duckdb.DuckDBPyConnection, run_id: int) -> list[str]:
    row = con.execute(
        "SELECT CAST(labels AS VARCHAR) FROM runs WHERE run_id = ?", [run_id]
    ).fetchone()
    try:
        return list(json.loads(row[0])) if row and row[0] else []
    except ValueError:
        return []


def _asset_dir(db: Path, run_id: int) -> Path:
    from core.store import asset_dir

    return asset_dir(db) / f"run{run_id}"


def _load_backends(
    model: Any, model_options: dict[str, Any], explainer: str, explainer_options: dict[str, Any]
) -> tuple[Any, Any]:
    from core.explainers import load_explainer
    from core.models import load_model

    classifier = load_model(model, **model_options)
    explainer_obj = (
        explainer
        if not isinstance(explainer, str)
        else load_explainer(explainer, **explainer_options)
    )
    return classifier, explainer_obj


def _explain_chunk(
    chunk: Sequence[tuple[Path, str | None]],
    root: Path,
    classifier: Any,
    explainer: Any,
    labels: Sequence[str],
    method: str,
    lang: str,
    mode: str,
    top_k: int,
    out_dir: Path,
    layer: str | None,
) -> list[_Row]:
    """Run one batch through the pipeline; every input gives exactly one row."""
    from core.pipeline import explain_images

    paths = [p for p, _ in chunk]
    results = list(
        explain_images(
            paths,
            classifier,
            explainer,
            method=method,
            lang=lang,
            mode=mode,
            top_k=top_k,
            out_dir=out_dir,
            batch_size=len(paths),
            layer=layer,
        )
    )
    by_path = {str(Path(r.path).resolve()): r for r in results}
    rows = []
    for index, (path, label) in enumerate(chunk):
        result = by_path.get(str(path))
        if result is None and len(results) == len(chunk):
            result = results[index]
        rel = path.relative_to(root).as_posix()
        if result is None:
            rows.append(
                _Row(
                    path=str(path),
                    rel_path=rel,
                    true_label=label,
                    status="failed",
                    error="the pipeline returned no result for this photo",
                )
            )
        else:
            rows.append(_result_row(result, path, rel, label, labels))
    return rows


# ----------------------------------------------------------------------------- texts

TEXT_COLUMNS = ("id", "label", "text")


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def read_text_records(path: str | Path) -> Iterator[tuple[str, str | None, str]]:
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

    def check(doc_id: str, where: str) -> None:
        if doc_id in seen:
            raise DataError(f"{path}: duplicate id {doc_id!r} ({where}); ids must be unique")
        seen.add(doc_id)

    def text_of(value: Any) -> str:
        return "" if value is None else str(value)

    if suffix == ".csv":
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
                doc_id = text_of(record.get("id")).strip()
                if not doc_id:
                    raise DataError(f"{path}: line {number}: empty id")
                check(doc_id, f"line {number}")
                label = text_of(record.get("label")).strip() or None
                yield doc_id, label, text_of(record.get("text"))
        return
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
            doc_id = text_of(record["id"]).strip()
            if not doc_id:
                raise DataError(f"{path}: line {number}: empty id")
            check(doc_id, f"line {number}")
            label = text_of(record["label"]).strip() or None
            yield doc_id, label, text_of(record["text"])


def import_texts(
    path: str | Path,
    db: str | Path,
    lang: str = "ja",
    progress: bool = True,
    *,
    publish_every: float = 10.0,
) -> dict[str, Any]:
    """Import a CSV/JSONL corpus (``id,label,text``) as a run of kind ``texts``; resumable.

    Each document becomes an ``images`` row (path = id, status done, true_label = label) with
    its explanation and tokens; the run's term matrix is rebuilt at the end. Importing the same
    file (same content) again reuses the run and adds only missing ids.
    """
    from core.store import StoreWriter

    t0 = time.monotonic()
    path = Path(path).expanduser().resolve()
    records = list(read_text_records(path))  # validates the whole file before touching the DB
    if not records:
        raise DataError(f"{path}: no documents (the file has a header but no rows)")
    db = Path(db).expanduser()
    settings = {"lang": lang, "sha256": _file_sha256(path)}
    labels = sorted({label for _, label, _ in records if label is not None})
    with StoreWriter(db, publish_every=publish_every) as writer:
        con = writer.con
        found = _find_run(con, "texts", str(path), settings)
        run_id = (
            found[0]
            if found
            else _create_run(
                con, "texts", str(path), settings, labels, None, "import", None, None, lang
            )
        )
        existing = _existing_status(con, run_id)
        todo = [r for r in records if existing.get(r[0]) != "done"]
        skipped = len(records) - len(todo)
        _set_run_status(con, run_id, "running")
        tracker = ProgressFile(
            db, total=len(records), done=skipped, run_id=run_id, show=progress, unit="doc"
        )
        summary: dict[str, Any] = {
            "run_id": run_id,
            "done": 0,
            "failed": 0,
            "skipped_existing": skipped,
            "total": len(records),
            "elapsed": 0.0,
            "db": str(db),
            "image_accuracy": None,
            "status": "running",
            "errors": [],
        }
        writer.publish(force=True)
        try:
            for chunk in _chunks(todo, TEXT_CHUNK):
                rows = [
                    _Row(path=doc_id, rel_path=doc_id, true_label=label, status="done", text=text)
                    for doc_id, label, text in chunk
                ]
                _tokenize_rows(rows, lang, workers=2)
                write_rows(con, run_id, rows, "import", None, lang)
                summary["done"] += len(rows)
                tracker.advance(len(rows), 0)
                writer.publish()
            tracker.write("running", "building the term matrix and keyword tables")
            _finalize(con, run_id, "done", [])
            summary["status"] = "done"
        except KeyboardInterrupt:
            _stop(
                con,
                run_id,
                "interrupted",
                [],
                tracker,
                summary,
                "interrupted; rerun the same command to resume",
            )
            raise
        except BaseException as exc:
            _stop(con, run_id, "failed", [], tracker, summary, _one_line(exc))
            raise
        finally:
            tracker.close()
        summary["elapsed"] = round(time.monotonic() - t0, 3)
        tracker.write("done", f"{summary['done']} imported, {skipped} already there")
    return summary


def iter_runs(db: str | Path) -> Iterable[dict[str, Any]]:
    """The runs of a published DB as dicts (newest first), for summaries and tests."""
    from core.store import reading

    with reading(db) as con:
        cur = con.execute(
            "SELECT run_id, kind, source, model, explainer, mode, method, lang,"
            " status, image_accuracy FROM runs ORDER BY run_id DESC"
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


__all__ = [
    "run_precompute",
    "import_texts",
    "progress_path",
    "read_progress",
    "read_text_records",
    "write_rows",
    "iter_runs",
]
