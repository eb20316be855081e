"""The job's terms step for stored explanations: re-tokenize those of an older version.

Tokens are stored with the version of the code that made them (``tokens.tokenizer``:
:data:`core.text.evidence.TERMS_VERSION`). :func:`retokenize_run` recomputes the tokens, kinds
and (for a photo run) ``word_regions`` of every finished document whose tokens are missing or
of another version, from its stored text and details (:mod:`core.text.evidence`): nothing is
explained again and no model is loaded. The photo job and the text import run it at the end
of every session (:meth:`core.jobs.session.RunSession.finish`), before the term matrix and the
keyword tables are rebuilt; :func:`retokenize` does the same for a whole DB on its own::

    from core.jobs import retokenize
    retokenize("data/wordcam.duckdb")      # {run_id: documents re-tokenized}
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from core.jobs.batches import chunks
from core.store.results import (
    ResultRow,
    replace_tokens,
    run_terms_context,
    stale_explanations,
)

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)
RETOKENIZE_CHUNK = 2000  # documents per transaction


def retokenize_run(con: duckdb.DuckDBPyConnection, run_id: int, workers: int = 1) -> int:
    """Re-tokenize the run's documents whose stored tokens are not of the current version.

    Returns how many were re-tokenized (0: all current, one cheap query). The caller rebuilds
    the term matrix and keyword tables afterwards (the job's finalize does).
    """
    from core.jobs.rows import tokenize_rows
    from core.text.evidence import TERMS_VERSION

    stale = stale_explanations(con, run_id, TERMS_VERSION)
    if not stale:
        return 0
    kind, lang, labels, _ = run_terms_context(con, run_id)
    lang = lang or str(stale[0].details.get("lang") or "ja")
    for part in chunks(stale, RETOKENIZE_CHUNK):
        rows = [
            ResultRow(str(doc.image_id), None, None, "done", text=doc.text, details=doc.details)
            for doc in part
        ]
        explainer = part[0].explainer  # one explainer per run
        tokenize_rows(
            rows, lang, workers, phrases=labels, explainer=explainer, regions=kind == "images"
        )
        replace_tokens(con, run_id, rows, {str(doc.image_id): doc.image_id for doc in part})
    log.info("run %s: re-tokenized %d stored explanations", run_id, len(stale))
    return len(stale)


def retokenize(db: str | Path, run_id: int | None = None, workers: int = 2) -> dict[int, int]:
    """Re-tokenize every run of ``db`` (or only ``run_id``) whose stored tokens are stale, then
    rebuild the term matrix and (for finished runs) the stored keyword tables of those runs.

    Returns ``{run_id: documents re-tokenized}`` for the runs that changed.
    """
    from core.mining import store_default_results, write_terms
    from core.store import StoreWriter
    from core.store.corpus import run_ids

    changed: dict[int, int] = {}
    with StoreWriter(Path(db).expanduser()) as writer:
        con = writer.con
        for rid in [run_id] if run_id is not None else run_ids(con):
            n = retokenize_run(con, rid, workers)
            if not n:
                continue
            write_terms(con, rid, min_df=1)
            if run_terms_context(con, rid)[3] == "done":
                store_default_results(con, rid)
            changed[rid] = n
        writer.publish(force=True)
    return changed
