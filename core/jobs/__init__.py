"""The jobs that fill a wordcam DB: the photo job and the text import.

``run_precompute(data_dir, db)`` explains a photo folder into DuckDB (:mod:`core.jobs.images`);
``import_texts(path, db)`` imports a CSV/JSONL corpus (:mod:`core.jobs.texts`);
``retokenize(db)`` redoes stored tokens of an older version from the stored explanations
(:mod:`core.jobs.terms`, also run at the end of both jobs). The two jobs are resumable: a run is identified by its source and result-affecting settings
(:mod:`core.jobs.runs`, :class:`JobSettings`), and running the same job again processes only
what is missing or failed. A killed job loses at most the batch in flight. Every job (these
two and ``wordcam verify``, :mod:`core.verify.job`) runs on one skeleton
(:mod:`core.jobs.session`: counts, progress file, statuses, publishing, Ctrl-C, a full disk)
and returns a frozen :class:`JobSummary`; progress for the dashboard's live view is a JSON
file beside the DB (:mod:`core.jobs.progress`, with the exit statuses).

Rooms: ``settings`` (the one settings object), ``runs`` (run identity), ``rows`` (pipeline
results -> store rows), ``memory`` (heap trimming), ``session``, ``summary``, ``batches``,
``engines`` (the photo job's engine seam), ``images``, ``texts``, ``progress``, ``terms``
(stored tokens redone), and Ray (``ray_pool``, ``ray_engine``, ``ray_shards``, ``ray_limits``,
``ray_options``). The SQL is the store's (:mod:`core.store.runs`, :mod:`core.store.results`).

Importing this package loads neither torch nor DuckDB (the dashboard imports it).
"""

from __future__ import annotations

from core.jobs.images import run_precompute
from core.jobs.progress import progress_path, read_progress
from core.jobs.settings import JobSettings
from core.jobs.summary import JobSummary
from core.jobs.terms import retokenize
from core.jobs.texts import import_texts
from core.store.results import write_rows

__all__ = [
    "run_precompute",
    "import_texts",
    "retokenize",
    "progress_path",
    "read_progress",
    "write_rows",
    "JobSettings",
    "JobSummary",
]
