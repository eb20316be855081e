"""The verification benchmark on the planted-cue demo, where the truth is known (cues.json).

* :func:`fill_comparison`: for each fill, the drop of the true ward's probability when the
  planted object's *true* box is hidden against a same-area control: the fill that separates
  them best (standardised paired difference) is the default (``docs/verify.md``).
* :func:`truth_tables`: recall (a word naming the ward's object verified causal; the largest
  effect a cue word), false verification (distractor words, pasted into every ward alike),
  colour and position words beside the object words, and the date-stamp shortcut on the
  validation run and on a run of the holdout photos without the stamp.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from core.store.effects import WordEffect
from core.verify.fill import DEFAULT_FILL, FILLS
from core.verify.report import VerifyReport

#: Words naming the date stamp: its colour and its corner (the grounded explainer's words).
STAMP_WORDS = {"ja": ["オレンジ", "右下"], "en": ["orange", "lower right"]}


def fill_comparison(demo: Path, per_class: int = 12, fills=FILLS) -> list[dict[str, Any]]:
    """Hide each val photo's planted object (true box) and a same-area control, per fill."""
    import numpy as np
    from PIL import Image

    from core.lab.synth import CROP_MARGIN
    from core.models import load_model
    from core.verify.fill import hide
    from core.verify.geometry import NoControl, boxes_mask, fair_control
    from core.verify.model import probabilities

    model = load_model(str(demo / "model"))
    cues = json.loads((demo / "dataset" / "cues.json").read_text(encoding="utf-8"))
    pp = model.preprocess
    shots = [r for r in cues["images"] if r["split"] == "val" and r["object"]]
    picked = [r for c in model.labels for r in [s for s in shots if s["label"] == c][:per_class]]
    rows = []
    for fill in fills:
        drops, seconds = [], 0.0
        for i, rec in enumerate(picked):
            image = Image.open(demo / "dataset" / rec["file"]).convert("RGB")
            view = pp.crop(image)
            offset = round(image.width * CROP_MARGIN)  # resize 256 is the identity here
            x0, y0, x1, y1 = (v - offset for v in rec["object"]["box"])
            mask = boxes_mask([(x0, y0, x1, y1)], view.size)
            control = fair_control(mask)
            if isinstance(control, NoControl):
                continue
            t0 = time.perf_counter()
            hidden_x, _ = hide(view, mask, fill, pp, seed=i)
            control_x, _ = hide(view, control.mask, fill, pp, seed=i + 1)
            seconds += time.perf_counter() - t0
            p = probabilities(model, [pp.to_tensor(view), hidden_x, control_x])
            k = model.labels.index(rec["label"])
            drops.append((p[0, k] - p[1, k], p[0, k] - p[2, k]))
        d = np.asarray(drops)
        diff = d[:, 0] - d[:, 1]
        rows.append(
            {
                "fill": fill,
                "n": len(d),
                "object_drop": round(float(d[:, 0].mean()), 4),
                "control_drop": round(float(d[:, 1].mean()), 4),
                "effect": round(float(diff.mean()), 4),
                "separation": round(float(diff.mean() / (diff.std(ddof=1) or 1.0)), 3),
                "ms_per_mask": round(1000 * seconds / (2 * len(d)), 1),
            }
        )
    return rows


def distractor_check(demo: Path, per_pair: int = 12, fill: str = DEFAULT_FILL) -> dict[str, Any]:
    """False verification on the truth: hide each distractor's *true* box in photos of every
    ward (no ward depends on it) against a same-area control; effect, interval and BH verdict
    per (ward, distractor), as ``wordcam verify`` would give them."""
    import numpy as np
    from PIL import Image

    from core.lab.synth import CROP_MARGIN
    from core.models import load_model
    from core.verify.fill import hide
    from core.verify.geometry import NoControl, boxes_mask, fair_control
    from core.verify.model import probabilities
    from core.verify.stats import bh_qvalues, effect_of, verdict, word_seed

    model = load_model(str(demo / "model"))
    pp = model.preprocess
    cues = json.loads((demo / "dataset" / "cues.json").read_text(encoding="utf-8"))
    val = [r for r in cues["images"] if r["split"] == "val"]
    rows = []
    for ward in model.labels:
        for d in cues["distractors"]:
            shots = [
                (r, b["box"])
                for r in val
                if r["label"] == ward
                for b in r["distractors"]
                if b["name"] == d["name"]
            ][:per_pair]
            probs = []
            for i, (rec, box) in enumerate(shots):
                image = Image.open(demo / "dataset" / rec["file"]).convert("RGB")
                view = pp.crop(image)
                offset = round(image.width * CROP_MARGIN)
                mask = boxes_mask([[v - offset for v in box]], view.size)
                control = fair_control(mask)
                if isinstance(control, NoControl):
                    continue
                p = probabilities(
                    model,
                    [
                        pp.to_tensor(view),
                        hide(view, mask, fill, pp, seed=i)[0],
                        hide(view, control.mask, fill, pp, seed=i + 1)[0],
                    ],
                )
                probs.append(p[:, model.labels.index(ward)])
            arr = np.asarray(probs).reshape(-1, 3)
            e = effect_of(arr[:, 0], arr[:, 1], arr[:, 2], seed=word_seed(0, ward, d["name"]))
            rows.append(
                {
                    "class": ward,
                    "distractor": d["name"],
                    "n": e.n,
                    "effect": e.effect,
                    "ci_low": e.ci_low,
                    "ci_high": e.ci_high,
                    "p_value": e.p_value,
                }
            )
    qs = bh_qvalues([r["p_value"] for r in rows])
    for r, q in zip(rows, qs, strict=True):
        r["verdict"] = verdict(q, r["ci_low"], n=r["n"])
    causal = sum(r["verdict"] == "causal" for r in rows)
    return {
        "fill": fill,
        "rows": rows,
        "causal": causal,
        "share": causal / len(rows) if rows else None,
    }


def _names(cues: dict, lang: str) -> tuple[dict[str, set[str]], set[str]]:
    """Cue words per ward's object, and the words naming any distractor."""
    from core.lab.demo import cue_words, object_names

    names = object_names(lang)
    objects = {c["name"]: cue_words(names[c["object"]["name"]], lang) for c in cues["classes"]}
    distractors: set[str] = set()
    for d in cues["distractors"]:
        own = [d["name_ja"] if lang == "ja" else d["name"]]
        distractors |= cue_words(own + [t[lang] for t in d.get("imagenet_top", [])], lang)
    return objects, distractors


def _kind(word: str, lang: str) -> str:
    from core.colours import COLOUR_NAMES
    from core.regions import _POSITION_NAMES

    if word in {v[lang] for v in COLOUR_NAMES.values()}:
        return "colour"
    if word in set(_POSITION_NAMES[lang].values()):
        return "position"
    return "other"


def truth_tables(
    demo: Path, report: VerifyReport, holdout: VerifyReport | None, lang: str = "ja"
) -> dict[str, Any]:
    """Recall, false verification, colour/position words and the shortcut from the reports."""
    cues = json.loads((demo / "dataset" / "cues.json").read_text(encoding="utf-8"))
    objects, distractors = _names(cues, lang)
    by_class: dict[str, list[WordEffect]] = {}
    for w in report.words:
        by_class.setdefault(w.cls, []).append(w)
    recall = {}
    for ward, cue in objects.items():
        tested = [w for w in by_class.get(ward, []) if w.effect is not None]
        hits = [w for w in tested if w.word in cue]
        best = max(tested, key=lambda w: w.effect, default=None)
        recall[ward] = {
            "object_words": [_short(w) for w in hits],
            "verified": any(w.causal for w in hits),
            "largest_is_object": best is not None and best.word in cue,
            "largest": _short(best) if best else None,
            "colour": [_short(w) for w in tested if _kind(w.word, lang) == "colour"],
            "position": [_short(w) for w in tested if _kind(w.word, lang) == "position"],
        }
    false = [w for w in report.words if w.word in distractors and w.n > 0]
    shortcut_ward = (cues.get("shortcut") or {}).get("class")
    stamp = STAMP_WORDS[lang]
    return {
        "recall": recall,
        "recall_verified": sum(r["verified"] for r in recall.values()),
        "recall_largest": sum(r["largest_is_object"] for r in recall.values()),
        "wards": len(recall),
        "false": [_short(w) for w in false],
        "false_share": (sum(w.causal for w in false) / len(false)) if false else None,
        "shortcut": {
            "class": shortcut_ward,
            "val": [_short(w) for w in by_class.get(shortcut_ward, []) if w.word in stamp],
            "holdout": [_short(w) for w in (holdout.words if holdout else []) if w.word in stamp],
        },
    }


def _short(w: WordEffect) -> dict[str, Any]:
    return {**w.to_dict(), "causal": w.causal}
