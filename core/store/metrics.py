"""The run-level metrics, each defined once: image-model accuracy and the majority baseline.

The job's summary, ``wordcam mine``, the Overview and the Keywords page all read these, so the
same run shows the same number everywhere. (The words -> label accuracy is the miner's
cross-validated score: :attr:`core.mining.MiningResult.text_accuracy`.)

* **Image accuracy**: among the run's finished photos whose true label is one of the model's
  classes (``runs.labels``; any true label when the run recorded none) and that have a
  prediction, the share predicted correctly. ``None`` when there is no such photo (e.g. an
  ImageNet model on ward folders, or a text corpus).
* **Majority baseline**: the share of the most frequent true label among finished, labelled
  photos: the accuracy of always answering that label.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb

_SCORED = """
    FROM images i JOIN runs r USING (run_id)
    WHERE i.run_id = ? AND i.status = 'done' AND i.true_label IS NOT NULL
      AND i.pred_label IS NOT NULL
      AND (coalesce(json_array_length(r.labels), 0) = 0
           OR list_contains(CAST(r.labels AS VARCHAR[]), i.true_label))
"""


def image_accuracy(con: duckdb.DuckDBPyConnection, run_id: int) -> float | None:
    """Image-model accuracy of run ``run_id`` (see the module docstring), or ``None``."""
    n, correct = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE i.pred_label = i.true_label) {_SCORED}",
        [run_id],
    ).fetchone()
    return correct / n if n else None


def majority_baseline(
    con: duckdb.DuckDBPyConnection, run_id: int
) -> tuple[str | None, float | None]:
    """``(label, share)`` of the most frequent true label among finished photos of the run."""
    row = con.execute(
        """
        SELECT true_label, count(*) AS n, sum(count(*)) OVER () AS total FROM images
        WHERE run_id = ? AND status = 'done' AND true_label IS NOT NULL
        GROUP BY true_label ORDER BY n DESC, true_label LIMIT 1
        """,
        [run_id],
    ).fetchone()
    if not row:
        return None, None
    return row[0], row[1] / row[2]


def image_accuracy_of(
    true_labels: Iterable[str | None],
    pred_labels: Iterable[str | None],
    classes: Collection[str] | None = None,
) -> float | None:
    """:func:`image_accuracy`'s rule on labels in memory (a corpus file's, say), or ``None``.

    Among the items with a true and a predicted label whose true label is one of ``classes``
    (any true label when ``classes`` is empty or ``None``), the share predicted correctly.
    """
    scored = [
        (t, p)
        for t, p in zip(true_labels, pred_labels, strict=True)
        if t is not None and p is not None and (not classes or t in classes)
    ]
    return sum(t == p for t, p in scored) / len(scored) if scored else None
