"""Result shards of the Ray engine: one Parquet file per batch, written atomically.

An actor writes each batch's rows (the job's ``_Row`` fields plus the node and process that
made them) to ``<shard dir>/<name>.parquet`` under a temporary name and renames it into place,
so a shard on disk is always complete. The driver merges shards into DuckDB and deletes each
one after its rows are committed; a shard left behind by a crash is merged on the next run.
Merging is idempotent (the job's row write replaces rows by path), so a shard merged twice
(a crash between commit and delete) changes nothing.

Only the standard library is imported at module level (pyarrow is loaded when used).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

SUFFIX = ".parquet"
TMP_PREFIX = ".tmp-"
#: Row fields stored as JSON text (nested, backend-specific data).
JSON_FIELDS = ("topk", "details")


@dataclass
class ShardBatch:
    """The rows of one shard, and where they were made."""

    shard: Path
    rows: list[Any]  # core.jobs._Row
    node_id: str = ""
    pid: int = 0
    recovered: bool = False  # left by an earlier run and merged now
    labels: list[str] | None = None  # the model's labels (the run's ``labels``)
    batch_s: float | None = None  # the actor's time on this batch
    init_s: float | None = None  # the actor's start-up time (model + explainer)


def _row_type() -> type:
    from core.jobs import _Row  # the seam: the job's row type (moves with the job's rows)

    return _Row


def _json(data: Any) -> str | None:
    if not data:
        return None
    return json.dumps(
        data, ensure_ascii=False, default=lambda o: getattr(o, "tolist", lambda: repr(o))()
    )


def _schema():
    import pyarrow as pa

    text = pa.string()
    columns = [
        ("path", text), ("rel_path", text), ("true_label", text), ("status", text),
        ("error", text), ("sha256", text), ("pred_label", text), ("pred_prob", pa.float64()),
        ("topk", text), ("probs", pa.list_(pa.float32())), ("overlay_path", text),
        ("panel_path", text), ("marks_path", text), ("thumb_path", text), ("text", text),
        ("text_error", text), ("details", text), ("tokens", pa.list_(text)),
        ("explainer_failed", pa.bool_()), ("node_id", text), ("pid", pa.int64()),
    ]  # fmt: skip
    return pa.schema(columns)


def _column(rows: Sequence[Any], name: str) -> list[Any]:
    values = [getattr(r, name) for r in rows]
    if name in JSON_FIELDS:
        return [_json(v) for v in values]
    if name == "probs":
        return [None if v is None else [float(x) for x in v] for v in values]
    if name == "tokens":
        return [None if v is None else list(v) for v in values]
    return values


def write_shard(
    rows: Sequence[Any], shard_dir: str | Path, node_id: str = "", labels: Sequence[str] = ()
) -> Path:
    """Write ``rows`` as one new shard (temp name, then rename); returns its path.

    ``labels`` (the model's) travel in the file's metadata, so the driver never loads the model.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(shard_dir)
    out.mkdir(parents=True, exist_ok=True)
    schema = _schema()
    data = {name: _column(rows, name) for name in schema.names[:-2]}
    data["node_id"] = [node_id] * len(rows)
    data["pid"] = [os.getpid()] * len(rows)
    meta = {b"wordcam_labels": json.dumps(list(labels), ensure_ascii=False).encode()}
    table = pa.table(data, schema=schema.with_metadata(meta))
    name = f"{uuid.uuid4().hex}{SUFFIX}"
    tmp = out / f"{TMP_PREFIX}{name}"
    pq.write_table(table, tmp)
    with open(tmp, "rb") as fh:  # durable before it becomes visible
        os.fsync(fh.fileno())
    os.replace(tmp, out / name)
    return out / name


def read_shard(path: str | Path) -> ShardBatch:
    """The rows of one shard as the job's row objects."""
    import numpy as np
    import pyarrow.parquet as pq

    row_type = _row_type()
    names = {f.name for f in fields(row_type)}
    table = pq.read_table(path)
    records = table.to_pylist()
    labels = json.loads((table.schema.metadata or {}).get(b"wordcam_labels", b"[]"))
    rows = []
    for record in records:
        values = {k: v for k, v in record.items() if k in names}
        for key in JSON_FIELDS:
            values[key] = json.loads(values[key]) if values[key] else None
        values["details"] = values["details"] or {}
        if values["probs"] is not None:
            values["probs"] = np.asarray(values["probs"], dtype=np.float32)
        rows.append(row_type(**values))
    first = records[0] if records else {}
    return ShardBatch(
        shard=Path(path),
        rows=rows,
        node_id=first.get("node_id") or "",
        pid=first.get("pid") or 0,
        labels=labels or None,
    )


def pending_shards(shard_dir: str | Path) -> list[Path]:
    """Complete shards not merged yet (oldest first); stale temp files are removed."""
    folder = Path(shard_dir)
    if not folder.is_dir():
        return []
    for tmp in folder.glob(f"{TMP_PREFIX}*"):
        tmp.unlink(missing_ok=True)  # a writer died mid-write: its batch is redone
    return sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime)


def drain(shard_dir: str | Path) -> Iterator[ShardBatch]:
    """Yield each pending shard, deleting it once the consumer asks for the next one."""
    for path in pending_shards(shard_dir):
        batch = read_shard(path)
        batch.recovered = True
        yield batch
        path.unlink(missing_ok=True)
