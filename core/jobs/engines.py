"""The engine seam of the photo job: what turns batches of photos into rows, and the local one.

An engine (:class:`Engine`) takes the job's batches and yields each batch's tokenized rows,
one batch at a time, so the job stores a batch before the next is computed. :class:`Backends`
is the local engine (the model and explainer loaded in this process);
:class:`core.jobs.ray_engine.RayEngine` runs the same batch step on a pool of Ray actors.
The verification job has the same seam over photo-words (:mod:`core.verify.engines`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from core.jobs.photos import Photo
from core.jobs.rows import PhotoRow, photo_rows, tokenize_rows
from core.jobs.settings import JobSettings

if TYPE_CHECKING:
    from core.pipeline import Prepared

# On the CPU, make the next batch ready (decoded, its CAM body run) while one is explained.
LOOK_AHEAD = True


class Engine(Protocol):
    """What explains the photos: :class:`Backends` here, or :class:`core.jobs.ray_engine.RayEngine`."""

    labels: list[str] | None  # the model's classes (None until the engine knows them)

    def row_batches(
        self, batches: Iterable[Sequence[Photo]], root: Path, out_dir: Path
    ) -> Iterator[list[PhotoRow]]:
        """The tokenized rows of ``batches``, a batch at a time (each stored before the next)."""
        ...


@dataclass
class Backends:
    """The loaded classifier (and its classes) and explainer, and the settings they run with."""

    classifier: Any
    explainer: Any
    settings: JobSettings
    labels: list[str]

    @classmethod
    def load(cls, settings: JobSettings, **shared: Any) -> Backends:
        """Load the model on ``settings.device`` and the explainer (``shared``: more options)."""
        from core.explainers import check_explainer, load_explainer
        from core.models import load_model
        from core.pipeline import preload_attribution

        preload_attribution(freeze=True)  # the CAM classes import while the model loads
        classifier = load_model(settings.model, device=settings.device, **settings.model_options)
        if settings.layer:
            from core.attribution import resolve_layer

            resolve_layer(classifier, settings.layer)  # a bad --layer stops before any photo
        explainer = settings.explainer
        if isinstance(explainer, str):
            explainer = load_explainer(explainer, **{**settings.explainer_kwargs, **shared})
            check_explainer(explainer)  # fail before any photo (an actor: before its first)
        return cls(classifier, explainer, settings, list(classifier.labels))

    def row_batches(
        self, batches: Iterable[Sequence[Photo]], root: Path, out_dir: Path
    ) -> Iterator[list[PhotoRow]]:
        """Explain and tokenize each batch in this process (:class:`Engine`); on the CPU the
        next batch is decoded and its CAM body run on a thread meanwhile (:meth:`_ahead`)."""
        for chunk, ahead in self._ahead(batches):
            rows = self.explain(chunk, root, out_dir, ahead)
            spec = self.settings.explainer_spec
            tokenize_rows(
                rows, self.settings.lang, phrases=self.labels, explainer=spec, regions=True
            )
            yield rows
            del rows

    def explain(
        self, chunk: Sequence[Photo], root: Path, out_dir: Path, ahead: Prepared | None = None
    ) -> list[PhotoRow]:
        """Run one batch through the pipeline (``ahead``: its photos made ready by
        :func:`core.pipeline.prepare_batch`); every input gives exactly one row."""
        from dataclasses import asdict

        from core.pipeline import BatchOptions, explain_images, explain_prepared

        s = self.settings
        paths = [p for p, _ in chunk]
        options = BatchOptions(
            method=s.method,
            lang=s.lang,
            mode=s.mode,
            top_k=s.top_k,
            out_dir=out_dir,
            layer=s.layer,
            panel=False,  # nothing reads a job's panel (the dashboard, report, export)
        )
        if ahead is not None:
            results = explain_prepared(self.classifier, self.explainer, ahead, options)
        else:
            results = list(
                explain_images(
                    paths, self.classifier, self.explainer, batch_size=len(paths), **asdict(options)
                )
            )
        rows = photo_rows(chunk, results, root, self.labels)
        for row in rows:
            row.sha256 = row.sha256 or None  # unknown (an unreadable file) is NULL, not ''
        return rows

    def _ahead(
        self, batches: Iterable[Sequence[Photo]]
    ) -> Iterator[tuple[Sequence[Photo], Prepared | None]]:
        """Each batch with its photos made ready (:func:`core.pipeline.prepare_batch`: decoded,
        the model's views and batch, the CAM body's forward pass), the next one on a thread
        while the caller explains this one: the decoding and the body's pass (GIL-free in
        OpenVINO) run beside the explainer's Python work. On a GPU (the pipeline's own decoding
        threads) or with :data:`LOOK_AHEAD` off, each batch as it is (None)."""
        from core.pipeline import io_threads_for, prepare_batch

        if not LOOK_AHEAD or io_threads_for(self.classifier):
            yield from ((chunk, None) for chunk in batches)
            return
        s = self.settings

        def prepare(chunk: Sequence[Photo]) -> Prepared:
            return prepare_batch(self.classifier, [p for p, _ in chunk], s.method, s.layer)

        pool = ThreadPoolExecutor(1, "wordcam-ahead")
        try:
            following = iter(batches)
            chunk = next(following, None)
            future = pool.submit(prepare, chunk) if chunk is not None else None
            while chunk is not None and future is not None:
                ready = future.result()
                after = next(following, None)
                future = pool.submit(prepare, after) if after is not None else None
                yield chunk, ready
                chunk = after
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
