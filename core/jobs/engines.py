"""The engine seam of the photo job: what turns batches of photos into rows, and the local one.

An engine (:class:`Engine`) takes the job's batches and yields each batch's tokenized rows,
one batch at a time, so the job stores a batch before the next is computed. :class:`Backends`
is the local engine (the model and explainer loaded in this process);
:class:`core.jobs.ray_engine.RayEngine` runs the same batch step on a pool of Ray actors.
The verification job has the same seam over photo-words (:mod:`core.verify.engines`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from core.jobs.photos import Photo
from core.jobs.rows import PhotoRow, photo_rows, tokenize_rows
from core.jobs.settings import JobSettings


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

        preload_attribution()  # the CAM classes import while the model loads
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
        """Explain and tokenize each batch in this process (:class:`Engine`)."""
        for chunk in batches:
            rows = self.explain(chunk, root, out_dir)
            spec = self.settings.explainer_spec
            tokenize_rows(
                rows, self.settings.lang, phrases=self.labels, explainer=spec, regions=True
            )
            yield rows
            del rows

    def explain(self, chunk: Sequence[Photo], root: Path, out_dir: Path) -> list[PhotoRow]:
        """Run one batch through the pipeline; every input gives exactly one row."""
        from core.pipeline import explain_images

        s = self.settings
        paths = [p for p, _ in chunk]
        results = list(
            explain_images(
                paths,
                self.classifier,
                self.explainer,
                method=s.method,
                lang=s.lang,
                mode=s.mode,
                top_k=s.top_k,
                out_dir=out_dir,
                batch_size=len(paths),
                layer=s.layer,
                panel=False,  # nothing reads a job's panel (the dashboard, report, export)
            )
        )
        rows = photo_rows(chunk, results, root, self.labels)
        for row in rows:
            row.sha256 = row.sha256 or None  # unknown (an unreadable file) is NULL, not ''
        return rows
