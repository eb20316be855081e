"""Choose the grounded explainer's naming rule on the planted-cue suite (docs/terms.md).

    python benchmarks/naming_calibration.py [--full] [--work data/suite] [--out DIR]
        [--cache DIR] [--cv-seeds 5] [--rules A,B] [--settings FROM:TO]
    python benchmarks/naming_calibration.py --demo data/demo [--lang ja]   # a finished demo
    python benchmarks/naming_calibration.py --photos data/tux/val --model data/tux_model

Each setting of the suite (``--quick`` grid by default) is explained once, recording every
region's per-view crop-model probabilities; each candidate :class:`NamingRule` then names the
regions again from those numbers (no second crop pass) and the cells are mined and measured
as ``wordcam bench --suite`` does (:func:`core.lab.suite.run_cell`). Writes ``calibration.json``
(every rule, every cell) and prints one line per rule: naming precision, names given, wrong
names in top 10, cue recovery, naming accuracy and words -> label accuracy, over all cells.
Words -> label is also averaged over ``--cv-seeds`` CV splits, and each rule's cells are counted
as up / held / down against the legacy rule (held: within one document of its mean;
docs/terms.md). The recorded probabilities are cached per setting in ``--cache`` (default
``--out``), so a new rule costs only the mining.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from core.explainers.naming import DEFAULT_RULE, LEGACY_RULE, NamingRule

RULES: dict[str, NamingRule] = {
    "legacy": LEGACY_RULE,
    "p.2": NamingRule(min_prob=0.2),
    "h.3": NamingRule(min_heat=0.3, sure_prob=0.4),
    "h.3 b.3": NamingRule(min_heat=0.3, sure_prob=0.4, broad_min=0.3),
    "h.3 b.5": NamingRule(min_heat=0.3, sure_prob=0.4, broad_min=0.5),
    "h.4": NamingRule(min_heat=0.4, sure_prob=0.4),
    "h.4 b.5": NamingRule(min_heat=0.4, sure_prob=0.4, broad_min=0.5),
    "h.3 2nd.2": NamingRule(min_heat=0.3, sure_prob=0.4, second_min=0.2),
    "p.3": NamingRule(min_prob=0.3),
    "p.15 b.3": NamingRule(min_prob=0.15, broad_min=0.3),
    "p.15 b.4": NamingRule(min_prob=0.15, broad_min=0.4),
    "p.2 b.3": NamingRule(min_prob=0.2, broad_min=0.3),
    "p.2 b.4": NamingRule(min_prob=0.2, broad_min=0.4),
    "p.3 b.3": NamingRule(min_prob=0.3, broad_min=0.3),
    "p.3 b.4": NamingRule(min_prob=0.3, broad_min=0.4),
    "p.3 b.5": NamingRule(min_prob=0.3, broad_min=0.5),
    "p.4 b.4": NamingRule(min_prob=0.4, broad_min=0.4),
    "agree<.3 b.4": NamingRule(agree_below=0.3, broad_min=0.4),
    "p.2 agree<.3 b.4": NamingRule(min_prob=0.2, agree_below=0.3, broad_min=0.4),
    # issue 21.4, second round: words -> label must hold in every cell
    "r.5": NamingRule(second_ratio=0.5),
    "h.4 r.5": NamingRule(min_heat=0.4, sure_prob=0.4, second_ratio=0.5),
    "h.4 sb.3": NamingRule(min_heat=0.4, sure_prob=0.4, broad_min=0.3, broad_side_only=True),
    "h.4 sb.4": NamingRule(min_heat=0.4, sure_prob=0.4, broad_min=0.4, broad_side_only=True),
    "h.4 sb.5": NamingRule(min_heat=0.4, sure_prob=0.4, broad_min=0.5, broad_side_only=True),
    "h.4 agree": NamingRule(min_heat=0.4, sure_prob=0.4, side_agree=True),
    "h.4 agree sb.4": NamingRule(
        min_heat=0.4, sure_prob=0.4, side_agree=True, broad_min=0.4, broad_side_only=True
    ),
    "h.4 r.5 sb.4": NamingRule(
        min_heat=0.4, sure_prob=0.4, second_ratio=0.5, broad_min=0.4, broad_side_only=True
    ),
    "h.4 agree r.5 sb.4": NamingRule(
        min_heat=0.4,
        sure_prob=0.4,
        side_agree=True,
        second_ratio=0.5,
        broad_min=0.4,
        broad_side_only=True,
    ),
    "h.4 r.5 sb.5": NamingRule(
        min_heat=0.4, sure_prob=0.4, second_ratio=0.5, broad_min=0.5, broad_side_only=True
    ),
    "h.4 r.5 sb.4 a.2": NamingRule(
        min_heat=0.4,
        sure_prob=0.4,
        second_ratio=0.5,
        broad_min=0.4,
        broad_side_only=True,
        agree_below=0.2,
    ),
    "h.4 r.5 sb.4 a.3": NamingRule(
        min_heat=0.4,
        sure_prob=0.4,
        second_ratio=0.5,
        broad_min=0.4,
        broad_side_only=True,
        agree_below=0.3,
    ),
    "h.4 a.2": NamingRule(min_heat=0.4, sure_prob=0.4, agree_below=0.2),
    "h.4 a.3": NamingRule(min_heat=0.4, sure_prob=0.4, agree_below=0.3),
    "a.2": NamingRule(agree_below=0.2),
    "h.3 sb.5": NamingRule(min_heat=0.3, sure_prob=0.4, broad_min=0.5, broad_side_only=True),
    "h.35": NamingRule(min_heat=0.35, sure_prob=0.4),
    "h.4 s.3": NamingRule(min_heat=0.4, sure_prob=0.3),
    "h.4 s.25": NamingRule(min_heat=0.4, sure_prob=0.25),
    "h.5 s.3": NamingRule(min_heat=0.5, sure_prob=0.3),
    "h.3 a.2": NamingRule(min_heat=0.3, sure_prob=0.4, agree_below=0.2),
    "h.4 a.2 sb.4": NamingRule(
        min_heat=0.4, sure_prob=0.4, agree_below=0.2, broad_min=0.4, broad_side_only=True
    ),
    "h.4 a.2 sb.5": NamingRule(
        min_heat=0.4, sure_prob=0.4, agree_below=0.2, broad_min=0.5, broad_side_only=True
    ),
    "h.4 a.3 sb.5": NamingRule(
        min_heat=0.4, sure_prob=0.4, agree_below=0.3, broad_min=0.5, broad_side_only=True
    ),
    "h.4 a.3 b.5": NamingRule(min_heat=0.4, sure_prob=0.4, agree_below=0.3, broad_min=0.5),
    "h.4 r.5 b.4 a.3": NamingRule(
        min_heat=0.4, sure_prob=0.4, second_ratio=0.5, broad_min=0.4, agree_below=0.3
    ),
    "h.3 agree sb.4": NamingRule(
        min_heat=0.3, sure_prob=0.4, side_agree=True, broad_min=0.4, broad_side_only=True
    ),
    # issue 21.4, third round: the rule decides what is shown; the legacy names stay as guesses
    "h.4 hedge": DEFAULT_RULE,
    # issue 21.4, fourth round: with hedging a stricter SHOWN rule no longer costs words -> label
    **{
        f"h.4 {name} hedge": NamingRule(min_heat=0.4, sure_prob=0.4, hedge=True, **extra)
        for name, extra in {
            "a.15": {"agree_below": 0.15},
            "a.2": {"agree_below": 0.2},
            "a.25": {"agree_below": 0.25},
            "a.3": {"agree_below": 0.3},
            "a.4": {"agree_below": 0.4},
            "a.5": {"agree_below": 0.5},
            "r.5": {"second_ratio": 0.5},
            "a.2 r.5": {"agree_below": 0.2, "second_ratio": 0.5},
            "2nd.2": {"second_min": 0.2},
            "v.05": {"view_min": 0.05},
            "v.1": {"view_min": 0.1},
            "v.05 a.2": {"view_min": 0.05, "agree_below": 0.2},
            "v.1 a.2": {"view_min": 0.1, "agree_below": 0.2},
            "p.15": {"min_prob": 0.15},
            "p.2": {"min_prob": 0.2},
            "a.2 k2": {"agree_below": 0.2, "agree_rank": 2},
            "a.2 k3": {"agree_below": 0.2, "agree_rank": 3},
            "a.25 k2": {"agree_below": 0.25, "agree_rank": 2},
            "a.25 k3": {"agree_below": 0.25, "agree_rank": 3},
            "a.3 k2": {"agree_below": 0.3, "agree_rank": 2},
            "a.3 k3": {"agree_below": 0.3, "agree_rank": 3},
            "a.4 k2": {"agree_below": 0.4, "agree_rank": 2},
            "a.4 k3": {"agree_below": 0.4, "agree_rank": 3},
        }.items()
    },
}


def record(prepared: Any, explainer: Any) -> list[tuple[Any, list[Any], list[Any]]]:
    """``(request, region facts, per-region view probabilities)`` of every photo."""
    import core.explainers.grounded as grounded
    from core.lab.suite import BATCH, batch_requests

    probs: list[Any] = []
    composed: list[tuple[Any, list[Any]]] = []
    real_name, real_compose = grounded.name_region, explainer._compose

    def name_region(view_probs, rule, categories=None, heat_share=1.0):
        probs.append(view_probs.copy())
        return real_name(view_probs, rule, categories, heat_share)

    def compose(request, facts):
        composed.append((request, facts))
        return real_compose(request, facts)

    grounded.name_region, explainer._compose = name_region, compose
    try:
        for start in range(0, len(prepared.views), BATCH):
            requests = batch_requests(prepared, start)
            explainer.explain_batch(requests)
    finally:
        grounded.name_region, explainer._compose = real_name, real_compose
    out, k = [], 0
    for request, facts in composed:
        out.append((request, facts, probs[k : k + len(facts)]))
        k += len(facts)
    assert k == len(probs), "every region's probabilities belong to one photo"
    return out


def replay(recorded: list[Any], explainer: Any, rule: NamingRule) -> list[Any]:
    """The explanations ``explainer`` gives with ``rule`` from the recorded probabilities."""
    from core.explainers.naming import name_region

    out = []
    for request, facts, probs in recorded:
        for fact, p in zip(facts, probs, strict=True):
            naming = name_region(p, rule, explainer.categories, fact.region.heat_share)
            fact.candidate_ids, fact.broader = list(naming.specific), naming.broader
            fact.hedged_ids = list(naming.hedged)
        out.append(explainer._compose(request, facts))
    return out


#: Real photos (``--photos``): the broader word each class's photos show, as ground truth for
#: a category-level naming precision (a name is right when its class's broader word is this).
#: Only for scripts/tuxpaint_photos.py's classes.
PHOTO_CATEGORIES = {
    "wild birds": "animal",
    "cattle": "animal",
    "sea fish": "animal",
    "fresh fruit": "food",
    "vegetables": "food",
    "garden flowers": "plant",
    "hand tools": "tool",
}


def prepare_photos(photos: Path, model_dir: Path) -> Any:
    """A labelled photo folder (``CLASS/IMAGE``) as the suite's :class:`Prepared`: views,
    Grad-CAMs and predictions of the model in ``model_dir``."""
    import numpy as np

    from core.lab.suite import BATCH, Prepared, _cams, _view
    from core.models import load_model

    model = load_model(str(model_dir))
    files = sorted(p for p in photos.glob("*/*") if p.is_file())
    views, cams, predicted = [], [], []
    for start in range(0, len(files), BATCH):
        part = [_view(model, f) for f in files[start : start + BATCH]]
        maps, preds = _cams(model, part)
        views += part
        cams.append(maps)
        predicted += preds
    labels = [f.parent.name for f in files]
    return Prepared(views, np.concatenate(cams), labels, predicted, [True] * len(files), {})


def cv_accuracy_terms(prepared: Any, explained: list[Any], lang: str, seeds: int) -> list[float]:
    """Words -> label accuracy of ``seeds`` cross-validation splits, with terms as the
    precompute job stores them (``wordcam bench --suite``'s): one split's accuracy moves by
    whole documents with the split alone, so a rule is compared with another on the mean
    (docs/terms.md, "noise")."""
    return [
        photo_result(prepared, explained, lang, 10, seed).text_accuracy or 0.0
        for seed in range(seeds)
    ]


def photo_result(
    prepared: Any, explained: list[Any], lang: str, top: int = 10, seed: int = 0
) -> Any:
    """The keyword table of a photo folder's explanations, with terms as the precompute job
    stores them (:func:`core.text.evidence.document_terms`)."""
    from core.lab.suite import cell_corpus
    from core.mining import mine
    from core.text.evidence import document_terms

    tokens = [document_terms(e.text, e.details, lang).tokens for e in explained]
    corpus = cell_corpus(prepared, [e.text for e in explained], tokens, lang)
    return mine(corpus, top=top, seed=seed)


def shown_table(prepared: Any, explained: list[Any], lang: str) -> Any:
    """The default table (:func:`core.mining.arrange.arrange` with the stored candidates,
    ``min_m``, the precision bound's ranking and the terms' kinds: hedged names hidden, n/m
    of the documents that say a word as shown)."""
    from core.mining.arrange import arrange, guessed_only
    from core.mining.settings import DEFAULTS, STORED_TOP
    from core.text.evidence import document_terms, majority_kinds

    terms = [document_terms(e.text, e.details, lang) for e in explained]
    guessed = guessed_only(terms, list(prepared.labels))
    result = photo_result(prepared, explained, lang, STORED_TOP)
    return arrange(result, DEFAULTS, majority_kinds(terms), guessed=guessed)


def photo_cell(
    prepared: Any, explained: list[Any], lang: str, top: int, seeds: int = 5
) -> dict[str, Any]:
    """Words -> label accuracy (terms as the precompute job stores them), each class's top
    words, and the category-level naming precision of a real photo folder."""
    from core.explainers.naming import CATEGORIES, class_categories
    from core.models import load_model

    result = shown_table(prepared, explained, lang)
    imagenet = load_model("imagenet")
    categories = class_categories(imagenet.labels)
    keys = [c.key for c in CATEGORIES]
    # the classes each name stands for: a class name its class, a broader word its classes
    classes_of = {name: {i} for i, name in enumerate(imagenet.label_names(lang))}
    classes_of.update(
        {c.name(lang): set(categories[:, k].nonzero()[0]) for k, c in enumerate(CATEGORIES)}
    )
    given = right = 0
    for e, label in zip(explained, prepared.labels, strict=True):
        expected = set(categories[:, keys.index(PHOTO_CATEGORIES[label])].nonzero()[0])
        for region in (e.details or {}).get("regions") or []:
            for candidate in region.get("candidates") or []:
                given += 1
                right += classes_of.get(candidate["label"], {-1}) <= expected
    splits = cv_accuracy_terms(prepared, explained, lang, seeds)
    return {
        "text_accuracy": result.text_accuracy,
        "cv_text_accuracy": sum(splits) / len(splits),
        "cv_splits": splits,
        "naming_precision": right / given if given else None,
        "names_given": given,
        "top_words": {c: [kw.word for kw in kws[:top]] for c, kws in result.classes.items()},
    }


def main_photos(args: Any, rules: dict[str, NamingRule]) -> int:
    import pickle

    from core.explainers import load_explainer
    from core.models import load_model

    model = load_model("imagenet")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    report = {}
    cache = out / "recorded.pickle"  # the photos' CAMs and crop probabilities (any language)
    if cache.is_file():
        prepared, recorded = pickle.loads(cache.read_bytes())
    else:
        prepared = prepare_photos(Path(args.photos), Path(args.model))
        recorded = record(prepared, load_explainer("grounded", lang="en", crop_model=model))
        cache.write_bytes(pickle.dumps((prepared, recorded)))
    for lang in ("en", "ja"):
        explainer = load_explainer("grounded", lang=lang, crop_model=model)
        for key, rule in rules.items():
            cell = photo_cell(prepared, replay(recorded, explainer, rule), lang, 10, args.cv_seeds)
            report[f"{key} {lang}"] = cell
            print(
                f"{key:16s} {lang} words->label {cell['text_accuracy']:.3f} "
                f"cv-mean {cell['cv_text_accuracy']:.3f} category precision "
                f"{cell['naming_precision']:.3f} names {cell['names_given']}",
                flush=True,
            )
    (out / "photos.json").write_text(
        json.dumps(
            {"load_average": os.getloadavg(), "cells": report}, ensure_ascii=False, indent=1
        ),
        encoding="utf-8",
    )
    print(f"load average {os.getloadavg()}; written {out / 'photos.json'}")
    return 0


def recorded_setting(setting: Any, suite: Any, args: Any, explainer: Any) -> tuple[Any, Any]:
    """A setting's prepared photos and recorded crop probabilities, from ``--out``'s cache
    when there (the crop pass is the slow part; re-scoring a rule is cheap)."""
    import pickle

    from core.lab.suite import prepare

    cache = Path(args.cache or args.out) / f"recorded-{setting.label()}.pickle"
    if cache.is_file():
        return pickle.loads(cache.read_bytes())
    prepared = prepare(setting, suite, Path(args.work))
    recorded = record(prepared, explainer)
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_bytes(pickle.dumps((prepared, recorded)))
    return prepared, recorded


def main_demo(args: Any, rules: dict[str, NamingRule]) -> int:
    """The demo's validation photos (a finished ``wordcam demo --out DIR``) named by each
    rule: words -> label (5-fold CV, terms as the precompute job stores them), wrong names in
    each ward's top 10 (:func:`core.lab.suite.wrong_names`) and cue recovery. The demo's
    table ranks by the precision bound and leaves out words under ``min_m``: the replay mines
    with the same :func:`core.mining.mine` defaults but from the explainer's CAMs of this
    script (Grad-CAM, top class), so its numbers are close to, not equal to, the demo's."""
    import pickle

    from core.explainers import load_explainer
    from core.lab.demo import cue_recovery, object_names
    from core.lab.suite import photo_vocabulary, wrong_names
    from core.models import load_model

    demo = Path(args.demo)
    cues = json.loads((demo / "dataset" / "cues.json").read_text(encoding="utf-8"))
    lang = args.lang
    explainer = load_explainer("grounded", lang=lang, crop_model=load_model("imagenet"))
    cache = Path(args.cache or args.out) / f"recorded-demo-{lang}.pickle"
    if cache.is_file():
        prepared, recorded = pickle.loads(cache.read_bytes())
    else:
        prepared = prepare_photos(demo / "dataset" / "val", demo / "model")
        recorded = record(prepared, explainer)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_bytes(pickle.dumps((prepared, recorded)))
    vocabulary, names = photo_vocabulary(lang), object_names(lang)
    report = {}
    for key, rule in rules.items():
        explained = replay(recorded, explainer, rule)
        result = shown_table(prepared, explained, lang)
        shown = [
            c["label"]
            for e in explained
            for region in (e.details or {}).get("regions") or []
            for c in region.get("candidates") or []
        ]
        given = set(shown)
        tops = {cls: [kw.word for kw in kws[:10]] for cls, kws in result.classes.items()}
        wrong = wrong_names(tops, cues, vocabulary, given, lang)
        recovery = cue_recovery(result, cues, names, top=10, lang=lang)
        splits = cv_accuracy_terms(prepared, explained, lang, args.cv_seeds)
        report[key] = {
            "text_accuracy": result.text_accuracy,
            "cv_text_accuracy": sum(splits) / len(splits),
            "cv_splits": splits,
            "wrong_top_names": wrong,
            "cue_recovery": recovery["cue_recovery"],
            "names_given": len(shown),
            "top_words": tops,
        }
        listed = ", ".join(w for words in wrong.values() for w in words)
        print(
            f"{key:16s} demo {lang} words->label {result.text_accuracy:.3f} "
            f"cv-mean {report[key]['cv_text_accuracy']:.3f} wrong-top10 "
            f"{sum(map(len, wrong.values()))} ({listed}) recovery {recovery['cue_recovery']:.2f} "
            f"names {len(shown)}",
            flush=True,
        )
    Path(args.out).mkdir(parents=True, exist_ok=True)
    (Path(args.out) / f"demo-{lang}.json").write_text(
        json.dumps(
            {"load_average": os.getloadavg(), "rules": report}, ensure_ascii=False, indent=1
        ),
        encoding="utf-8",
    )
    print(f"load average {os.getloadavg()}")
    return 0


def markdown(paths: list[str], before: str, after: str) -> str:
    """Per cell ``before -> after`` of two rules, from calibration.json files (merged)."""
    cells: dict[str, list[dict[str, Any]]] = {before: [], after: []}
    loads = []
    for path in paths:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        loads.append(data["load_average"])
        for key in cells:
            cells[key] += data["rules"][key]["cells"]
    lines = [
        "| background | size | distractors | lang | cue recovery | naming accuracy "
        "| naming precision | names given | wrong names in top 10 | words -> label |",
        "|---|---:|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    totals = {k: [0.0, 0, 0] for k in cells}
    # words -> label: the mean over the CV splits where the run recorded several
    accuracy = "cv_text_accuracy" if "cv_text_accuracy" in cells[after][0] else "text_accuracy"
    for old, new in zip(cells[before], cells[after], strict=True):
        st = new["setting"]

        def pair(name: str, old: dict = old, new: dict = new) -> str:
            a, b = old[name], new[name]
            fmt = (
                (lambda x: "-" if x is None else f"{x:.{3 if name == accuracy else 2}f}")
                if name != "names_given" and name != "wrong_top_names"
                else str
            )
            return f"{fmt(a)} -> {fmt(b)}"

        lines.append(
            f"| {st['background']} | {round(st['size'] * 100)}% "
            f"| {'on' if st['distractors'] else 'off'} | {new['lang']} | {pair('cue_recovery')} "
            f"| {pair('naming_accuracy')} | {pair('naming_precision')} | {pair('names_given')} "
            f"| {pair('wrong_top_names')} | {pair(accuracy)} |"
        )
        for key, cell in ((before, old), (after, new)):
            totals[key][0] += (cell["naming_precision"] or 0.0) * cell["names_given"]
            totals[key][1] += cell["names_given"]
            totals[key][2] += cell["wrong_top_names"]
    n = len(cells[after])
    mean = {
        k: {
            m: sum(c[m] or 0.0 for c in v) / n
            for m in ("cue_recovery", "naming_accuracy", accuracy)
        }
        for k, v in cells.items()
    }
    lines.append(
        f"| **all {n} cells** | | | | {mean[before]['cue_recovery']:.2f} -> {mean[after]['cue_recovery']:.2f} "
        f"| {mean[before]['naming_accuracy']:.2f} -> {mean[after]['naming_accuracy']:.2f} "
        f"| {totals[before][0] / max(1, totals[before][1]):.2f} -> {totals[after][0] / max(1, totals[after][1]):.2f} "
        f"| {totals[before][1]} -> {totals[after][1]} | {totals[before][2]} -> {totals[after][2]} "
        f"| {mean[before][accuracy]:.3f} -> {mean[after][accuracy]:.3f} |"
    )
    lines.append(f"\nload averages at the end of each run: {loads}")
    return "\n".join(lines)


def table_measures(
    prepared: Any, explained: list[Any], lang: str, names: Any, vocabulary: Any, top: int
) -> dict[str, Any]:
    """Wrong names and cue recovery in the top ``top`` of the default table
    (:func:`shown_table`: ``min_m``, the precision bound, hedged names hidden, n/m of the
    documents that say a word as shown), where the suite's own measures rank by weight."""
    from core.lab.demo import cue_recovery
    from core.lab.suite import wrong_names

    table = shown_table(prepared, explained, lang)
    tops = {c: [k.word for k in kws[:top]] for c, kws in table.classes.items()}
    given = {
        c["label"]
        for e in explained
        for region in (e.details or {}).get("regions") or []
        for c in region.get("candidates") or []
    }
    wrong = wrong_names(tops, prepared.cues, vocabulary, given, lang)
    recovery = cue_recovery(table, prepared.cues, names, top=top, lang=lang)
    return {
        "wrong_top_names": sum(map(len, wrong.values())),
        "wrong": wrong,
        "cue_recovery": recovery["cue_recovery"],
    }


def held_counts(changes: list[float], docs: list[int]) -> tuple[int, int, int]:
    """Cells whose words -> label (the mean over the CV splits) rose by more than one
    document, held within one document either way, and fell by more than one document."""
    up = sum(c > 1 / n + 1e-9 for c, n in zip(changes, docs, strict=True))
    down = sum(c < -1 / n - 1e-9 for c, n in zip(changes, docs, strict=True))
    return up, len(changes) - up - down, down


def rule_report(
    key: str,
    rule: NamingRule,
    cells: dict[str, list[Any]],
    cvs: dict[str, list[Any]],
    spread: dict[str, list[list[float]]],
    docs: dict[str, list[int]],
    tables: dict[str, list[dict[str, Any]]],
) -> dict[str, Any]:
    """One rule's totals over the cells, its cells, and its cells up / held / down."""
    from core.lab.suite_report import summary_rows

    group = cells[key]
    given = sum(c.names_given for c in group)
    right = sum((c.naming_precision or 0.0) * c.names_given for c in group)
    out: dict[str, Any] = {
        "rule": rule.__dict__,
        "naming_precision": right / given if given else None,
        "names_given": given,
        "wrong_top_names": sum(c.wrong_top_names for c in group),
        "cue_recovery": sum(c.cue_recovery for c in group) / len(group),
        "naming_accuracy": sum(c.naming_accuracy for c in group) / len(group),
        "text_accuracy": sum(c.text_accuracy or 0.0 for c in group) / len(group),
        "min_text_accuracy_change": None,
        "table_wrong_top_names": sum(t["wrong_top_names"] for t in tables[key]),
        "table_cue_recovery": sum(t["cue_recovery"] for t in tables[key]) / len(group),
        "rows": summary_rows(group),
        "cells": [c.to_dict() for c in group],
    }
    for cell, mean, splits, table in zip(
        out["cells"], cvs[key], spread[key], tables[key], strict=True
    ):
        cell["cv_text_accuracy"], cell["cv_splits"], cell["table"] = mean, splits, table
    out["cv_text_accuracy"] = sum(v or 0.0 for v in cvs[key]) / len(group)
    base = cvs.get("legacy")
    if base:
        changes = [(c or 0.0) - (b or 0.0) for c, b in zip(cvs[key], base, strict=True)]
        out["min_text_accuracy_change"] = min(changes)
        out["cells_up_held_down"] = held_counts(changes, docs[key])
    print(
        f"{key:16s} precision {out['naming_precision']:.3f} names {given:5d} "
        f"wrong-top10 {out['wrong_top_names']:3d} recovery {out['cue_recovery']:.3f} "
        f"naming-acc {out['naming_accuracy']:.3f} words->label {out['text_accuracy']:.3f} "
        f"cv-mean {out['cv_text_accuracy']:.3f} worst cell {out['min_text_accuracy_change']} "
        f"up/held/down {out.get('cells_up_held_down')} default table: wrong-top10 "
        f"{out['table_wrong_top_names']} recovery {out['table_cue_recovery']:.3f}",
        flush=True,
    )
    return out


def main(argv: list[str]) -> int:
    from core.explainers import load_explainer
    from core.lab.suite import (
        QUICK,
        SuiteSettings,
        photo_vocabulary,
        planted_names,
        run_cell,
    )
    from core.models import load_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="the full grid, not --quick's")
    parser.add_argument("--work", default="data/suite")
    parser.add_argument("--out", default="data/naming")
    parser.add_argument("--rules", help="comma list of rule names (default: all)")
    parser.add_argument("--settings", help="only these settings of the grid: FROM:TO (0-based)")
    parser.add_argument("--photos", help="a labelled photo folder instead of the suite")
    parser.add_argument(
        "--markdown", nargs="+", help="print the before/after table of these calibration.json"
    )
    parser.add_argument("--before", default="legacy")
    parser.add_argument("--after", help="with --markdown: the rule chosen")
    parser.add_argument("--model", help="with --photos: the model trained on its classes")
    parser.add_argument("--cache", help="where the recorded probabilities are (default: --out)")
    parser.add_argument("--demo", help="a finished `wordcam demo --out DIR` instead of the suite")
    parser.add_argument("--lang", default="ja", help="with --demo: the language")
    parser.add_argument(
        "--cv-seeds", type=int, default=5, help="words -> label averaged over this many CV splits"
    )
    args = parser.parse_args(argv)
    suite = SuiteSettings() if args.full else QUICK
    rules = {k: RULES[k] for k in args.rules.split(",")} if args.rules else RULES
    if args.markdown:
        print(markdown(args.markdown, args.before, args.after))
        return 0
    if args.photos:
        return main_photos(args, rules)
    if args.demo:
        return main_demo(args, rules)
    model = load_model("imagenet")
    explainers = {
        lang: load_explainer("grounded", lang=lang, crop_model=model) for lang in suite.langs
    }
    names = {lang: planted_names(lang) for lang in suite.langs}
    vocabulary = {lang: photo_vocabulary(lang) for lang in suite.langs}
    cells: dict[str, list[Any]] = {k: [] for k in rules}
    cvs: dict[str, list[Any]] = {k: [] for k in rules}
    docs: dict[str, list[int]] = {k: [] for k in rules}
    spread: dict[str, list[list[float]]] = {k: [] for k in rules}
    tables: dict[str, list[dict[str, Any]]] = {k: [] for k in rules}
    started = time.perf_counter()
    start, _, stop = (args.settings or ":").partition(":")
    for setting in suite.grid()[int(start or 0) : int(stop) if stop else None]:
        prepared, recorded = recorded_setting(setting, suite, args, explainers[suite.langs[0]])
        for key, rule in rules.items():
            for lang in suite.langs:
                explained = replay(recorded, explainers[lang], rule)
                cell = run_cell(
                    prepared, setting, lang, explained, names[lang], suite.top, vocabulary[lang]
                )
                tables[key].append(
                    table_measures(
                        prepared, explained, lang, names[lang], vocabulary[lang], suite.top
                    )
                )
                cells[key].append(cell)
                splits = cv_accuracy_terms(prepared, explained, lang, args.cv_seeds)
                cvs[key].append(sum(splits) / len(splits))
                spread[key].append(splits)
                docs[key].append(len(explained))
        print(
            f"{setting.label()} done ({time.perf_counter() - started:.0f} s, load {os.getloadavg()})",
            file=sys.stderr,
            flush=True,
        )
    report = {
        key: rule_report(key, rule, cells, cvs, spread, docs, tables) for key, rule in rules.items()
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "calibration.json").write_text(
        json.dumps({"load_average": os.getloadavg(), "rules": report}, default=str, indent=1),
        encoding="utf-8",
    )
    print(f"load average {os.getloadavg()}; written {out / 'calibration.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
