"""The offline end-to-end demo: planted-cue photos -> trained model -> blind explanations -> keywords.

``run_demo`` is what ``wordcam demo`` runs (before it opens the dashboard) and what
``wordcam bench`` measures cue recovery on. Every step is a plain call into ``core``:

1. :func:`core.synth.make_cue_dataset`: wards (中央区, 千代田区 ...) whose photos each carry
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
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

DEFAULT_OUT = Path("data") / "demo"
DEMO_TASK = "画像から撮影場所を特定する"


CUE_TOP = 5
CUE_MIN_PROB = 0.02
#: The demo's verification: the top 10 words of every ward, 12 photos each.
DEMO_VERIFY: dict[str, Any] = {"top": 10, "per_word": 12}


def object_names(lang: str = "ja", top: int = CUE_TOP, min_prob: float = CUE_MIN_PROB):
    """Names of each planted object, fixed before any explanation is mined: its own name and
    the ImageNet classes the ImageNet model gives the clean cut-out alone (top ``top`` with
    probability >= ``min_prob``). ``{object name: [names...]}``."""
    from core.models import load_model
    from core.synth import OBJECTS, object_imagenet_labels

    model = load_model("imagenet")
    localized = model.label_names(lang)
    ranked = object_imagenet_labels(top=top, model=model)
    out: dict[str, list[str]] = {}
    for cut in OBJECTS:
        names = [cut.name_ja if lang == "ja" else cut.name]
        names += [localized[i] for i, _, p in ranked[cut.name] if p >= min_prob]
        out[cut.name] = names
    return out


def cue_words(names: list[str], lang: str = "ja") -> set[str]:
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
    lang: str = "ja",
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
    lang: str = "ja",
    progress: bool = True,
    device: str = "auto",
) -> dict[str, Any]:
    """Run the whole offline demo into ``out`` and write ``out/summary.json``; returns it.

    ``device`` (``auto``, ``cpu``, ``cuda[:N]``): where training, evaluation and the job run."""
    from core.evaluation import evaluate
    from core.jobs import JobSettings, run_precompute
    from core.mining import mine_source
    from core.synth import make_cue_dataset
    from core.train import train

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    started = time.perf_counter()

    def step(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 1)
        log.info("demo: %s done in %.1f s", name, timings[name])

    t0 = time.perf_counter()
    log.info("demo: 1/5 generating the planted-cue dataset in %s", out / "dataset")
    data = make_cue_dataset(
        out / "dataset",
        n_classes=n_classes,
        per_class=per_class,
        val_per_class=val_per_class,
        holdout_per_class=holdout_per_class,
        seed=seed,
    )
    step("dataset", t0)

    t0 = time.perf_counter()
    log.info(
        "demo: 2/5 training a head on the default backbone (EfficientNet-Lite0) for %s wards",
        len(data["classes"]),
    )
    metrics = train(
        out / "dataset" / "train",
        out / "model",
        val_dir=out / "dataset" / "val",
        epochs=epochs,
        image_size=image_size,
        task=DEMO_TASK,
        seed=seed,
        progress=progress,
        # A linear head on frozen, cached backbone features: one forward pass per photo, so
        # the demo trains in seconds on a 2-core CPU. `wordcam train` fine-tunes fully.
        freeze_backbone=True,
        augment=False,
        # Small synthetic JPEGs decode in ~2 ms: both cores go to the network, none to
        # decoding worker processes (2.4x faster here than 1 thread + 2 workers).
        workers=0,
        device=device,
    )
    step("train", t0)

    t0 = time.perf_counter()
    log.info("demo: 3/5 evaluating on held-out photos (the shortcut cue is absent there)")
    holdout = evaluate(
        out / "model", out / "dataset" / "holdout", workers=0, progress=progress, device=device
    )
    step("holdout", t0)

    t0 = time.perf_counter()
    db = out / "wordcam.duckdb"
    log.info("demo: 4/5 explaining the validation photos blind (grounded) into %s", db)
    job = JobSettings(
        model=str(out / "model"),
        explainer="grounded",
        mode="blind",
        lang=lang,
        progress=progress,
        device=device,
    )
    pre = run_precompute(out / "dataset" / "val", db, settings=job)
    step("precompute", t0)

    t0 = time.perf_counter()
    log.info("demo: 5/6 verifying the top words on the model (hiding their regions)")
    verification = verify_step(db, progress)
    step("verify", t0)

    t0 = time.perf_counter()
    log.info("demo: 6/6 mining the keywords")
    result = mine_source(db, lang=lang, top=10)  # the table the precompute job stored
    step("mine", t0)

    cues = json.loads((out / "dataset" / "cues.json").read_text(encoding="utf-8"))
    recovery = cue_recovery(result, cues, object_names(lang), top=10, lang=lang)
    summary = {
        "cue_recovery": recovery["cue_recovery"],
        "cue_recovery_per_class": recovery["per_class"],
        "cue_verified": recovery["cue_verified"],
        "verification": verification,
        "image_accuracy": pre.image_accuracy,
        "text_accuracy": result.text_accuracy,
        "baseline": result.baseline,
        "validation_top1": metrics.get("top1"),
        "holdout_top1": holdout.get("top1"),
        "holdout_recall": holdout.get("per_class", {}),
        "shortcut_class": data.get("shortcut_class"),
        "documents": result.documents,
        "db": str(db),
        "model_dir": str(out / "model"),
        "dataset": str(out / "dataset"),
        "keywords": json.loads(result.to_json())["classes"],
        "timings_s": timings,
        "seconds_before_dashboard": round(time.perf_counter() - started, 1),
    }
    (out / "summary.json").write_text(
        json.dumps(summary, ensure_ascii=False, indent=1, default=str), encoding="utf-8"
    )
    summary["table_markdown"] = result.to_markdown()
    return summary
