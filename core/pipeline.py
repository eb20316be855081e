"""Per-image pipeline: photo -> prediction + CAM (one pass) -> explanation -> pictures.

:func:`explain_images` streams :class:`ImageResult` objects for a list of files;
:func:`explain_loaded` is the per-batch step on already loaded images (the precompute job
calls it on its own batches). A broken image becomes a result with ``error`` set and never
stops the others.

On a GPU the photos are decoded and the pictures rendered on CPU worker threads
(:data:`IO_THREADS`): the next batch is decoded and the previous batch's pictures written
while the device computes. On the CPU the photos are decoded in the calling thread, and a
batch's pictures are drawn on one thread while its explainer computes
(:data:`PICTURES_BESIDE_COMPUTE`); every picture is written when the batch's call returns.
The precompute job on the CPU also makes its next batch ready on a thread meanwhile
(:func:`prepare_batch`: decoded, the model's views and batch, the CAM body's pass) and hands
it to :func:`explain_prepared`: the same steps on the same inputs, so the same results.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
import zlib
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import WordcamError

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from core.explainers.base import Explainer, Explanation
    from core.models.base import Classifier

THUMB_SIZE = 256
# CPU threads decoding photos and rendering pictures when the model is on a GPU (at most this
# many, and at most the CPUs this process may use); 0 on the CPU.
IO_THREADS = 8
# On the CPU, draw a batch's pictures on one thread while its explainer computes.
PICTURES_BESIDE_COMPUTE = True
# The PNG pictures are working files, written fast: zlib level 1 with Huffman coding only (no
# string matching). On the job's overlays and marks it encodes in 0.7 ms less than level 1's
# default strategy (about 2.1 against 2.8 ms at 224 px), and the files are 15% smaller (51
# against 60 kB); PNG is lossless, so the pixels are the same.
PNG_STRATEGY = zlib.Z_HUFFMAN_ONLY


@dataclass
class ImageResult:
    """Everything the pipeline produced for one input photo.

    Attributes:
        path: the input as given (a file path, or a caller-chosen name for in-memory images).
        sha256: hex content hash of the file ("" when unknown).
        predictions: top-k ``(label, probability)``, best first, labels in the output language.
        top_indices: the class indices of ``predictions``; model_labels: the model's own names
            of those classes (``Classifier.labels``: English ImageNet names, a model folder's
            class names), index-aligned with ``predictions``.
        probs: softmax over all classes [C] (model label order), None on failure.
        pred_index: index of the predicted class, None on failure.
        cam: float32 map [S, S] in [0, 1] of the predicted class, aligned with ``view``.
        view: the centre crop the model saw (PIL RGB, S x S).
        overlay_path / panel_path / marks_path / thumb_path: written pictures (None when no
            ``out_dir`` was given or on failure).
        explanation: the explainer's answer (its own ``error`` may be set), None on failure.
        error: one-line reason when the image could not be processed, else None.
    """

    path: str
    sha256: str = ""
    predictions: list[tuple[str, float]] | None = None
    top_indices: list[int] | None = None
    model_labels: list[str] | None = None
    probs: np.ndarray | None = None
    pred_index: int | None = None
    cam: np.ndarray | None = None
    view: Image.Image | None = None
    overlay_path: str | None = None
    panel_path: str | None = None
    marks_path: str | None = None
    thumb_path: str | None = None
    explanation: Explanation | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the image was classified (the explanation may still carry an error)."""
        return self.error is None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON-ready data (no arrays or images); ``error`` also covers explainer errors."""
        explanation = self.explanation
        error = self.error or (explanation.error if explanation is not None else None)
        return {
            "path": self.path,
            "sha256": self.sha256 or None,
            "predictions": self._predictions_json(),
            "overlay": self.overlay_path,
            "panel": self.panel_path,
            "marks": self.marks_path,
            "thumb": self.thumb_path,
            "explanation": explanation.text
            if explanation is not None and explanation.text
            else None,
            "details": explanation.details if explanation is not None else None,
            "error": error,
        }

    def _predictions_json(self) -> list[dict[str, Any]]:
        """``label`` (localized) and ``prob``, plus ``index`` and ``model_label`` when known."""
        out = []
        for rank, (label, prob) in enumerate(self.predictions or []):
            item: dict[str, Any] = {"label": label, "prob": round(float(prob), 6)}
            if self.top_indices is not None and rank < len(self.top_indices):
                item["index"] = int(self.top_indices[rank])
            if self.model_labels is not None and rank < len(self.model_labels):
                item["model_label"] = self.model_labels[rank]
            out.append(item)
        return out


def explain_images(
    inputs: Iterable[str | Path],
    model: Classifier | str,
    explainer: Explainer | str,
    method: str = "gradcam",
    lang: str | None = None,
    mode: str = "informed",
    top_k: int = 3,
    out_dir: str | Path | None = None,
    batch_size: int = 8,
    layer: str | None = None,
    io_threads: int | None = None,
    panel: bool = True,
) -> Iterator[ImageResult]:
    """Explain each input photo; yields one :class:`ImageResult` per input, in input order.

    ``model`` is a :class:`Classifier` or a model spec; ``explainer`` an explainer or a spec.
    ``lang`` only builds a spec's explainer (default "ja"); an explainer object answers in its
    own ``lang`` (see :func:`answer_language`). Files are loaded with
    :func:`core.images.load_image`; a missing or broken file yields a result with ``error``
    set. With ``out_dir`` the overlay, panel, marks
    and thumbnail pictures are written there as ``<stem>_overlay.png`` etc. (without the panel
    when ``panel`` is false: the precompute job, whose readers never show it). ``io_threads``:
    CPU threads for decoding and rendering (default :func:`io_threads_for` the model's device:
    none on the CPU).
    """
    preload_attribution()  # the CAM classes import while the first photos load
    model, explainer = _resolve(model, explainer, lang)
    options = BatchOptions(method, lang, mode, top_k, out_dir, layer, panel).settled(explainer)
    batch_size = max(1, int(batch_size))
    threads = io_threads_for(model) if io_threads is None else max(0, int(io_threads))
    if not threads:  # the CPU path: one thread, each batch yielded as soon as it is done
        for done, images in _loaded_batches(inputs, batch_size, None):
            _explain_good(model, explainer, done, images, None, options)
            yield from done
        return
    with ThreadPoolExecutor(threads, "wordcam-io") as pool, ThreadPoolExecutor(1) as ahead:
        previous: tuple[list[ImageResult], list[Future]] | None = None
        for done, images in _prefetched(_loaded_batches(inputs, batch_size, pool), ahead):
            pictures = _explain_good(model, explainer, done, images, pool, options)
            if previous is not None:  # its pictures were rendered while this batch computed
                yield from _after(*previous)
            previous = (done, pictures)
        if previous is not None:
            yield from _after(*previous)


def preload_attribution(freeze: bool = False) -> None:
    """Start importing the CAM classes on a background thread (:func:`core.attribution.preload`);
    a job calls it when it starts, with ``freeze`` (its process is wordcam's own)."""
    from core.attribution import preload

    preload(freeze=freeze)


def io_threads_for(model: Classifier) -> int:
    """Decoding/rendering threads for ``model``: 0 on the CPU, else :data:`IO_THREADS` at most
    (and no more than the CPUs this process may use)."""
    if model.device.type == "cpu":
        return 0
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(IO_THREADS, cpus))


@dataclass
class Prepared:
    """One batch made ready ahead of its turn (:func:`prepare_batch`): each input's result
    (``error`` set for an unreadable one), the readable photos, the model's views of them,
    their batch tensor and the CAM body's outputs (None where it is not cut)."""

    results: list[ImageResult]
    images: list[Image.Image]
    views: list[Image.Image]
    batch: Any = None
    body: Any = None


def prepare_batch(
    model: Classifier,
    inputs: Sequence[str | Path],
    method: str = "gradcam",
    layer: str | None = None,
) -> Prepared:
    """Decode ``inputs``, make the model's views and batch and run the CAM body (GIL-free in
    OpenVINO): what :func:`explain_prepared` would do first, done on another thread while the
    batch before is explained (the precompute job on the CPU). The same steps in the same
    order as :func:`explain_images`, so the same results."""
    from core.attribution.driver import body_ahead

    results = [ImageResult(path=str(item)) for item in inputs]
    images = [image for image in map(_load_one, results) if image is not None]
    if not images:
        return Prepared(results, images, [])
    views = [model.preprocess.crop(image) for image in images]
    batch = model.preprocess.batch(views)
    return Prepared(results, images, views, batch, body_ahead(model, batch, method, layer))


@dataclass(frozen=True)
class BatchOptions:
    """What every batch of one call runs with: :func:`explain_images`'s keyword arguments of
    the same names, as one object (the precompute job builds one per batch)."""

    method: str = "gradcam"
    lang: str | None = None
    mode: str = "informed"
    top_k: int = 3
    out_dir: str | Path | None = None
    layer: str | None = None
    panel: bool = True

    def settled(self, explainer: Explainer) -> BatchOptions:
        """These options with the answer language settled (:func:`answer_language`) and the
        mode checked."""
        if self.mode not in ("informed", "blind"):
            raise WordcamError(f"unknown mode {self.mode!r}; use informed or blind")
        return replace(self, lang=answer_language(explainer, self.lang))


def explain_prepared(
    model: Classifier, explainer: Explainer, ahead: Prepared, options: BatchOptions
) -> list[ImageResult]:
    """:func:`explain_images` on the CPU for one batch made ready by :func:`prepare_batch`
    (with the same ``options.method`` and ``options.layer``); the results in input order."""
    settled = options.settled(explainer)
    _explain_good(model, explainer, ahead.results, ahead.images, None, settled, ahead)
    return list(ahead.results)


def _loaded_batches(
    inputs: Iterable[str | Path], batch_size: int, pool: Executor | None
) -> Iterator[tuple[list[ImageResult], list[Image.Image]]]:
    """``(results, images)`` per batch; unreadable inputs are results with ``error`` set.

    Without ``pool`` (the CPU path) a batch holds ``batch_size`` readable images, each decoded
    as it is reached; with ``pool``, ``batch_size`` inputs, decoded on the pool's threads.
    """
    results: list[ImageResult] = []
    images: list[Image.Image] = []
    for item in inputs:
        result = ImageResult(path=str(item))
        results.append(result)
        if pool is None:
            image = _load_one(result)
            if image is not None:
                images.append(image)
        if len(images if pool is None else results) >= batch_size:
            yield _batch(results, images, pool)
            results, images = [], []
    if results:
        yield _batch(results, images, pool)


def _batch(
    results: list[ImageResult], images: list[Image.Image], pool: Executor | None
) -> tuple[list[ImageResult], list[Image.Image]]:
    if pool is None:
        return results, images
    return results, [image for image in pool.map(_load_one, results) if image is not None]


def _load_one(result: ImageResult) -> Image.Image | None:
    """Load ``result.path`` and hash it; on failure set ``result.error`` and return None."""
    from core.images import file_sha256, load_image

    path = result.path
    try:
        image = load_image(path)
        result.sha256 = file_sha256(path)
    except WordcamError as exc:
        result.error = str(exc)
    except OSError as exc:  # unreadable between the checks and the read
        result.error = f"{path}: {exc.strerror or exc}"
    else:
        return image
    return None


def _prefetched(batches: Iterator[Any], ahead: Executor) -> Iterator[Any]:
    """``batches``, each one produced on ``ahead`` while the caller works on the one before."""
    sentinel = object()
    future = ahead.submit(next, batches, sentinel)
    while True:
        batch = future.result()
        if batch is sentinel:
            return
        future = ahead.submit(next, batches, sentinel)
        yield batch


def _explain_good(
    model: Classifier,
    explainer: Explainer,
    done: list[ImageResult],
    images: list[Image.Image],
    pool: Executor | None,
    options: BatchOptions,
    ahead: Prepared | None = None,
) -> list[Future]:
    """Explain the readable results of ``done`` (in place); their picture jobs on ``pool``."""
    good = [r for r in done if r.error is None]
    if not good:
        return []
    return _explain_batch(model, explainer, images, good, pool, options, ahead)


def _after(done: list[ImageResult], pictures: list[Future]) -> list[ImageResult]:
    """``done`` once its pictures are written."""
    for future in pictures:
        future.result()
    return done


def explain_loaded(
    model: Classifier,
    explainer: Explainer,
    images: Sequence[Image.Image],
    *,
    results: Sequence[ImageResult] | None = None,
    paths: Sequence[str] | None = None,
    method: str = "gradcam",
    lang: str | None = None,
    mode: str = "informed",
    top_k: int = 3,
    out_dir: str | Path | None = None,
    layer: str | None = None,
    panel: bool = True,
) -> list[ImageResult]:
    """The per-batch step: classify, attribute and explain already loaded RGB images.

    One call runs one forward/backward pass (:func:`core.attribution.attribute_batch`) for the
    whole batch and one ``explainer.explain_batch`` call. ``results`` (filled in place) or
    ``paths`` name the images; with neither, they are called ``image-<n>``. Pictures are
    written to ``out_dir`` when given (the panel only with ``panel``). If the model itself
    fails, every result of the batch gets that error. Labels are in the explainer's language
    (:func:`answer_language`).
    """
    options = BatchOptions(method, lang, mode, top_k, out_dir, layer, panel).settled(explainer)
    if results is None:
        names = list(paths) if paths is not None else [f"image-{i}" for i in range(len(images))]
        results = [ImageResult(path=name) for name in names]
    if len(results) != len(images):
        raise ValueError(f"{len(images)} images but {len(results)} results")
    if not images:
        return list(results)
    _explain_batch(model, explainer, images, results, None, options)
    return list(results)


def _explain_batch(
    model: Classifier,
    explainer: Explainer,
    images: Sequence[Image.Image],
    results: Sequence[ImageResult],
    pool: Executor | None,
    options: BatchOptions,
    ahead: Prepared | None = None,
) -> list[Future]:
    """:func:`explain_loaded`'s work (``options`` settled); pictures are written now, or on
    ``pool`` (the futures). ``ahead``: the batch's views, tensor and CAM body made ready
    (:func:`prepare_batch`)."""
    method, layer, top_k = options.method, options.layer, options.top_k
    try:
        views, cams, probs, top = _classify(model, images, method, layer, top_k, ahead)
    except WordcamError as exc:
        for r in results:
            r.error = str(exc)
        return []
    requests = _requests(model, results, views, cams, probs, top, options.lang, options.mode)
    for request, image in zip(requests, images, strict=True):  # the photo each view is cut from
        if image.mode == "RGB":  # as core.images.load_image decodes every photo
            request.source = (image, model.preprocess.view_box(image.size))
    out_dir, panel = options.out_dir, options.panel
    if out_dir is None:
        _attach_explanations(model, explainer, results, requests)
        return []
    if pool is not None:
        _attach_explanations(model, explainer, results, requests)
        return [pool.submit(_write_or_fail, r, out_dir, panel) for r in results]
    if not PICTURES_BESIDE_COMPUTE:
        _attach_explanations(model, explainer, results, requests)
        for r in results:
            _write_or_fail(r, out_dir, panel)
        return []
    # The CPU path: the pictures are drawn on one thread while the explainer computes (its
    # model passes release the GIL), and are all written when this call returns.
    pictures = [_picture_thread().submit(_write_or_fail, r, out_dir, panel) for r in results]
    try:
        _attach_explanations(model, explainer, results, requests)
    finally:
        for future in pictures:
            future.result()
    return []


def _requests(model, results, views, cams, probs, top, lang: str, mode: str) -> list[Any]:
    """Fill each result's prediction fields; the explainer's request for each."""
    from core.explainers.base import ExplainRequest

    label_names = model.label_names(lang)
    requests = []
    for r, view, cam, row, indices in zip(results, views, cams, probs, top, strict=True):
        r.view, r.cam, r.probs = view, cam, row
        r.pred_index = int(indices[0])
        r.predictions = [(label_names[k], float(row[k])) for k in indices]
        r.top_indices = [int(k) for k in indices]
        r.model_labels = [model.labels[k] for k in indices]
        requests.append(
            ExplainRequest(
                image=view,
                cam=cam,
                predictions=list(r.predictions),
                label=r.predictions[0][0] if mode == "informed" else None,
                task=model.task,
                key=r.sha256 or r.path,
            )
        )
    return requests


def _attach_explanations(model, explainer, results, requests) -> None:
    """One ``explain_batch`` call (its models on ``model``'s device); one answer per result."""
    from core.explainers.base import Explanation
    from core.models import on_device

    try:
        with on_device(str(model.device)):
            explanations = list(explainer.explain_batch(requests))
    except Exception as exc:  # explainers should not raise; keep the batch if one does
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        explanations = [Explanation(text="", error=message) for _ in requests]
    if len(explanations) != len(requests):
        explanations = [
            Explanation(
                text="", error=f"explainer returned {len(explanations)} answers for {len(requests)}"
            )
            for _ in requests
        ]
    for r, explanation in zip(results, explanations, strict=True):
        r.explanation = explanation


_PICTURES: list[Executor] = []
_PICTURES_LOCK = threading.Lock()


def _picture_thread() -> Executor:
    """The one thread drawing pictures beside the CPU path's computation (made on first use)."""
    with _PICTURES_LOCK:
        if not _PICTURES:
            _PICTURES.append(ThreadPoolExecutor(1, "wordcam-pictures"))
        return _PICTURES[0]


def _write_or_fail(result: ImageResult, out_dir: str | Path, panel: bool = True) -> None:
    """:func:`write_pictures`; a write error becomes the result's ``error``."""
    try:
        write_pictures(result, out_dir, panel)
    except OSError as exc:
        result.error = f"{result.path}: cannot write pictures to {out_dir}: {exc.strerror or exc}"


def write_pictures(result: ImageResult, out_dir: str | Path, panel: bool = True) -> None:
    """Write ``<stem>_overlay.png``, ``_marks.png``, ``_thumb.jpg`` and, with ``panel``,
    ``_panel.png`` (input | overlay). The overlay is drawn once: the panel and the marks are
    made from it (the same pixels as drawing each on its own)."""
    from core import render
    from core.regions import find_regions
    from core.store.nofollow import open_no_follow

    if result.view is None or result.cam is None:
        return
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = output_stem(result.path)
    view, cam = result.view, result.cam
    heat = render.overlay(view, cam)
    targets = {
        "overlay_path": (out / f"{stem}_overlay.png", lambda: heat),
        "panel_path": (out / f"{stem}_panel.png", lambda: render.panel(view, cam, overlaid=heat)),
        "marks_path": (
            out / f"{stem}_marks.png",
            lambda: render.marks_overlay(
                view, cam, find_regions(cam, max_regions=4), overlaid=heat
            ),
        ),
        "thumb_path": (out / f"{stem}_thumb.jpg", lambda: render.thumbnail(view, THUMB_SIZE)),
    }
    if not panel:
        del targets["panel_path"]
    for attr, (path, draw) in targets.items():
        picture = draw()
        with open_no_follow(path, "wb", new=True) as fh:  # a link in its place is replaced
            if path.suffix == ".jpg":
                picture.save(fh, "JPEG", quality=88)
            else:
                picture.save(fh, "PNG", compress_level=1, compress_type=PNG_STRATEGY)
        setattr(result, attr, str(path))


def output_stem(path: str | Path) -> str:
    """A file-name-safe stem unique per input path: ``<name>-<8 hex of the absolute path>``."""
    p = Path(path)
    try:
        key = str(p.expanduser().resolve())
    except (OSError, RuntimeError):
        key = str(p)
    digest = hashlib.sha1(key.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    name = re.sub(r"[^\w.-]+", "_", p.stem, flags=re.UNICODE).strip("._")[:60] or "image"
    return f"{name}-{digest}"


def answer_language(explainer: Explainer, lang: str | None = None) -> str:
    """The language ``explainer`` answers in: the ``lang`` it was built for.

    ``lang``, when given, must agree (a mismatch raises :class:`WordcamError` instead of
    labelling a run with a language its texts are not in). An explainer without a ``lang``
    attribute (a plugin written before it was part of the protocol) answers in ``lang`` or "ja".
    """
    own = getattr(explainer, "lang", None)
    if own is None:
        return lang or "ja"
    if lang is not None and lang != own:
        raise WordcamError(
            f"the explainer answers in {own!r}, not {lang!r}: build it for that language "
            f"(load_explainer(spec, lang={lang!r})) or leave lang out"
        )
    return own


def _resolve(model: Classifier | str, explainer: Explainer | str, lang: str | None):
    from core.explainers import load_explainer
    from core.models import load_model

    if isinstance(model, str):
        model = load_model(model)
    if isinstance(explainer, str):
        explainer = load_explainer(explainer, lang=lang or "ja")
    return model, explainer


def _classify(
    model: Classifier,
    images: Sequence[Image.Image],
    method: str,
    layer: str | None,
    top_k: int,
    ahead: Prepared | None = None,
):
    """Crops, CAMs of the predicted class, softmax rows and top-k indices for a batch."""
    import numpy as np

    from core.attribution import attribute_batch

    if ahead is not None and ahead.batch is not None:
        views, batch, body = ahead.views, ahead.batch, ahead.body
    else:
        views = [model.preprocess.crop(im) for im in images]
        batch, body = model.preprocess.batch(views), None
    result = attribute_batch(model, batch, method=method, layer=layer, top_k=1, body=body)
    maps = np.asarray(result.maps, dtype=np.float32)
    probs = np.asarray(result.probs, dtype=np.float32)
    predicted = np.asarray(result.target_indices)[:, 0]
    k = max(1, min(int(top_k), probs.shape[1]))
    top = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    # The CAM is of the class attribute_batch explained; keep it first in the top-k.
    for row, pred in zip(top, predicted, strict=True):
        if row[0] != pred:
            row[:] = np.concatenate([[pred], [i for i in row if i != pred]])[:k]
    cams = [maps[i, 0] for i in range(len(views))]
    return views, cams, probs, top
