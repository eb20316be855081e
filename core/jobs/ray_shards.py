"""Result shards of the Ray engine: one Parquet file per batch, written atomically.

An actor writes each batch's rows (every field of the job's row type, the photo job's
:class:`core.jobs.rows.PhotoRow` or verification's :class:`core.store.effects.PhotoEffect`,
plus the node and process that made them) to ``<shard dir>/<name>.parquet`` under a temporary name and
renames it into place, so a shard on disk is always complete. The driver merges shards into
DuckDB and deletes each one after its rows are committed; a shard left behind by a crash is
merged on the next run. Merging is idempotent (both jobs' writes replace rows by their key),
so a shard merged twice (a crash between commit and delete) changes nothing.

The columns follow the row type: text fields as strings, ``probs`` as a float32 list, every
other field as JSON text, so a field added to the rows travels without a change here.
Only the standard library is imported at module level (pyarrow is loaded when used).
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import MISSING, Field, dataclass, fields
from dataclasses import field as dataclass_field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.jobs.rows import PhotoRow

SUFFIX = ".parquet"
TMP_PREFIX = ".tmp-"
TEXT_TYPES = ("str", "str | None")  # row fields stored as Parquet strings
LABELS_KEY = b"wordcam_labels"
META_KEY = b"wordcam_meta"  # more that travels with a batch (verification's failures)


@dataclass
class ShardBatch:
    """The rows of one shard, and where they were made."""

    shard: Path
    rows: list[PhotoRow]
    node_id: str = ""
    pid: int = 0
    recovered: bool = False  # left by an earlier run and merged now
    labels: list[str] | None = None  # the model's labels (the run's ``labels``)
    batch_s: float | None = None  # the actor's time on this batch
    init_s: float | None = None  # the actor's start-up time (model + explainer)
    meta: dict[str, Any] = dataclass_field(default_factory=dict)  # what the actor added


def _row_fields(row_type: type | None = None) -> tuple[Field, ...]:
    """The fields of the shard's row type (a dataclass; the photo job's row by default)."""
    if row_type is None:
        from core.jobs.rows import PhotoRow

        row_type = PhotoRow
    return fields(row_type)


def _kind(f: Field) -> str:
    if f.name == "probs":
        return "probs"
    return "text" if f.type in TEXT_TYPES else "json"


def _schema(row_type: type | None = None):
    import pyarrow as pa

    types = {"text": pa.string(), "json": pa.string(), "probs": pa.list_(pa.float32())}
    columns = [(f.name, types[_kind(f)]) for f in _row_fields(row_type)]
    return pa.schema([*columns, ("node_id", pa.string()), ("pid", pa.int64())])


def _column(rows: Sequence[Any], f: Field) -> list[Any]:
    values = [getattr(r, f.name) for r in rows]
    kind = _kind(f)
    if kind == "probs":
        return [None if v is None else [float(x) for x in v] for v in values]
    if kind == "json":
        return [None if v is None else _dumps(v) for v in values]
    return values


def _dumps(value: Any) -> str:
    return json.dumps(
        value, ensure_ascii=False, default=lambda o: getattr(o, "tolist", lambda: repr(o))()
    )


def _value(f: Field, stored: Any) -> Any:
    import numpy as np

    kind = _kind(f)
    if stored is None:
        return f.default_factory() if f.default_factory is not MISSING else None
    if kind == "probs":
        return np.asarray(stored, dtype=np.float32)
    return json.loads(stored) if kind == "json" else stored


def write_shard(
    rows: Sequence[Any],
    shard_dir: str | Path,
    node_id: str = "",
    labels: Sequence[str] = (),
    row_type: type | None = None,
    meta: dict[str, Any] | None = None,
) -> Path:
    """Write ``rows`` (of ``row_type``, the photo job's by default) as one new shard (temp
    name, then rename); returns its path.

    ``labels`` (the model's) travel in the file's metadata, so the driver never loads the
    model; so does ``meta`` (JSON-safe: :attr:`ShardBatch.meta`).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(shard_dir)
    out.mkdir(parents=True, exist_ok=True)
    data = {f.name: _column(rows, f) for f in _row_fields(row_type)}
    data["node_id"] = [node_id] * len(rows)
    data["pid"] = [os.getpid()] * len(rows)
    extra = {
        LABELS_KEY: json.dumps(list(labels), ensure_ascii=False).encode(),
        META_KEY: json.dumps(meta or {}, ensure_ascii=False).encode(),
    }
    table = pa.table(data, schema=_schema(row_type).with_metadata(extra))
    name = f"{uuid.uuid4().hex}{SUFFIX}"
    tmp = out / f"{TMP_PREFIX}{name}"
    pq.write_table(table, tmp)
    with open(tmp, "rb") as fh:  # durable before it becomes visible
        os.fsync(fh.fileno())
    os.replace(tmp, out / name)
    return out / name


def read_shard(path: str | Path, row_type: type | None = None) -> ShardBatch:
    """The rows of one shard as the job's row objects (``row_type``: the photo job's)."""
    import pyarrow.parquet as pq

    if row_type is None:
        from core.jobs.rows import PhotoRow

        row_type = PhotoRow
    table = pq.read_table(path)
    records = table.to_pylist()
    metadata = table.schema.metadata or {}
    labels = json.loads(metadata.get(LABELS_KEY, b"[]"))
    row_fields = [f for f in _row_fields(row_type) if f.name in table.column_names]
    rows = [row_type(**{f.name: _value(f, r[f.name]) for f in row_fields}) for r in records]
    first = records[0] if records else {}
    return ShardBatch(
        shard=Path(path),
        rows=rows,
        node_id=first.get("node_id") or "",
        pid=first.get("pid") or 0,
        labels=labels or None,
        meta=json.loads(metadata.get(META_KEY, b"{}")),
    )


def pending_shards(shard_dir: str | Path) -> list[Path]:
    """Complete shards not merged yet (oldest first); stale temp files are removed."""
    folder = Path(shard_dir)
    if not folder.is_dir():
        return []
    for tmp in folder.glob(f"{TMP_PREFIX}*"):
        tmp.unlink(missing_ok=True)  # a writer died mid-write: its batch is redone
    return sorted(folder.glob(f"*{SUFFIX}"), key=lambda p: p.stat().st_mtime)


def drain(shard_dir: str | Path, row_type: type | None = None) -> Iterator[ShardBatch]:
    """Yield each pending shard, deleting it once the consumer asks for the next one."""
    for path in pending_shards(shard_dir):
        batch = read_shard(path, row_type)
        batch.recovered = True
        yield batch
        path.unlink(missing_ok=True)
