"""The offline end-to-end demo: planted-cue photos -> trained model -> blind explanations -> keywords.

``run_demo`` is what ``wordcam demo`` runs (before it opens the dashboard) and what
``wordcam bench`` measures cue recovery on. Every step is a plain call into ``core``:

1. :func:`core.lab.synth.make_cue_dataset`: wards (中央区, 千代田区 ...) whose photos each carry
   their own planted object cut out of a real bundled photo; one ward also carries a shortcut.
2. :func:`core.train.train`: the default offline backbone (EfficientNet-Lite0) fine-tuned.
3. :func:`core.evaluation.evaluate` on the held-out photos where the shortcut is absent.
4. :func:`core.jobs.run_precompute`: blind ``grounded`` explanations of the validation
   photos into DuckDB (label withheld, as in the original experiment).
5. :func:`core.verify.run_verify`: each ward's top words verified on the model (hide the
   word's regions, compare with a same-area control; :data:`DEMO_VERIFY`).
6. :func:`core.mining.mine`: per ward the words that predict it, with n/m precision and the
   verified effect.
7. Cue recovery: for each ward, is a word naming its planted object among its top-10 words?
   An object's names are fixed from the object alone (:func:`object_names`), never from the
   mined keywords.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.languages import DEFAULT_LANG

log = logging.getLogger(__name__)

DEFAULT_OUT = Path("data") / "demo"
DEMO_TASK = "画像から撮影場所を特定する"


CUE_TOP = 5
CUE_MIN_PROB = 0.02
#: The demo's verification: the top 10 words of every ward, 12 photos each.
DEMO_VERIFY: dict[str, Any] = {"top": 10, "per_word": 12}


def object_names(lang: str = DEFAULT_LANG, top: int = CUE_TOP, min_prob: float = CUE_MIN_PROB):
    """Names of each planted object, fixed before any explanation is mined: its own name and
    the ImageNet classes the ImageNet model gives the clean cut-out alone (top ``top`` with
    probability >= ``min_prob``). ``{object name: [names...]}``."""
    from core.lab.synth import OBJECTS, object_imagenet_labels
    from core.models import load_model

    model = load_model("imagenet")
    localized = model.label_names(lang)
    ranked = object_imagenet_labels(top=top, model=model)
    out: dict[str, list[str]] = {}
    for cut in OBJECTS:
        names = [cut.name_ja if lang == "ja" else cut.name]
        names += [localized[i] for i, _, p in ranked[cut.name] if p >= min_prob]
        out[cut.name] = names
    return out


def cue_words(names: list[str], lang: str = DEFAULT_LANG) -> set[str]:
    """The words (as the tokenizer writes them) of an object's names."""
    from core.text import tokenize

    words: set[str] = set()
    for name in names:
        words.update(tokenize(name, lang=lang))
        words.add(name.strip().lower() if lang == "en" else name.strip())
    return words


def cue_recovery(
    result: Any,
    cues: dict[str, Any],
    names: dict[str, list[str]],
    top: int = 10,
    lang: str = DEFAULT_LANG,
) -> dict[str, Any]:
    """Per class whether a word naming its planted object is among its ``top`` keywords."""
    per_class: dict[str, Any] = {}
    for entry in cues["classes"]:
        cls, obj = entry["name"], entry["object"]["name"]
        expected = cue_words(names[obj], lang)
        found = [kw.word for kw in result.classes.get(cls, [])[:top]]
        hits = [w for w in found if w in expected]
        words = {kw.word: kw for kw in result.classes.get(cls, [])[:top]}
        verified = [w for w in hits if words[w].verdict == "causal"]
        per_class[cls] = {
            "object": obj,
            "object_names": names[obj],
            "hits": hits,
            "rank": (found.index(hits[0]) + 1) if hits else None,
            "recovered": bool(hits),
            "verified": verified,
            "effects": {
                w: [words[w].effect, words[w].ci_low, words[w].ci_high, words[w].verdict]
                for w in hits
                if words[w].verdict is not None
            },
        }
    n = len(per_class)
    return {
        "cue_recovery": sum(v["recovered"] for v in per_class.values()) / n if n else 0.0,
        "cue_verified": sum(bool(v["verified"]) for v in per_class.values()) / n if n else 0.0,
        "per_class": per_class,
    }


def wrong_top_names(
    result: Any, cues: dict[str, Any], lang: str = DEFAULT_LANG, top: int = 10
) -> dict[str, list[str]]:
    """Per ward, the object words among its ``top`` keywords that name neither its planted
    object nor a distractor (:func:`core.lab.suite.wrong_names`; docs/terms.md)."""
    from core.lab.suite import photo_vocabulary, wrong_names

    objects = {kw.word for kws in result.classes.values() for kw in kws if kw.kind == "object"}
    tops = {cls: [kw.word for kw in kws[:top]] for cls, kws in result.classes.items()}
    return wrong_names(tops, cues, photo_vocabulary(lang), objects, lang)


def verify_step(db: Path, progress: bool) -> dict[str, Any]:
    """Verify the demo's top words (:data:`DEMO_VERIFY`); a DB without word regions is
    reported (``skipped``), not fatal."""
    from core.errors import DataError
    from core.verify import run_verify

    try:
        report = run_verify(db, progress=progress, **DEMO_VERIFY)
    except DataError as exc:
        log.warning("demo: verification skipped: %s", exc)
        return {"skipped": str(exc)}
    data = report.to_dict()
    data["causal"] = sum(w.causal for w in report.words)
    return data


@dataclass(frozen=True)
class DemoSettings:
    """What :func:`run_demo` runs with (its keyword arguments, as one object)."""

    n_classes: int = 5
    per_class: int = 80
    val_per_class: int = 30
    holdout_per_class: int = 20
    epochs: int = 30
    image_size: int = 224
    seed: int = 0
    lang: str = DEFAULT_LANG
    progress: bool = True
    device: str = "auto"


def run_demo(
    out: str | Path = DEFAULT_OUT,
    *,
    n_classes: int = 5,
    per_class: int = 80,
    val_per_class: int = 30,
    holdout_per_class: int = 20,
    epochs: int = 30,
    image_size: int = 224,
    seed: int = 0,
    lang: str = DEFAULT_LANG,
    progress: bool = True,
    device: str = "auto",
) -> dict[str, Any]:
    """Run the whole offline demo into ``out`` and write ``out/summary.json``; returns it.

    ``device`` (``auto``, ``cpu``, ``cuda[:N]``): where training, evaluation and the job run.
    The steps, each its own function below: dataset, train, holdout, precompute, verify,
    table (mine), summary."""
    s = DemoSettings(
        n_classes=n_classes,
        per_class=per_class,
        val_per_class=val_per_class,
        holdout_per_class=holdout_per_class,
        epochs=epochs,
        image_size=image_size,
        seed=seed,
        lang=lang,
        progress=progress,
        device=device,
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timer = _Timer()
    db = out / "wordcam.duckdb"
    data = timer.run("dataset", make_dataset, out, s)
    metrics = timer.run("train", train_model, out, s, len(data["classes"]))
    holdout = timer.run("holdout", evaluate_holdout, out, s)
    pre = timer.run("precompute", precompute, out, db, s)
    verification = timer.run("verify", verify_words, db, s.progress)
    result = timer.run("mine", mine_table, db, s.lang)
    parts = {"data": data, "metrics": metrics, "holdout": holdout, "pre": pre}
    return write_summary(out, db, s, parts, verification, result, timer)


class _Timer:
    """Runs the demo's steps, logging and keeping each one's seconds (``timings_s``)."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.timings: dict[str, float] = {}

    def run(self, name: str, step: Any, *args: Any) -> Any:
        t0 = time.perf_counter()
        value = step(*args)
        self.timings[name] = round(time.perf_counter() - t0, 1)
        log.info("demo: %s done in %.1f s", name, self.timings[name])
        return value


def make_dataset(out: Path, s: DemoSettings) -> dict[str, Any]:
    """Step 1: the planted-cue photos (:func:`core.lab.synth.make_cue_dataset`)."""
    from core.lab.synth import make_cue_dataset

    log.info("demo: 1/6 generating the planted-cue dataset in %s", out / "dataset")
    return make_cue_dataset(
        out / "dataset",
        n_classes=s.n_classes,
        per_class=s.per_class,
        val_per_class=s.val_per_class,
        holdout_per_class=s.holdout_per_class,
        seed=s.seed,
    )


def train_model(out: Path, s: DemoSettings, wards: int) -> dict[str, Any]:
    """Step 2: a head on the default backbone (:func:`core.train.train`); its metrics."""
    from core.train import train

    log.info(
        "demo: 2/6 training a head on the default backbone (EfficientNet-Lite0) for %s wards",
        wards,
    )
    return train(
        out / "dataset" / "train",
        out / "model",
        val_dir=out / "dataset" / "val",
        epochs=s.epochs,
        image_size=s.image_size,
        task=DEMO_TASK,
        seed=s.seed,
        progress=s.progress,
        # A linear head on frozen, cached backbone features: one forward pass per photo, so
        # the demo trains in seconds on a 2-core CPU. `wordcam train` fine-tunes fully.
        freeze_backbone=True,
        augment=False,
        # Small synthetic JPEGs decode in ~2 ms: both cores go to the network, none to
        # decoding worker processes (2.4x faster here than 1 thread + 2 workers).
        workers=0,
        device=s.device,
    )


def evaluate_holdout(out: Path, s: DemoSettings) -> dict[str, Any]:
    """Step 3: the model on held-out photos, where the shortcut cue is absent."""
    from core.evaluation import evaluate

    log.info("demo: 3/6 evaluating on held-out photos (the shortcut cue is absent there)")
    return evaluate(
        out / "model",
        out / "dataset" / "holdout",
        workers=0,
        progress=s.progress,
        device=s.device,
    )


def precompute(out: Path, db: Path, s: DemoSettings) -> dict[str, Any]:
    """Step 4: blind ``grounded`` explanations of the validation photos into ``db``."""
    from core.jobs import JobSettings, run_precompute

    log.info("demo: 4/6 explaining the validation photos blind (grounded) into %s", db)
    job = JobSettings(
        model=str(out / "model"),
        explainer="grounded",
        mode="blind",
        lang=s.lang,
        progress=s.progress,
        device=s.device,
    )
    return run_precompute(out / "dataset" / "val", db, settings=job)


def verify_words(db: Path, progress: bool) -> dict[str, Any]:
    """Step 5: the top words verified on the model (:func:`verify_step`)."""
    log.info(
        "demo: 5/6 verifying the top words on the model (each by its own test: hiding, colour, moving)"
    )
    return verify_step(db, progress)


def mine_table(db: Path, lang: str) -> Any:
    """Step 6: each ward's keywords, from the table the precompute job stored."""
    from core.mining import keyword_table

    log.info("demo: 6/6 mining the keywords")
    return keyword_table(db, lang=lang)


def write_summary(
    out: Path,
    db: Path,
    s: DemoSettings,
    parts: dict[str, Any],
    verification: dict[str, Any],
    result: Any,
    timer: _Timer,
) -> dict[str, Any]:
    """Step 7: cue recovery and every number of the demo, into ``out/summary.json``."""
    cues = json.loads((out / "dataset" / "cues.json").read_text(encoding="utf-8"))
    recovery = cue_recovery(result, cues, object_names(s.lang), top=10, lang=s.lang)
    holdout = parts["holdout"]
    wrong = wrong_top_names(result, cues, s.lang)
    summary = {
        "cue_recovery": recovery["cue_recovery"],
        "cue_recovery_per_class": recovery["per_class"],
        "wrong_top_names": sum(len(w) for w in wrong.values()),
        "wrong_top_names_per_class": wrong,
        "cue_verified": recovery["cue_verified"],
        "verification": verification,
        "image_accuracy": parts["pre"].image_accuracy,
        "text_accuracy": result.text_accuracy,
        "baseline": result.baseline,
        "validation_top1": parts["metrics"].get("top1"),
        "holdout_top1": holdout.get("top1"),
        "holdout_recall": holdout.get("per_class", {}),
        "shortcut_class": parts["data"].get("shortcut_class"),
        "documents": result.documents,
        "db": str(db),
        "model_dir": str(out / "model"),
        "dataset": str(out / "dataset"),
        "keywords": json.loads(result.to_json())["classes"],
        "timings_s": timer.timings,
        "seconds_before_dashboard": round(time.perf_counter() - timer.started, 1),
    }
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    summary["table_markdown"] = result.to_markdown()
    return summary
