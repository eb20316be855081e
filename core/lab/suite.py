"""The planted-cue suite (``wordcam bench --suite``): does the pipeline name what the model uses?

Planted-cue datasets (:func:`core.lab.synth.make_cue_dataset`) are swept over the planted
object's size (about 15%, 30% and 50% of the image side), the background (the demo's textures,
or scenes cut from real bundled photos), distractor objects (on or off) and a few seeds. Per
*setting* (background, size, distractors, seed) one dataset is written and one model trained
(a linear head on frozen EfficientNet-Lite0 features, as the demo does); its validation photos
are classified and their CAMs computed once, then explained blind by ``grounded`` in each
language. Per *cell* (a setting and a language) two measures:

* **cue recovery**: the share of classes with a name of their planted object among their
  top-10 mined words (the names are fixed from the clean cut-out, as in the demo, less the
  names of distractors: :func:`planted_names`);
* **naming accuracy**: the share of a class's explanations (of photos that carry the object)
  whose words name its planted object, averaged over the classes;
* **naming precision**: the share of the object names the explainer gave (a class name or a
  broader word, one per region and name) that name something in the photo: its planted
  object or a distractor, by the object's names (:func:`photo_vocabulary`);
* **wrong names in top 10**: the object names among the classes' top-10 mined words that name
  neither the class's planted object nor a distractor (the "nematode" of a texture), summed;
* **words -> label**: the mined words' accuracy at telling the label (cross-validated).

Words are the terms the precompute job stores (:mod:`core.text.evidence`). Names the
explainer only hedged (``guess`` words) count for words -> label; the top words, naming
accuracy and naming precision count only the names given, as the default table shows them.

``run_suite(naming=...)`` explains with another :class:`~core.explainers.naming.NamingRule`
(the before/after of docs/terms.md).

The CAMs of a setting are cached under the work folder, so a second run (a changed explainer,
the same data) only explains and mines again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from core.lab.suite_report import summary_rows
from core.languages import LANGUAGES

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

    from core.models.base import Classifier

log = logging.getLogger(__name__)

#: Bump when a change makes cached datasets, models or CAMs of the suite stale.
SUITE_DATA_VERSION = 1
DEFAULT_WORK = Path("data") / "suite"
BACKGROUND_KINDS = ("textures", "photos")
#: Object size (geometric-mean side as a share of the image side) -> the range drawn from.
SIZE_RANGES = {0.15: (0.12, 0.18), 0.3: (0.25, 0.35), 0.5: (0.42, 0.58)}
BATCH = 16


@dataclass(frozen=True)
class SuiteSettings:
    """The grid and the size of each dataset (the full suite by default; see :data:`QUICK`)."""

    sizes: tuple[float, ...] = (0.15, 0.3, 0.5)
    backgrounds: tuple[str, ...] = BACKGROUND_KINDS
    distractors: tuple[bool, ...] = (False, True)
    langs: tuple[str, ...] = LANGUAGES
    seeds: tuple[int, ...] = (0, 1, 2)
    n_classes: int = 5
    per_class: int = 24
    val_per_class: int = 16
    epochs: int = 30
    top: int = 10

    def grid(self) -> list[Setting]:
        """Every (background, size, distractors, seed) setting, in table order."""
        return [
            Setting(background, size, distractors, seed)
            for background in self.backgrounds
            for size in self.sizes
            for distractors in self.distractors
            for seed in self.seeds
        ]


QUICK = SuiteSettings(seeds=(0,), per_class=16, val_per_class=12)


@dataclass(frozen=True)
class Setting:
    """One dataset of the suite: its background kind, object size, distractors and seed."""

    background: str
    size: float
    distractors: bool
    seed: int

    def label(self) -> str:
        return f"{self.background}-{round(self.size * 100)}-{'d' if self.distractors else 'nod'}-s{self.seed}"


@dataclass
class Prepared:
    """A setting's validation photos as the model saw them, with CAMs and predictions."""

    views: list[Image.Image]
    cams: np.ndarray
    labels: list[str]
    predicted: list[str]
    has_object: list[bool]
    cues: dict[str, Any]
    seconds: float = 0.0
    #: The objects in each photo: its planted object's name and its distractors' names.
    present: list[list[str]] = field(default_factory=list)


@dataclass
class CellResult:
    """The measures of one setting in one language."""

    setting: Setting
    lang: str
    cue_recovery: float
    naming_accuracy: float
    per_class: dict[str, Any] = field(default_factory=dict)
    text_accuracy: float | None = None
    image_accuracy: float | None = None
    naming_precision: float | None = None
    names_given: int = 0
    wrong_top_names: int = 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["setting"] = asdict(self.setting)
        return data


def dataset_options(setting: Setting, suite: SuiteSettings) -> dict[str, Any]:
    """The :func:`core.lab.synth.make_cue_dataset` arguments of a setting."""
    from core.lab.synth import BACKGROUNDS, PHOTO_BACKGROUNDS

    if setting.background not in BACKGROUND_KINDS:
        raise ValueError(f"unknown background kind {setting.background!r}")
    return {
        "n_classes": suite.n_classes,
        "per_class": suite.per_class,
        "val_per_class": suite.val_per_class,
        "holdout_per_class": 0,
        "seed": setting.seed,
        "shortcut_class": None,
        "object_scale": SIZE_RANGES.get(setting.size, (0.8 * setting.size, 1.2 * setting.size)),
        "distractor_rate": 0.3 if setting.distractors else 0.0,
        "backgrounds": BACKGROUNDS if setting.background == "textures" else PHOTO_BACKGROUNDS,
    }


def _cache_key(setting: Setting, suite: SuiteSettings) -> str:
    spec = {
        "version": SUITE_DATA_VERSION,
        "setting": asdict(setting),
        "data": [suite.n_classes, suite.per_class, suite.val_per_class, suite.epochs],
    }
    return hashlib.sha1(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:10]


def prepare(setting: Setting, suite: SuiteSettings, work: Path) -> Prepared:
    """Dataset, model and CAMs of ``setting`` (from ``work``'s cache when there)."""
    folder = work / f"{setting.label()}-{_cache_key(setting, suite)}"
    cached = folder / "cams.npz"
    started = time.perf_counter()
    if not cached.is_file():
        building = folder.with_name(f"{folder.name}.building-{os.getpid()}")
        shutil.rmtree(building, ignore_errors=True)
        _build(setting, suite, building)  # a run stopped half-way leaves no half-cached folder
        shutil.rmtree(folder, ignore_errors=True)
        building.rename(folder)
    prepared = _load_prepared(folder)
    prepared.seconds = round(time.perf_counter() - started, 2)
    return prepared


def _build(setting: Setting, suite: SuiteSettings, folder: Path) -> None:
    """Write the dataset, train the head and cache the validation photos' CAMs."""
    import numpy as np

    from core.lab.synth import make_cue_dataset
    from core.models import load_model
    from core.train import train

    make_cue_dataset(folder / "dataset", **dataset_options(setting, suite))
    train(
        folder / "dataset" / "train",
        folder / "model",
        epochs=suite.epochs,
        seed=setting.seed,
        progress=False,
        freeze_backbone=True,
        augment=False,
        workers=0,
    )
    model = load_model(str(folder / "model"))
    files = _val_files(folder)
    cams, predicted = [], []
    for start in range(0, len(files), BATCH):
        views = [_view(model, folder / "dataset" / f) for f in files[start : start + BATCH]]
        maps, preds = _cams(model, views)
        cams.append(maps)
        predicted += preds
    np.savez_compressed(
        folder / "cams.npz", cams=np.concatenate(cams), predicted=np.array(predicted)
    )


def _val_files(folder: Path) -> list[str]:
    cues = json.loads((folder / "dataset" / "cues.json").read_text(encoding="utf-8"))
    return [r["file"] for r in cues["images"] if r["split"] == "val"]


def _view(model: Classifier, path: Path) -> Image.Image:
    from PIL import Image

    with Image.open(path) as image:
        return model.preprocess.crop(image.convert("RGB"))


def _cams(model: Classifier, views: list[Image.Image]) -> tuple[np.ndarray, list[str]]:
    """Grad-CAMs (float16, [B, S, S]) of the predicted classes and the predicted labels."""
    import numpy as np
    import torch

    from core.attribution import attribute_batch

    batch = torch.stack([model.preprocess.to_tensor(v) for v in views])
    result = attribute_batch(model, batch, method="gradcam", top_k=1)
    maps = np.asarray(result.maps, dtype=np.float16)
    preds = [model.labels[int(row[0])] for row in np.asarray(result.target_indices)]
    return maps, preds


def _load_prepared(folder: Path) -> Prepared:
    import numpy as np
    from PIL import Image

    from core.models.base import Preprocessing
    from core.models.model_dir import INFO_FILE

    cues = json.loads((folder / "dataset" / "cues.json").read_text(encoding="utf-8"))
    info = json.loads((folder / "model" / INFO_FILE).read_text(encoding="utf-8"))
    preprocess = Preprocessing.from_dict(info.get("preprocessing") or {})
    records = [r for r in cues["images"] if r["split"] == "val"]
    data = np.load(folder / "cams.npz")
    views = []
    for r in records:
        with Image.open(folder / "dataset" / r["file"]) as image:
            views.append(preprocess.crop(image.convert("RGB")))
    return Prepared(
        views=views,
        cams=data["cams"].reshape(len(records), *data["cams"].shape[-2:]),
        labels=[r["label"] for r in records],
        predicted=[str(p) for p in data["predicted"]],
        has_object=[r["object"] is not None for r in records],
        cues=cues,
        present=[
            ([r["object"]["name"]] if r["object"] else []) + [d["name"] for d in r["distractors"]]
            for r in records
        ],
    )


def planted_names(lang: str) -> dict[str, list[str]]:
    """Each planted object's names by the demo's rule (:func:`core.lab.demo.object_names`), less
    the names a distractor gets by the same rule (the flag's flagpole, the helmet's crash
    helmet): a distractor is in every class and must not count as naming the object."""
    from core.lab.demo import CUE_MIN_PROB, CUE_TOP, object_names
    from core.lab.synth import DISTRACTORS, object_imagenet_labels
    from core.models import load_model

    model = load_model("imagenet")
    localized = model.label_names(lang)
    ranked = object_imagenet_labels(top=CUE_TOP, objects=DISTRACTORS, model=model)
    shared = {localized[i] for labels in ranked.values() for i, _, p in labels if p >= CUE_MIN_PROB}
    return {obj: [n for n in names if n not in shared] for obj, names in object_names(lang).items()}


def photo_vocabulary(lang: str) -> dict[str, set[str]]:
    """The names that count as naming each planted object or distractor: its own name, the
    ImageNet classes the clean cut-out gets (the demo's rule, :func:`core.lab.demo.object_names`)
    and those classes' broader words (:mod:`core.explainers.naming`)."""
    from core.explainers.naming import CATEGORIES, class_categories
    from core.lab.demo import CUE_MIN_PROB, CUE_TOP
    from core.lab.synth import DISTRACTORS, OBJECTS, object_imagenet_labels
    from core.models import load_model

    model = load_model("imagenet")
    localized = model.label_names(lang)
    categories = class_categories(model.labels)
    cuts = [*OBJECTS, *DISTRACTORS]
    ranked = object_imagenet_labels(top=CUE_TOP, objects=cuts, model=model)
    out: dict[str, set[str]] = {}
    for cut in cuts:
        indices = [i for i, _, p in ranked[cut.name] if p >= CUE_MIN_PROB]
        names = {cut.name_ja if lang == "ja" else cut.name, *(localized[i] for i in indices)}
        if categories is not None and indices:  # every broader word of those classes
            member = categories[indices].any(axis=0)
            names |= {c.name(lang) for c, m in zip(CATEGORIES, member, strict=True) if m}
        out[cut.name] = names
    return out


def naming_precision(
    details: list[dict[str, Any]], present: list[list[str]], vocabulary: dict[str, set[str]]
) -> tuple[float | None, int]:
    """The share of the object names given (one per region and name) that name an object in
    their photo, and how many names were given (see the module doc)."""
    given = right = 0
    for regions, objects in zip(details, present, strict=True):
        allowed = set().union(*(vocabulary.get(o, set()) for o in objects))
        for region in regions.get("regions") or []:
            for candidate in region.get("candidates") or []:
                given += 1
                right += candidate["label"] in allowed
    return (right / given if given else None), given


def explain(prepared: Prepared, explainers: dict[str, Any]) -> dict[str, list[Any]]:
    """Blind explanations (:class:`~core.explainers.base.Explanation`) of a setting's
    validation photos in every language.

    Each batch goes to every language's explainer in turn, so a crop model shared through
    :func:`shared_crop_model` classifies each batch's crops once for all languages.
    """
    texts: dict[str, list[Any]] = {lang: [] for lang in explainers}
    for start in range(0, len(prepared.views), BATCH):
        requests = batch_requests(prepared, start)
        for lang, explainer in explainers.items():
            texts[lang] += explainer.explain_batch(requests)
    return texts


def shared_crop_model(model: Classifier) -> Classifier:
    """``model`` with a module that remembers its last few answers (by the input's bytes).

    The explainers of both languages build the same crops of a batch, so the second one is
    answered from memory: identical numbers, half the forward passes.
    """
    from dataclasses import replace as replace_field

    return replace_field(model, module=RememberingModule(model.module))


class RememberingModule(torch.nn.Module):
    """Wraps a module; an input with the same bytes as one of the last ``keep`` gets its output."""

    def __init__(self, inner: torch.nn.Module, keep: int = 8) -> None:
        super().__init__()
        self.inner = inner
        self.keep = keep
        self.memory: dict[bytes, torch.Tensor] = {}

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        key = hashlib.blake2b(batch.detach().cpu().numpy().tobytes()).digest()
        if key not in self.memory:
            self.memory[key] = self.inner(batch)
            while len(self.memory) > self.keep:
                self.memory.pop(next(iter(self.memory)))
        return self.memory[key]


def cell_corpus(prepared: Prepared, texts: list[str], tokens: list[list[str]], lang: str) -> Any:
    """The :class:`~core.mining.Corpus` of one cell's explanations (``texts``, already tokenized
    into ``tokens``), labelled with the cell's true and predicted labels."""
    from core.mining import Corpus
    from core.mining.corpus import build_pairs

    vocab, doc_index, term_index = build_pairs(tokens)
    n = len(texts)
    return Corpus(
        doc_ids=[str(i) for i in range(n)],
        texts=texts,
        labels=list(prepared.labels),
        true_labels=list(prepared.labels),
        pred_labels=list(prepared.predicted),
        paths=[None] * n,
        image_ids=[None] * n,
        vocab=vocab,
        doc_index=doc_index,
        term_index=term_index,
        lang=lang,
    )


def measure(
    prepared: Prepared,
    texts: list[str],
    names: dict[str, list[str]],
    lang: str,
    top: int,
    terms: list[Any] | None = None,
) -> tuple[float, float, dict[str, Any], float | None]:
    """Cue recovery, naming accuracy, per-class detail and text accuracy of one cell.

    ``terms`` (:class:`~core.text.evidence.DocumentTerms` per explanation, as the precompute job
    stores them; default: the texts tokenized): words -> label is fit on all of them; the top
    words (cue recovery, wrong names) are the table's, without the words of a hidden kind
    (:data:`~core.text.evidence.HIDDEN_KINDS`: hedged names), and naming accuracy counts only
    the names given, not those hedged.
    """
    from dataclasses import replace

    from core.lab.demo import cue_recovery, cue_words
    from core.mining import STORED_TOP, mine
    from core.text import tokenize_many
    from core.text.evidence import HIDDEN_KINDS, majority_kinds

    if terms is None:
        tokens = shown_tokens = tokenize_many(texts, lang=lang, workers=1)
        kinds: dict[str, str] = {}
    else:
        tokens = [d.tokens for d in terms]
        shown_tokens = [[t.term for t in d.terms if t.kind not in HIDDEN_KINDS] for d in terms]
        kinds = majority_kinds(terms)
    corpus = cell_corpus(prepared, texts, tokens, lang)
    result = mine(corpus, top=STORED_TOP if kinds else top)
    shown = {
        c: [k for k in kws if kinds.get(k.word) not in HIDDEN_KINDS][:top]
        for c, kws in result.classes.items()
    }
    result = replace(result, classes=shown)
    recovery = cue_recovery(result, prepared.cues, names, top=top, lang=lang)
    per_class = recovery["per_class"]
    for entry in prepared.cues["classes"]:
        cls = entry["name"]
        expected = cue_words(names[entry["object"]["name"]], lang)
        docs = [
            set(t)
            for t, label, has in zip(
                shown_tokens, prepared.labels, prepared.has_object, strict=True
            )
            if label == cls and has
        ]
        named = sum(bool(d & expected) for d in docs)
        per_class[cls]["naming_accuracy"] = named / len(docs) if docs else 0.0
        per_class[cls]["top_words"] = [kw.word for kw in result.classes.get(cls, [])[:top]]
    naming = sum(v["naming_accuracy"] for v in per_class.values()) / max(1, len(per_class))
    return recovery["cue_recovery"], naming, per_class, result.text_accuracy


def wrong_top_names(
    details: list[dict[str, Any]],
    per_class: dict[str, Any],
    prepared: Prepared,
    vocabulary: dict[str, set[str]],
    lang: str,
) -> int:
    """How many of the classes' top words are object names given in the cell that name
    neither the class's planted object nor a distractor; each class's list goes into
    ``per_class[cls]["wrong_top_names"]``."""
    given = {
        c["label"]
        for d in details
        for region in d.get("regions") or []
        for c in region.get("candidates") or []
    }
    top = {cls: v.get("top_words", []) for cls, v in per_class.items()}
    found = wrong_names(top, prepared.cues, vocabulary, given, lang)
    for cls, words in found.items():
        per_class[cls]["wrong_top_names"] = words
    return sum(len(w) for w in found.values())


def wrong_names(
    top_words: dict[str, list[str]],
    cues: dict[str, Any],
    vocabulary: dict[str, set[str]],
    object_words: set[str],
    lang: str,
) -> dict[str, list[str]]:
    """Per class, its top words that are object names (``object_words``: the names the
    explainer gave) naming neither the class's planted object nor any distractor.

    The rule (docs/terms.md, "Wrong names"): a name is right when it is one of
    :func:`photo_vocabulary`'s names of the class's planted object or of a distractor (its own
    name, the ImageNet classes its clean cut-out gets, their broader words), wherever its
    region lies; any other object name is wrong. The backgrounds (textures, scene photos) are
    no object a class has in common, so a name they get is wrong too.
    """
    from core.lab.demo import cue_words

    distractors = set().union(
        *(vocabulary.get(d["name"], set()) for d in cues.get("distractors") or [])
    )
    out: dict[str, list[str]] = {}
    for entry in cues["classes"]:
        cls = entry["name"]
        allowed = vocabulary.get(entry["object"]["name"], set()) | distractors
        wrong = cue_words(sorted(object_words - allowed), lang) - cue_words(sorted(allowed), lang)
        out[cls] = [w for w in top_words.get(cls, []) if w in wrong]
    return out


def run_cell(
    prepared: Prepared,
    setting: Setting,
    lang: str,
    explanations: list[Any],
    names: Any,
    top: int,
    vocabulary: dict[str, set[str]] | None = None,
) -> CellResult:
    """Mine and measure one setting's explanations in one language, with the terms the
    precompute job stores (:func:`core.text.evidence.documents_terms`)."""
    from core.text.evidence import documents_terms

    texts = [e.text for e in explanations]
    terms = documents_terms([(e.text, e.details, None) for e in explanations], lang)
    recovery, naming, per_class, text_accuracy = measure(prepared, texts, names, lang, top, terms)
    right = sum(p == t for p, t in zip(prepared.predicted, prepared.labels, strict=True))
    cell = CellResult(
        setting=setting,
        lang=lang,
        cue_recovery=recovery,
        naming_accuracy=naming,
        per_class=per_class,
        text_accuracy=text_accuracy,
        image_accuracy=right / max(1, len(prepared.labels)),
    )
    if vocabulary is not None:
        details = [e.details or {} for e in explanations]
        cell.naming_precision, cell.names_given = naming_precision(
            details, prepared.present, vocabulary
        )
        cell.wrong_top_names = wrong_top_names(details, per_class, prepared, vocabulary, lang)
    return cell


def run_suite(
    suite: SuiteSettings = SuiteSettings(),
    work: str | Path = DEFAULT_WORK,
    crop_model: Any = None,
    naming: Any = None,
) -> dict[str, Any]:
    """Run every cell of ``suite``; returns the report (cells, summary rows, timings, load).

    ``naming``: a :class:`~core.explainers.naming.NamingRule` instead of the explainer's own.
    """
    from core.explainers import load_explainer
    from core.models import load_model

    work = Path(work)
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    crop_model = shared_crop_model(crop_model or load_model("imagenet"))
    options = {"naming": naming} if naming is not None else {}
    explainers = {
        lang: load_explainer("grounded", lang=lang, crop_model=crop_model, **options)
        for lang in suite.langs
    }
    names = {lang: planted_names(lang) for lang in suite.langs}
    vocabulary = {lang: photo_vocabulary(lang) for lang in suite.langs}
    cells: list[CellResult] = []
    timings = {"prepare": 0.0, "explain": 0.0, "mine": 0.0}
    for setting in suite.grid():
        prepared = prepare(setting, suite, work)
        timings["prepare"] += prepared.seconds
        t0 = time.perf_counter()
        texts = explain(prepared, explainers)
        timings["explain"] += time.perf_counter() - t0
        t0 = time.perf_counter()
        for lang in suite.langs:
            cell = run_cell(
                prepared, setting, lang, texts[lang], names[lang], suite.top, vocabulary[lang]
            )
            log.info(
                "suite: %s %s cue recovery %.2f naming %.2f",
                setting.label(),
                lang,
                cell.cue_recovery,
                cell.naming_accuracy,
            )
            cells.append(cell)
        timings["mine"] += time.perf_counter() - t0
    return {
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "suite": asdict(suite),
        "naming": asdict(explainers[suite.langs[0]].rule) if suite.langs else None,
        "rows": summary_rows(cells),
        "cells": [c.to_dict() for c in cells],
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(_cpu_seconds() - cpu_started, 1),
        "timings_s": {k: round(v, 1) for k, v in timings.items()},
        "photos_explained": len(suite.grid()) * suite.n_classes * suite.val_per_class,
        "load_average": list(os.getloadavg()),
        "cpus": os.cpu_count(),
    }


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (user + system)."""
    import resource

    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def batch_requests(prepared: Prepared, start: int) -> list[Any]:
    """Blind explain requests (no predictions, no label) for the ``BATCH`` views of
    ``prepared`` from ``start``, each keyed by its index."""
    from core.explainers.base import ExplainRequest

    return [
        ExplainRequest(
            image=view,
            cam=prepared.cams[i].astype("float32"),
            predictions=[],
            label=None,
            task="",
            key=str(i),
        )
        for i, view in enumerate(prepared.views[start : start + BATCH], start)
    ]
