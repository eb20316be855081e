"""What a job reports when it ends: one frozen :class:`JobSummary` (precompute, import, verify).

The job's session (:class:`core.jobs.session.JobSession`) counts while it runs and hands out
a summary at any time; :meth:`JobSummary.to_dict` gives the JSON keys ``wordcam precompute``
has always reported (``run_id``, ``done``, ``failed``, ``skipped_existing``, ``total``,
``elapsed``, ``db``, ``image_accuracy``, ``status``, ``errors``, ``skipped_inputs``).
Standard library only.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class JobSummary:
    """One session of a job: its run, counts (this session), errors and how it ended.

    ``done`` / ``failed``: inputs finished / failed in this session; ``skipped_existing``:
    finished by an earlier session; ``errors``: at most :data:`core.jobs.session.ERRORS_KEPT`
    failure messages; ``skipped_inputs``: ``(path, reason)`` of every input left out.
    """

    run_id: int | None
    total: int
    db: str
    done: int = 0
    failed: int = 0
    skipped_existing: int = 0
    elapsed: float = 0.0
    image_accuracy: float | None = None
    status: str = "running"
    errors: tuple[str, ...] = ()
    skipped_inputs: tuple[tuple[str, str], ...] = ()

    @property
    def some_failed(self) -> bool:
        """Finished, but some inputs failed (``wordcam``'s exit status 3; a rerun retries them)."""
        return self.failed > 0

    def to_dict(self) -> dict[str, Any]:
        """The summary as JSON-safe data, with the keys ``wordcam precompute`` reports."""
        return {
            "run_id": self.run_id,
            "done": self.done,
            "failed": self.failed,
            "skipped_existing": self.skipped_existing,
            "total": self.total,
            "elapsed": self.elapsed,
            "db": self.db,
            "image_accuracy": self.image_accuracy,
            "status": self.status,
            "errors": list(self.errors),
            "skipped_inputs": [list(item) for item in self.skipped_inputs],
        }

    def __getitem__(self, key: str) -> Any:
        """Deprecated: ``summary["done"]``, as the jobs' summary dicts were read; use attributes."""
        warnings.warn(
            "reading a job summary by key is deprecated; use its attributes (summary.done)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.to_dict()[key]
