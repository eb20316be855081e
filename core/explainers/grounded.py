"""The offline ``grounded`` explainer: every word comes from the pixels or from a model.

For each main heat region of the CAM (at most four) it says where the region is, what share
of the heat it holds, its dominant colours (named from heat-weighted HSV bins of its pixels)
and what it looks like: object candidates from an ImageNet classifier run on views of the
region (:func:`region_views`: a tight square around its hottest pixel and a wider one with the
surroundings blurred, cut from the photo itself when it is larger than the model's view,
:func:`sharper_source`; a candidate's probability is its mean over the views; all views of a
request batch in a few fixed-size passes). Whether a region gets a class name, a broader word
(動物, 乗り物 ...) or none, and which names it mentions only as a guess (「もしかすると線虫」,
"perhaps a nematode": ``details["regions"][i]["hedged"]``), is :mod:`core.explainers.naming`'s
rule. In informed mode a last sentence
says whether those regions support the predicted label; in blind mode (``label is None``) the
request's label and predictions are never read, so no class label of the explained model can
enter the text except through what the crop model itself recognises in the pixels.

Sentences use fixed templates, so the filler words are identical across photos and only the
position, colour and object words vary (which is what the keyword miner looks for).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, NamedTuple

from core.colours import COLOUR_NAMES
from core.errors import ExplainerError, WordcamError
from core.explainers.base import ExplainRequest, Explanation
from core.explainers.naming import DEFAULT_RULE, Naming, NamingRule, category_name, name_region
from core.explainers.region_colours import dominant_colours
from core.languages import LANGUAGES
from core.regions import Region, find_regions, position_name

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from core.models.base import Classifier

DEFAULT_CROP_MODEL = "imagenet"
MAX_REGIONS = 4
REGION_THRESHOLD = 0.4
#: The views of a region the crop model sees, each a square around the region's hottest pixel:
#: (side as a multiple of the region's longer bounding-box side, blur outside the hot mask).
#: Candidates are ranked by their mean probability over the views. Chosen on the planted-cue
#: suite (`wordcam bench --suite`): a tight view names small objects that a wide crop of the
#: region and its surroundings misses; a wider view with the surroundings blurred adds the
#: object's outline without its context. Flips, dimming the outside toward grey, a third, wider
#: view and a strict per-view stability filter did not help there.
VIEWS: tuple[tuple[float, bool], ...] = ((0.6, False), (1.0, True))
#: The smallest view side, as a share of the image's short side.
MIN_VIEW_FRACTION = 0.15
#: Outside the region's hot mask a view is blurred with this radius (share of the image side).
BLUR_FRACTION = 0.035
#: The views are cut from the photo itself (:func:`source_view`) when it holds at least this
#: many times the view's pixels per side: a large photo keeps the detail the model's 224-px
#: view threw away. Below it (the demo's and the suite's 256-px photos) the views are cut from
#: the view, exactly as before.
SOURCE_MIN_SCALE = 1.25
#: A view cut from the photo keeps at most this many pixels a side: the default crop model's
#: input (EfficientNet-Lite0, 224), which resizes every view to its own side anyway. Twice
#: that cost 9.3 ms a region on a 9-megapixel photo instead of 4.1.
SOURCE_VIEW_MAX = 224
#: Crops go through the crop model in passes of at most this many, each padded in torch to the
#: next power of two: only 1, 2, 4, 8 or 16 images per pass. A torch forward pass per distinct
#: batch size leaves glibc's heap fragmented; with a few fixed sizes memory stays flat
#: (measured: passes of 8-40 crops in arbitrary sizes grew the process from 0.6 to 2.8 GB,
#: padded ones did not). OpenVINO needs no padding (:func:`_pass_rows`).
CROP_CHUNK = 16

_OPTIONS = ("crop_model", "min_prob", "max_regions", "naming")


@dataclass
class RegionFacts:
    """What the grounded explainer found about one heat region (plain data in ``details``)."""

    region: Region
    colours: list[tuple[str, float]]
    candidate_ids: list[tuple[int, float]] = field(default_factory=list)
    candidates: list[tuple[str, float]] = field(default_factory=list)
    #: A broader word's category key and summed probability when no class was named
    #: (:mod:`core.explainers.naming`).
    broader: tuple[str, float] | None = None
    #: Names the naming rule kept only as a guess (:attr:`Naming.hedged`): class indexes and
    #: their names, with probabilities.
    hedged_ids: list[tuple[int, float]] = field(default_factory=list)
    hedged: list[tuple[str, float]] = field(default_factory=list)

    def to_dict(self, lang: str) -> dict[str, Any]:
        data = self.region.to_dict()
        data["position_name"] = position_name(self.region.position, lang)
        data["colors"] = [
            {"color": key, "name": COLOUR_NAMES[key][lang], "share": round(share, 4)}
            for key, share in self.colours
        ]
        data["candidates"] = [
            {"label": name, "prob": round(prob, 4)} for name, prob in self.candidates
        ]
        if self.broader is not None:
            data["candidates"][-1]["broader"] = self.broader[0]
        if self.hedged:  # only then: details of a rule without guesses are unchanged
            data["hedged"] = [{"label": name, "prob": round(prob, 4)} for name, prob in self.hedged]
        return data


class GroundedExplainer:
    """Offline explainer from heat regions, pixel colours and an ImageNet model on region crops.

    Args:
        arg: model spec of the crop classifier (the part after ``grounded:``); default
            ``imagenet`` (offline EfficientNet-Lite0, loaded once per process).
        lang: the language of every answer ("ja" or "en").
        crop_model: a loaded :class:`~core.models.Classifier` (or a spec) instead of ``arg``.
        min_prob: object candidates below this crop probability are not mentioned (sets
            ``naming.min_prob``).
        naming: the :class:`~core.explainers.naming.NamingRule` (default
            :data:`~core.explainers.naming.DEFAULT_RULE`): when a region gets a class name, a
            broader word (動物, 乗り物 ...) or none.
        max_regions: describe at most this many regions (1-4).
    """

    name = "grounded"

    def __init__(self, arg: str | None = None, lang: str = "ja", **options: Any) -> None:
        unknown = sorted(k for k in options if k not in _OPTIONS)
        if unknown:
            flags = ", ".join("--" + k.replace("_", "-") for k in unknown)
            verb = "does" if len(unknown) == 1 else "do"
            raise ExplainerError(
                f"{flags} {verb} not apply to the grounded explainer (options of openai:MODEL); "
                "drop them or use --explainer openai:MODEL"
            )
        if lang not in LANGUAGES:
            raise ExplainerError(f"grounded explainer: unsupported language {lang!r}; use ja or en")
        self.lang = lang
        crop_model = options.get("crop_model")
        if isinstance(crop_model, str):  # a spec given as an option instead of grounded:SPEC
            arg, crop_model = crop_model, None
        self.crop_spec = arg or DEFAULT_CROP_MODEL
        self._crop_model: Classifier | None = crop_model
        rule = options.get("naming") or DEFAULT_RULE
        if not isinstance(rule, NamingRule):
            raise ExplainerError("grounded explainer: naming must be a NamingRule")
        if options.get("min_prob") is not None:
            rule = replace(rule, min_prob=float(options["min_prob"]))
        self.rule = rule
        self.min_prob = rule.min_prob
        self._categories: Any = None
        self.max_regions = max(1, min(MAX_REGIONS, int(options.get("max_regions", MAX_REGIONS))))

    @property
    def crop_model(self) -> Classifier:
        """The classifier run on region crops (loaded on first use)."""
        if self._crop_model is None:
            from core.models import load_model

            self._crop_model = load_model(self.crop_spec)
        return self._crop_model

    @property
    def categories(self) -> np.ndarray | None:
        """Each crop-model class's broader-word category (ImageNet-1k models only), or None."""
        if self._categories is None:
            from core.explainers.naming import class_categories

            self._categories = (class_categories(self.crop_model.labels),)
        return self._categories[0]

    def explain_batch(self, requests: Sequence[ExplainRequest]) -> list[Explanation]:
        """Explain each request; a failing item gets ``error`` set, the others are unaffected."""
        results: list[Explanation | None] = [None] * len(requests)
        facts: dict[int, list[RegionFacts]] = {}
        crops: list[tuple[int, int, list[Image.Image]]] = []
        # each pass starts once its views are made (unless a subclass names the regions its
        # own way: then _candidates, as before)
        passes = CropPasses(self) if self._own_passes() else None
        for i, request in enumerate(requests):
            try:
                image = request.image.convert("RGB")
                cam = _cam_for(request.cam, image.size)
                regions = find_regions(
                    cam, max_regions=self.max_regions, threshold=REGION_THRESHOLD
                )
                facts[i] = [
                    RegionFacts(r, dominant_colours(image, cam, r, REGION_THRESHOLD))
                    for r in regions
                ]
                source = sharper_source(request, image.size)
                # the blurred view source: once per photo (not needed when cutting from the photo)
                blurred = blurred_image(image, cam) if regions and source is None else None
                crops.extend(
                    (i, j, region_views(image, cam, r, blurred=blurred, source=source))
                    for j, r in enumerate(regions)
                )
            except Exception as exc:  # one bad request must not sink the batch
                results[i] = Explanation(text="", error=_one_line(exc))
            if passes is not None:
                passes.add(crops)

        if crops:
            try:
                heats = [facts[i][j].region.heat_share for i, j, _ in crops]
                views = [crop for _, _, crop in crops]
                if passes is None:
                    candidates = self._candidates(views, heats)
                else:
                    candidates = self._named(views, heats, passes.probs())
            except Exception as exc:
                message = _one_line(exc)
                for i in {i for i, _, _ in crops}:
                    results[i] = Explanation(
                        text="", error=f"grounded: object model failed: {message}"
                    )
                    facts.pop(i, None)
                candidates = []
            for (i, j, _), found in zip(crops, candidates, strict=False):
                if i in facts:
                    facts[i][j].candidate_ids = list(found.specific)
                    facts[i][j].broader = found.broader
                    facts[i][j].hedged_ids = list(found.hedged)

        for i, request in enumerate(requests):
            if results[i] is not None:
                continue
            try:
                results[i] = self._compose(request, facts[i])
            except Exception as exc:
                results[i] = Explanation(text="", error=_one_line(exc))
        return [
            r if r is not None else Explanation(text="", error="not explained") for r in results
        ]

    def _candidates(
        self, views: list[list[Image.Image]], heats: Sequence[float] | None = None
    ) -> list[Naming]:
        """Each region's names (:func:`~core.explainers.naming.name_region`) from the crop
        model's probabilities on its views.

        ``views`` holds each region's views (:func:`region_views`), ``heats`` each region's
        share of the heat (default 1); a class's probability is its mean over the region's
        views. All views of a batch go through the model together.
        """
        import numpy as np

        flat = [view for region in views for view in region]
        probs = self._crop_probs(flat) if flat else np.zeros((0, 0))
        return self._named(views, heats, probs)

    def _own_passes(self) -> bool:
        """Whether this explainer names regions with the crop model's own passes (not a
        subclass's ``_candidates`` or ``_crop_probs``): then :class:`CropPasses` runs them."""
        cls = type(self)
        return (
            cls._candidates is GroundedExplainer._candidates
            and cls._crop_probs is GroundedExplainer._crop_probs
        )

    def _named(
        self, views: list[list[Image.Image]], heats: Sequence[float] | None, probs: np.ndarray
    ) -> list[Naming]:
        """:meth:`_candidates` given ``probs``, the rows :meth:`_crop_probs` gives all views."""
        flat = sum(len(region) for region in views)
        out: list[list[tuple[int, float]]] = []
        start = 0
        categories = self.categories if flat else None
        for r, region in enumerate(views):
            heat = 1.0 if heats is None else heats[r]
            out.append(name_region(probs[start : start + len(region)], self.rule, categories, heat))
            start += len(region)
        return out

    def _crop_probs(self, crops: list[Image.Image]) -> np.ndarray:
        """Softmax rows of the crop model for ``crops``, in passes of ``CROP_CHUNK`` at most,
        each padded with blank images to a power of two in torch (see :func:`_pass_rows`)."""
        import numpy as np

        chunks = [
            self._crop_pass(crops[start : start + CROP_CHUNK])
            for start in range(0, len(crops), CROP_CHUNK)
        ]
        return np.concatenate(chunks)

    def _crop_pass(self, part: Sequence[Image.Image]) -> np.ndarray:
        """Softmax rows of the crop model for at most :data:`CROP_CHUNK` crops: one pass."""
        import torch

        model = self.crop_model
        size = model.preprocess.image_size
        resized = [c.resize((size, size), _bilinear()) for c in part]
        rows = _pass_rows(model, len(part))
        batch = model.preprocess.batch(resized, rows=rows)  # blank rows: zeros
        # The inference copy (batch norm folded), channels-last on the CPU.
        logits = model.logits(batch)[: len(part)]
        return torch.softmax(logits.float(), dim=1).cpu().numpy()

    def _names(self, lang: str) -> list[str]:
        model = self.crop_model
        names = model.localized_labels.get(lang) if model.localized_labels else None
        return list(names) if names else list(model.label_names(lang))

    def _compose(self, request: ExplainRequest, region_facts: list[RegionFacts]) -> Explanation:
        lang = self.lang
        named = any(f.candidate_ids or f.hedged_ids for f in region_facts)
        names = self._names(lang) if named else []
        for f in region_facts:
            f.candidates = [(names[k], p) for k, p in f.candidate_ids]
            f.hedged = [(names[k], p) for k, p in f.hedged_ids]
            if f.broader is not None:
                f.candidates.append((category_name(f.broader[0], lang), f.broader[1]))
        informed = request.label is not None
        label = request.label if informed else None
        sentences = _sentences(region_facts, label, lang)
        text = ("" if lang == "ja" else " ").join(sentences)
        details: dict[str, Any] = {
            "explainer": self.name,
            "crop_model": self.crop_spec if self._crop_model is None else self._crop_model.spec,
            "mode": "informed" if informed else "blind",
            "lang": lang,
            "regions": [f.to_dict(lang) for f in region_facts],
        }
        if informed:
            details["label"] = label
            details["supported_by"] = [
                f.region.index for f in region_facts if any(n == label for n, _ in f.candidates)
            ]
        return Explanation(text=text, details=details)


class CropPasses:
    """The crop passes of one request batch, each started on the crop thread as soon as its
    :data:`CROP_CHUNK` views are made, while the caller makes the next photos' views.

    The passes hold the same views as :meth:`GroundedExplainer._crop_probs` of all the batch's
    views (the same chunks, the same padding), so the probabilities are the same bits; the
    model runs beside the caller's region finding, colours and blurring instead of after them.
    """

    def __init__(self, explainer: GroundedExplainer) -> None:
        self.explainer = explainer
        self.fed = 0  # regions whose views are queued
        self.queued: list[Image.Image] = []
        self.futures: list[Future] = []

    def add(self, crops: Sequence[tuple[int, int, list[Image.Image]]]) -> None:
        """Queue the views of ``crops``' new regions; start every full pass."""
        for _, _, views in crops[self.fed :]:
            self.queued.extend(views)
        self.fed = len(crops)
        while len(self.queued) >= CROP_CHUNK:
            self._start(self.queued[:CROP_CHUNK])
            del self.queued[:CROP_CHUNK]

    def probs(self) -> np.ndarray:
        """The softmax rows of every queued view, in order (the last pass started now)."""
        import numpy as np

        if self.queued:
            self._start(self.queued)
            self.queued = []
        if not self.futures:
            return np.zeros((0, 0))
        return np.concatenate([future.result() for future in self.futures])

    def _start(self, part: list[Image.Image]) -> None:
        try:  # the crop model is loaded in this thread: on_device is this thread's
            self.explainer.crop_model  # noqa: B018
        except Exception as exc:  # raised by probs(), where the passes' failures are
            failed: Future = Future()
            failed.set_exception(exc)
            self.futures.append(failed)
            return
        self.futures.append(_crop_thread().submit(self.explainer._crop_pass, list(part)))


_CROP_THREADS: list[Executor] = []
_CROP_THREADS_LOCK = threading.Lock()


def _crop_thread() -> Executor:
    """The one thread running crop passes beside the explainer (made on first use)."""
    with _CROP_THREADS_LOCK:
        if not _CROP_THREADS:
            _CROP_THREADS.append(ThreadPoolExecutor(1, "wordcam-crops"))
        return _CROP_THREADS[0]


def _pass_rows(model: Classifier, count: int) -> int:
    """The rows of a crop pass of ``count`` crops: padded to a power of two in torch (see
    :data:`CROP_CHUNK`); just the crops in OpenVINO, whose passes of any size keep the process's
    memory flat (500 photos: RSS 1,514 / 1,519 / 1,532 MB at 10 / 50 / 90% of the job unpadded,
    1,502 / 1,501 / 1,512 padded) and give each crop the same probabilities, bit for bit."""
    from core.models.accelerate import runtime

    if model.device.type == "cpu" and runtime() == "openvino":
        return count
    return 1 << (count - 1).bit_length()  # 1, 2, 4, 8 or 16


def region_views(
    image: Image.Image,
    cam: np.ndarray,
    region: Region,
    views: Sequence[tuple[float, bool]] = VIEWS,
    blurred: Image.Image | None = None,
    source: Source | None = None,
) -> list[Image.Image]:
    """The crop model's views of ``region`` (:data:`VIEWS`): squares around its hottest pixel.

    A view's side is its multiple of the region's longer bbox side (at least
    :data:`MIN_VIEW_FRACTION` of the short image side); a blurred view keeps the region's hot
    pixels sharp and blurs the rest, with a soft edge (heat 0.2 -> 0.5 of the map's maximum).
    ``blurred``: :func:`blurred_image` of ``image`` and ``cam`` when already made (it is the
    same for every region of a photo). ``source``: the photo ``image`` was cut from
    (:func:`sharper_source`): each square is then cut from it (:func:`source_view`).
    """
    w, h = image.size
    x0, y0, x1, y1 = region.bbox
    px, py = region_peak(cam, region)
    longest = max(x1 - x0, y1 - y0)
    out = []
    for scale, blur in views:
        side = int(round(min(max(scale * longest, MIN_VIEW_FRACTION * min(w, h)), min(w, h))))
        box = _square(w, h, px, py, side)
        if source is not None:
            out.append(source_view(source, image.size, cam, box, blur))
            continue
        if blur and blurred is None:
            blurred = blurred_image(image, cam)
        out.append((blurred if blur else image).crop(box))
    return out


def blurred_image(image: Image.Image, cam: np.ndarray) -> Image.Image:
    """``image`` blurred where ``cam`` is cold (:func:`_keep_hot`): the blurred views' source."""
    from PIL import ImageFilter

    radius = max(1.0, BLUR_FRACTION * max(image.size))
    return _keep_hot(image, image.filter(ImageFilter.GaussianBlur(radius)), cam)


class Source(NamedTuple):
    """The photo a model view was cut from (:attr:`ExplainRequest.source`) and where the view
    lies in it, in the photo's pixels."""

    photo: Image.Image
    box: tuple[float, float, float, float]


def sharper_source(request: ExplainRequest, view_size: tuple[int, int]) -> Source | None:
    """The photo of ``request`` when it holds :data:`SOURCE_MIN_SCALE` times the view's pixels
    per side or more (its views are then cut from it), else None."""
    if request.source is None:
        return None
    photo, (x0, y0, x1, y1) = request.source
    scale = min((x1 - x0) / view_size[0], (y1 - y0) / view_size[1])
    return Source(photo, (x0, y0, x1, y1)) if scale >= SOURCE_MIN_SCALE else None


def source_view(
    source: Source, view_size: tuple[int, int], cam: np.ndarray, box: tuple, blur: bool
) -> Image.Image:
    """The square ``box`` of the view (view pixels) cut from the photo itself, at most
    :data:`SOURCE_VIEW_MAX` pixels a side; ``blur``: blurred outside the hot mask as
    :func:`blurred_image` blurs the view (the same radius relative to the scene, the mask from
    ``cam`` under the box, normalised by the whole map's maximum)."""
    import numpy as np
    from PIL import Image as PILImage
    from PIL import ImageFilter

    photo, (sx0, sy0, sx1, sy1) = source
    kx, ky = (sx1 - sx0) / view_size[0], (sy1 - sy0) / view_size[1]
    x0, y0, x1, y1 = box
    cut = (sx0 + x0 * kx, sy0 + y0 * ky, sx0 + x1 * kx, sy0 + y1 * ky)
    side = max(1, int(min(SOURCE_VIEW_MAX, round(max(cut[2] - cut[0], cut[3] - cut[1])))))
    view = photo.resize((side, side), _bilinear(), box=cut, reducing_gap=3.0)
    if not blur:
        return view
    arr = np.asarray(cam, dtype=np.float32)
    under = PILImage.fromarray(np.ascontiguousarray(arr[y0:y1, x0:x1]))
    mask = np.asarray(under.resize((side, side), _bilinear()), dtype=np.float32)
    radius = max(1.0, BLUR_FRACTION * max(view_size) * side / (x1 - x0))
    return _keep_hot(view, view.filter(ImageFilter.GaussianBlur(radius)), mask, float(arr.max()))


def region_peak(cam: np.ndarray, region: Region) -> tuple[float, float]:
    """The centre ``(x, y)`` of the hottest pixel inside ``region``'s bounding box."""
    import numpy as np

    x0, y0, x1, y1 = region.bbox
    window = np.asarray(cam, dtype=np.float32)[y0:y1, x0:x1]
    y, x = np.unravel_index(int(np.argmax(window)), window.shape)
    return x0 + x + 0.5, y0 + y + 0.5


def _keep_hot(
    image: Image.Image, blurred: Image.Image, cam: np.ndarray, top: float | None = None
) -> Image.Image:
    """``image`` where the map is hot, ``blurred`` where it is not (a soft mask in between);
    heat relative to ``top`` (default: ``cam``'s own maximum)."""
    import numpy as np
    from PIL import Image as PILImage

    arr = np.asarray(cam, dtype=np.float32)
    top = float(arr.max()) if top is None else top
    norm = arr / top if top > 0 else arr
    mask = np.clip((norm - 0.2) / 0.3, 0.0, 1.0)
    return PILImage.composite(image, blurred, PILImage.fromarray((mask * 255).astype(np.uint8)))


def _square(w: int, h: int, cx: float, cy: float, side: int) -> tuple[int, int, int, int]:
    """The box of a ``side`` x ``side`` square centred at ``(cx, cy)``, moved inside the image."""
    left = int(round(min(max(cx - side / 2.0, 0), w - side)))
    top = int(round(min(max(cy - side / 2.0, 0), h - side)))
    return (left, top, left + side, top + side)


def _sentences(facts: list[RegionFacts], label: str | None, lang: str) -> list[str]:
    """2-5 sentences: an opening, one per region (at most four), and (informed) a conclusion.

    Every region is described; the opening is left out when it would make a sixth sentence.
    """
    region_sentences = []
    seen: set[str] = set()
    for f in facts[:MAX_REGIONS]:
        again = f.region.position in seen
        seen.add(f.region.position)
        region_sentences.append(_region_sentence(f, again, lang))
    closing = [_conclusion(facts, label, lang)] if label is not None else []
    opening = [_opening(facts, lang)] if len(region_sentences) + len(closing) < 5 else []
    sentences = [*opening, *region_sentences, *closing]
    if len(sentences) < 2:  # no hot region at all: say so plainly
        sentences.append(
            "画像のどこにも目立った注目は見られません。"
            if lang == "ja"
            else "No part of the image stands out."
        )
    return sentences


def _opening(facts: list[RegionFacts], lang: str) -> str:
    if not facts:
        return (
            "モデルの注目は画像全体に薄く広がっています。"
            if lang == "ja"
            else "The model's attention is spread thinly over the whole image."
        )
    if len(facts) == 1:
        pos = position_name(facts[0].region.position, lang)
        if lang == "ja":
            return f"モデルの注目は{pos}の1か所に集中しています。"
        return f"The model's attention is concentrated in one region at the {pos}."
    if lang == "ja":
        return f"モデルは主に{len(facts)}か所の領域に注目しています。"
    return f"The model focuses mainly on {len(facts)} regions."


def _join(words: list[str], lang: str, conj_en: str = "and") -> str:
    if lang == "ja":
        return "と".join(words)
    if len(words) <= 2:
        return f" {conj_en} ".join(words)
    return ", ".join(words[:-1]) + f" {conj_en} " + words[-1]


def _region_sentence(f: RegionFacts, again: bool, lang: str) -> str:
    """One region: where, its heat share, its colours and what it looks like.

    No brackets around the numbers: tokenizers may glue a bracket to the words beside it.
    """
    pos = position_name(f.region.position, lang)
    percent = max(1, int(round(f.region.heat_share * 100)))
    colours = [COLOUR_NAMES[key][lang] for key, _ in f.colours]
    objects = [name for name, _ in f.candidates]
    guess = _guess(f, bool(objects), lang)
    if lang == "ja":
        where = f"{pos}のもう一つの領域" if again else f"{pos}の領域"
        colour_part = f"主に{_join(colours, lang)}の部分があり、" if colours else ""
        what = (
            "や".join(objects) + "のように見えます" if objects else "特定の物体ははっきりしません"
        )
        return f"{where}は熱の{percent}%を占め、{colour_part}{what}{guess}。"
    where = f"Another {pos} region" if again else f"The {pos} region"
    colour_part = f"is mostly {_join(colours, lang)} and " if colours else ""
    what = (
        f"looks like {_join([_with_article(o) for o in objects], lang, 'or')}"
        if objects
        else "shows no clearly recognisable object"
    )
    return f"{where} holds {percent}% of the heat, {colour_part}{what}{guess}."


def _guess(f: RegionFacts, named: bool, lang: str) -> str:
    """The hedged names of a region as a guess after its sentence's object part, or "".

    Only adverbs and function words around the names (もしかすると, perhaps, also), which no
    tokenizer keeps as terms: a free-text reading of the sentence gets the names alone.
    """
    if not f.hedged:
        return ""
    names = [name for name, _ in f.hedged]
    if lang == "ja":
        return f"（もしかすると{'や'.join(names)}{'も' if named else ''}）"
    also = "also " if named else ""
    return f", perhaps {also}{_join([_with_article(n) for n in names], lang, 'or')}"


def _with_article(name: str) -> str:
    """``a``/``an`` before an English object name (by its first letter)."""
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _conclusion(facts: list[RegionFacts], label: str, lang: str) -> str:
    supporting = [f for f in facts if any(name == label for name, _ in f.candidates)]
    positions = list(dict.fromkeys(position_name(f.region.position, lang) for f in supporting))
    if lang == "ja":
        if positions:
            return (
                f"特に{_join(positions, lang)}の領域が{label}と判断された主な根拠と考えられます。"
            )
        if not facts:
            return f"注目の集中した領域がないため、{label}と判断された根拠ははっきりしません。"
        return (
            f"これらの領域が{label}と判断された主な根拠と考えられますが、"
            f"切り出した領域からは{label}ははっきり確認できません。"
        )
    if positions:
        noun = "region is" if len(positions) == 1 else "regions are"
        return f"The {_join(positions, lang)} {noun} the main evidence that the image was classified as {label}."
    if not facts:
        return f"No region stands out, so the evidence for {label} is unclear."
    return (
        f"These regions are the likely evidence that the image was classified as {label}, "
        f"although {label} is not clearly visible in the cropped regions."
    )


def _cam_for(cam: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """The request's CAM as float [H, W] aligned with an image of ``size`` (width, height)."""
    import numpy as np

    from core.render import resize_cam

    arr = np.asarray(cam, dtype=np.float32)
    if arr.ndim == 3 and arr.shape[0] == 1:
        arr = arr[0]
    if arr.ndim != 2:
        raise WordcamError(f"grounded: expected a 2-D saliency map, got shape {arr.shape}")
    return resize_cam(arr, size)


def _bilinear():
    from PIL import Image as PILImage

    return PILImage.Resampling.BILINEAR


def _one_line(exc: BaseException) -> str:
    """One line for an item's ``error``: the message of a user error, else type and message."""
    lines = str(exc).strip().splitlines()
    if isinstance(exc, WordcamError) and lines:
        return lines[0]
    return f"{exc.__class__.__name__}: {lines[0]}" if lines else exc.__class__.__name__
