"""The planted kinds benchmark (issue 21): each test per kind of word on planted data.

Classes whose cue is a COLOUR (the same object, one class-specific colour) and classes whose
cue is an OBJECT (in a random colour, at a random place); a distractor in a random colour in
every class at the same rate. The truth is known per photo, so each test is run on the true
boxes: no explainer in between. The move tests run on their own **position** photos (small
objects, one grid cell each in turn). See docs/verify.md ("The tests on planted colour and
object cues"); ``wordcam bench --only kinds [--kinds-groups ...]``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from core.files import replace_text
from core.verify.fill import DEFAULT_FILL

#: Colours of the planted objects (RGB) and their words.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (215, 35, 35),
    "blue": (35, 70, 215),
    "green": (30, 160, 50),
    "yellow": (225, 195, 30),
}
#: (class, cut-out index in core.lab.synth.OBJECTS, its colour or None for a random one).
PLANTED = (
    ("red cup", 1, "red"),
    ("blue cup", 1, "blue"),
    ("cat", 0, None),
    ("rocket", 2, None),
)
DISTRACTOR = 0  # core.lab.synth.DISTRACTORS[0]: the coins


def _tinted(cut: Any, colour: tuple[int, int, int]) -> Any:
    """The cut-out (RGBA) in ``colour``: its luminance times the colour, alpha kept."""
    import numpy as np
    from PIL import Image

    from core.lab.synth import _cutout_rgba

    rgba = _cutout_rgba(cut)
    luma = np.asarray(rgba.convert("L"), np.float32)[..., None] / 255.0
    rgb = np.clip((0.35 + 0.9 * luma) * np.asarray(colour, np.float32), 0, 255)
    out = Image.fromarray(rgb.astype(np.uint8))
    out.putalpha(rgba.getchannel("A"))
    return out


def _paste_piece(
    canvas: Any,
    rgba: Any,
    rng: Any,
    scale_range: tuple[float, float],
    cell: int | None = None,
) -> list[int]:
    """``rgba`` pasted at a random place and scale inside the centre crop (as core.lab.synth).

    ``cell`` (0..8, row-major on the 3x3 grid of the crop that names positions): the piece's
    centre is drawn inside that cell instead of anywhere (the piece still inside the crop)."""
    from PIL import Image

    from core.lab.synth import CROP_MARGIN

    size = canvas.width
    margin = round(size * CROP_MARGIN)
    room = size - 2 * margin
    mean_side = size * float(rng.uniform(*scale_range))
    scale = min(mean_side / (rgba.width * rgba.height) ** 0.5, 0.95 * room / max(rgba.size))
    piece = rgba.resize(
        (max(4, round(rgba.width * scale)), max(4, round(rgba.height * scale))),
        Image.Resampling.BILINEAR,
    )
    if cell is None:
        x0 = margin + int(rng.integers(0, room - piece.width + 1))
        y0 = margin + int(rng.integers(0, room - piece.height + 1))
    else:
        x0 = margin + _in_cell(rng, cell % 3, room, piece.width)
        y0 = margin + _in_cell(rng, cell // 3, room, piece.height)
    canvas.paste(piece, (x0, y0), piece.getchannel("A"))
    return [x0, y0, x0 + piece.width, y0 + piece.height]


def _in_cell(rng: Any, third: int, room: int, side: int) -> int:
    """The start of a piece of ``side`` whose centre lies in ``third`` (0..2) of ``room``."""
    lo = max(side / 2, third * room / 3 + 1)
    hi = min(room - side / 2, (third + 1) * room / 3 - 1)
    centre = float(rng.uniform(lo, hi)) if hi > lo else (lo + hi) / 2
    return min(max(0, round(centre - side / 2)), room - side)


#: The mean side of a pasted piece, as a share of the photo's side (the crop is 7/8 of it).
OBJECT_SCALE = (0.3, 0.45)
DISTRACTOR_SCALE = (0.15, 0.25)
#: The **position** photos (the move tests' own set): the object as small as the distractor,
#: 15-25% of the model's view, so that it and its control both have a free place to move to
#: (at 30-45% of the photo's side, 34-51% of the view, 86% of the objects had none: seed 0).
POSITION_SCALE = (0.13, 0.22)


def make_planted_kinds(
    out: Path,
    seed: int = 0,
    per_class: int = 40,
    val_per_class: int = 16,
    size: int = 256,
    position_per_class: int = 0,
) -> dict[str, Any]:
    """Write ``out/{train,val,position}/<class>/*.jpg`` and ``out/truth.json``; the truth.

    ``train`` and ``val``: the object at 30-45% of the side, anywhere; the distractor in half
    of the photos. ``position`` (``position_per_class`` photos per class, the move tests'
    set, never trained on): the object at :data:`POSITION_SCALE` with its centre in each cell
    of the 3x3 position grid in turn, and the distractor in every photo, in another cell
    (every pair of cells equally often over 72 photos), so every position word of every class
    has its share of photos. Each split has its own random streams: adding position photos
    changes no train or val photo (a trained model stays valid)."""
    import numpy as np

    from core.lab.synth import BACKGROUNDS, DISTRACTORS, OBJECTS, _background

    colours = list(PALETTE)
    records = []
    counts = (("train", per_class), ("val", val_per_class), ("position", position_per_class))
    for split, count in counts:
        for ci, (cls, obj, fixed) in enumerate(PLANTED):
            if count:
                (out / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                stream = {"train": 7, "val": 8, "position": 9}[split]
                rng = np.random.default_rng([seed, stream, ci, i])
                canvas, _ = _background(rng, size, BACKGROUNDS)
                rec: dict[str, Any] = {"file": f"{split}/{cls}/{i:04d}.jpg", "label": cls}
                rec["split"], rec["distractor"] = split, None
                cells = (None, None)
                if split == "position":  # the object's cell, the distractor's another one
                    cells = (i % 9, (i % 9 + 1 + (i // 9) % 8) % 9)
                if split == "position" or rng.random() < 0.5:
                    colour = colours[int(rng.integers(len(colours)))]
                    piece = _tinted(DISTRACTORS[DISTRACTOR], PALETTE[colour])
                    box = _paste_piece(canvas, piece, rng, DISTRACTOR_SCALE, cells[1])
                    rec["distractor"] = {"colour": colour, "box": box}
                colour = fixed or colours[int(rng.integers(len(colours)))]
                piece = _tinted(OBJECTS[obj], PALETTE[colour])
                scale = POSITION_SCALE if split == "position" else OBJECT_SCALE
                box = _paste_piece(canvas, piece, rng, scale, cells[0])
                rec["object"] = {"name": OBJECTS[obj].name, "colour": colour, "box": box}
                canvas.save(out / rec["file"], quality=92)
                records.append(rec)
    truth = {"classes": [c for c, _, _ in PLANTED], "seed": seed, "images": records}
    replace_text(out / "truth.json", json.dumps(truth, ensure_ascii=False))
    return truth


def _view_box(box: list[int], offset: int) -> list[int]:
    return [v - offset for v in box]


def _position(box: list[int], size: int) -> str:
    from core.regions import position_key

    return position_key((box[0] + box[2]) / 2, (box[1] + box[3]) / 2, size, size)


def planted_word_tests(truth: dict[str, Any], seed: int) -> list[dict[str, Any]]:
    """The word-tests of the benchmark: group, class measured, word, test, photos (file, box).

    Groups: ``colour cue`` (colour test, should be causal), ``object word`` (hide, should be
    causal), ``object's colour`` and ``object's position`` (their own tests on object-cue
    classes: should not be), and the three nulls ``random region`` (hide a random box away
    from the object), ``spread attribute`` (the distractor's colour and position, in every
    class alike, by their own tests) and ``shuffled labels`` (each class's label moved to the
    next class's photos; hide the object those photos show). The move tests (``object's
    position``, the spread attribute's position) run on the ``position`` photos, every other
    test on the ``val`` photos.
    """
    import numpy as np

    from core.lab.synth import CROP_MARGIN

    offset = round(256 * CROP_MARGIN)
    val = [r for r in truth["images"] if r["split"] == "val"]
    classes = truth["classes"]
    fixed = {c: col for c, _, col in PLANTED}
    rng = np.random.default_rng(seed)
    groups: dict[tuple[str, str, str, str], list] = {}

    def add(group: str, cls: str, word: str, test: str, rec: dict, box: list[int]) -> None:
        groups.setdefault((group, cls, word, test), []).append((rec["file"], box))

    for rec in val:
        cls, obj = rec["label"], rec["object"]
        box = _view_box(obj["box"], offset)
        if fixed[cls]:
            add("colour cue", cls, obj["colour"], "colour", rec, box)
        else:
            add("object word", cls, obj["name"], "hide", rec, box)
            add("object's colour", cls, obj["colour"], "colour", rec, box)
        elsewhere = _random_box(box, rng)
        if elsewhere is not None:
            add("random region", cls, "random", "hide", rec, elsewhere)
        if rec["distractor"]:
            dbox = _view_box(rec["distractor"]["box"], offset)
            add("spread attribute", cls, rec["distractor"]["colour"], "colour", rec, dbox)
        # a derangement that never gives a cup's photos the other cup's label (same object)
        shuffled = classes[(classes.index(cls) + 2) % len(classes)]
        add("shuffled labels", shuffled, obj["name"], "hide", rec, box)
    # the move tests on the position photos (small objects: a move and its control both fit)
    for rec in (r for r in truth["images"] if r["split"] == "position"):
        cls, box = rec["label"], _view_box(rec["object"]["box"], offset)
        if not fixed[cls]:
            add("object's position", cls, _position(box, 224), "move", rec, box)
        dbox = _view_box(rec["distractor"]["box"], offset)
        add("spread attribute", cls, _position(dbox, 224), "move", rec, dbox)
    return [
        {"group": g, "class": c, "word": w, "test": t, "photos": p}
        for (g, c, w, t), p in sorted(groups.items())
    ]


def _random_box(box: list[int], rng: Any, size: int = 224) -> list[int] | None:
    """A box of the same size at a random place not overlapping ``box`` (None: no room)."""
    w, h = box[2] - box[0], box[3] - box[1]
    for _ in range(200):
        x0, y0 = int(rng.integers(0, size - w + 1)), int(rng.integers(0, size - h + 1))
        if x0 >= box[2] or x0 + w <= box[0] or y0 >= box[3] or y0 + h <= box[1]:
            return [x0, y0, x0 + w, y0 + h]
    return None


def measure_planted(
    root: Path,
    tests: list[dict[str, Any]],
    seed: int = 0,
    fill: str = DEFAULT_FILL,
    groups: Collection[str] | None = None,
) -> dict[str, Any]:
    """Run every word-test of :func:`planted_word_tests` (of ``groups`` only, when given) on
    the model in ``root/model``: per word-test n, effect, interval, p, q (BH over all the
    word-tests measured: one family) and verdict; the seconds and photo-words per test."""
    from PIL import Image

    from core.models import load_model
    from core.verify.geometry import boxes_mask
    from core.verify.measure import plan_change
    from core.verify.model import probabilities
    from core.verify.photos import recomputed_regions
    from core.verify.stats import bh_qvalues, effect_of, min_photos, verdict, word_seed

    if groups is not None:
        tests = [t for t in tests if t["group"] in groups]
    model = load_model(str(root / "model"))
    pp = model.preprocess
    views: dict[str, Any] = {}
    before: dict[str, Any] = {}
    cost: dict[str, list[float]] = {}
    rows = []
    for t in tests:
        started = time.perf_counter()
        inputs, kept, skipped, heats = [], [], 0, []
        for i, (file, box) in enumerate(t["photos"]):
            if file not in views:
                view = pp.crop(Image.open(root / file).convert("RGB"))
                views[file] = (view, recomputed_regions(model, view, "gradcam", None))
            view, regions = views[file]
            mask = boxes_mask([box], view.size)
            own = [r.index for r in regions.values() if _covered(r.box, mask) > 0.5]
            plan = plan_change(
                view, mask, t["test"], list(regions.values()), own, fill=fill,
                preprocess=pp, seed=word_seed(seed, t["class"], t["word"]) ^ i,
            )  # fmt: skip
            if "skipped" in plan:
                skipped += 1
                continue
            if file not in before:  # the original view: once per photo
                before[file] = probabilities(model, [pp.to_tensor(view)])[0]
            inputs += [plan["hidden_x"], plan["control_x"]]
            kept.append(file)
            heats.append(_heats(mask, plan, list(regions.values())) + [plan["control_kind"]])
        label = model.labels.index(t["class"])
        p = probabilities(model, inputs)[:, label] if inputs else []
        b = [before[f][label] for f in kept]
        e = effect_of(b, p[0::2], p[1::2]) if inputs else effect_of([], [], [])
        diffs = [float(p[2 * i + 1] - p[2 * i]) for i in range(len(kept))]
        spent = cost.setdefault(t["test"], [0.0, 0])
        spent[0] += time.perf_counter() - started
        spent[1] += len(t["photos"])
        rows.append(
            {k: t[k] for k in ("group", "class", "word", "test")}
            | {"n": e.n, "skipped": skipped, "effect": e.effect, "ci_low": e.ci_low}
            | {"ci_high": e.ci_high, "p_value": e.p_value}
            | {"photos": [[round(d, 4), *h] for d, h in zip(diffs, heats, strict=True)]}
        )
    k = min_photos()
    family = [r for r in rows if r["n"] >= k]
    for r, q in zip(family, bh_qvalues([r["p_value"] for r in family]), strict=True):
        r["q_value"] = q
    for r in rows:
        r["verdict"] = verdict(r.get("q_value"), r["ci_low"], n=r["n"])
    rate = {t: round(n / s, 2) if s else None for t, (s, n) in cost.items()}
    result = {"rows": rows, "photo_words_per_s": rate, "family": len(family)}
    return result | {"position_top1": _top1(model.labels, before, "position/")}


def _top1(labels: list[str], before: dict[str, Any], split: str) -> dict[str, float]:
    """Per class, the share of the measured photos of ``split`` the model names right (the
    folder is the class: ``position/<class>/NNNN.jpg``)."""
    hits: dict[str, list[bool]] = {}
    for file, p in before.items():
        if file.startswith(split):
            cls = file.split("/")[1]
            hits.setdefault(cls, []).append(labels[int(p.argmax())] == cls)
    return {c: round(sum(h) / len(h), 3) for c, h in sorted(hits.items())}


def _heats(mask: Any, plan: dict[str, Any], regions: list[Any]) -> list[float | None]:
    """The word's and the control's heat (CAM share estimated from the regions)."""
    from core.verify.geometry import heat_of

    word, control = heat_of(mask, regions), plan["control"].heat
    return [None if h is None else round(h, 4) for h in (word, control)]


def _covered(box: tuple[int, int, int, int], mask: Any) -> float:
    """The share of ``box`` inside ``mask``."""
    x0, y0, x1, y1 = box
    part = mask[max(0, y0) : y1, max(0, x0) : x1]
    return float(part.mean()) if part.size else 0.0


#: What each group of the planted benchmark should show (the goal of issue 21).
GOALS = {
    "colour cue": "all causal",
    "object word": "all causal",
    "object's colour": "<= 10% causal",
    "object's position": "<= 10% causal",
    "random region": "<= 5% causal",
    "spread attribute": "<= 5% causal",
    "shuffled labels": "<= 5% causal",
    "position cue": "most causal (the move test's power)",
}


def planted_benchmark(
    work: Path,
    seeds: tuple[int, ...] = (0, 1),
    per_class: int = 40,
    val_per_class: int = 64,
    position_per_class: int = 144,
    groups: Collection[str] | None = None,
) -> dict[str, Any]:
    """Build, train and measure the planted kinds benchmark for each seed; the summary.

    ``groups`` (names of :data:`GOALS`): measure only these lines; BH then runs over their
    word-tests alone (a smaller family than the whole benchmark's), so each group also
    reports its count before BH. The seed's result is written to ``result.json`` (all
    groups) or ``result-<groups>.json``. The ``position cue`` group trains its own model
    per seed (``seed<N>/position_cue``)."""
    groups = None if groups is None else benchmark_groups(groups)
    per_seed = []
    for seed in seeds:
        root = work / f"seed{seed}"
        t0 = time.perf_counter()
        truth = make_planted_kinds(
            root, seed, per_class, val_per_class, position_per_class=position_per_class
        )  # deterministic
        metrics = _trained(root, seed)
        trained = time.perf_counter() - t0
        result = measure_planted(root, planted_word_tests(truth, seed), seed, groups=groups)
        result |= {"seed": seed, "val_top1": metrics.get("top1"), "train_s": round(trained, 1)}
        if groups is None or "position cue" in groups:
            cue = position_cue_check(root / "position_cue", seed)
            result["rows"] += cue["rows"]
            result["position_cue"] = {k: v for k, v in cue.items() if k != "rows"}
        result |= {"groups": groups, "loadavg": _load()}
        name = "result.json" if groups is None else f"result-{'+'.join(map(_slug, groups))}.json"
        replace_text(root / name, json.dumps(result, indent=1))
        per_seed.append(result)
    summary = planted_groups(per_seed, groups)
    return {"seeds": per_seed, "groups": summary, "only": groups, "loadavg": _load()}


def _trained(root: Path, seed: int) -> dict[str, Any]:
    """Train the seed's model on ``root/train`` (its metrics), or reuse it when trained."""
    from core.train import train

    done = root / "model" / "metrics.json"
    if done.is_file():  # reuse the seed's trained model (same train photos)
        return json.loads(done.read_text(encoding="utf-8"))
    return train(
        root / "train", root / "model", val_dir=root / "val", epochs=30, image_size=224,
        seed=seed, progress=False, freeze_backbone=True, augment=False, workers=0,
    )  # fmt: skip


#: The move test's power: classes whose cue is the object's **row** (the same object, the
#: flower, in a random colour; its centre in the upper row for one class, the lower for the
#: other), at the position photos' size. Moving it out of its row should change the class.
POSITION_CUE = (("flower top", (0, 1, 2)), ("flower bottom", (6, 7, 8)))
POSITION_CUE_OBJECT = 6  # core.lab.synth.OBJECTS[6]: the flower
#: Train photos per position-cue class: the linear head on globally pooled features needs
#: many to read the row (seed 0: val top-1 0.63 with 40, 0.94 with 200).
POSITION_CUE_TRAIN = 200


def make_position_cue(
    out: Path, seed: int = 0, per_class: int = 40, val_per_class: int = 48, size: int = 256
) -> dict[str, Any]:
    """Write the position-cue photos (``out/{train,val}/<class>``, ``out/truth.json``)."""
    import numpy as np

    from core.lab.synth import BACKGROUNDS, OBJECTS, _background

    colours, records = list(PALETTE), []
    for split, count in (("train", per_class), ("val", val_per_class)):
        for ci, (cls, cells) in enumerate(POSITION_CUE):
            (out / split / cls).mkdir(parents=True, exist_ok=True)
            for i in range(count):
                rng = np.random.default_rng([seed, 10 + (split == "val"), ci, i])
                canvas, _ = _background(rng, size, BACKGROUNDS)
                colour = colours[int(rng.integers(len(colours)))]
                piece = _tinted(OBJECTS[POSITION_CUE_OBJECT], PALETTE[colour])
                box = _paste_piece(canvas, piece, rng, POSITION_SCALE, cells[i % len(cells)])
                rec = {"file": f"{split}/{cls}/{i:04d}.jpg", "label": cls, "split": split}
                rec["object"] = {"name": OBJECTS[POSITION_CUE_OBJECT].name, "colour": colour}
                rec["object"]["box"] = box
                canvas.save(out / rec["file"], quality=92)
                records.append(rec)
    truth = {"classes": [c for c, _ in POSITION_CUE], "seed": seed, "images": records}
    replace_text(out / "truth.json", json.dumps(truth, ensure_ascii=False))
    return truth


def position_cue_check(
    root: Path, seed: int = 0, per_class: int = POSITION_CUE_TRAIN
) -> dict[str, Any]:
    """The move test on the position-cue classes (group ``position cue``): each val photo's
    object by its grid position, with its own model; BH over these word-tests alone."""
    from core.lab.synth import CROP_MARGIN

    truth = make_position_cue(root, seed, per_class)
    metrics = _trained(root, seed)
    offset = round(256 * CROP_MARGIN)
    groups: dict[tuple[str, str], list] = {}
    for rec in (r for r in truth["images"] if r["split"] == "val"):
        box = _view_box(rec["object"]["box"], offset)
        groups.setdefault((rec["label"], _position(box, 224)), []).append((rec["file"], box))
    tests = [
        {"group": "position cue", "class": c, "word": w, "test": "move", "photos": p}
        for (c, w), p in sorted(groups.items())
    ]
    return measure_planted(root, tests, seed) | {"val_top1": metrics.get("top1")}


def _slug(group: str) -> str:
    """``object's position`` and ``objects_position`` -> ``objects-position``."""
    spaced = "".join(c if c.isalnum() else " " if c in " -_" else "" for c in group.lower())
    return "-".join(spaced.split())


def benchmark_groups(names: Collection[str]) -> list[str]:
    """The groups of :data:`GOALS` that ``names`` give (as written there, or as their slug:
    ``objects-position``), in the benchmark's order; a :class:`WordcamError` naming the
    unknown ones."""
    from core.errors import WordcamError

    known = {_slug(g): g for g in GOALS}
    unknown = [n for n in names if _slug(n) not in known]
    if unknown or not names:
        raise WordcamError(
            f"unknown benchmark group {', '.join(map(repr, unknown)) or '(none given)'}; "
            f"the groups are: {', '.join(known)}"
        )
    wanted = {known[_slug(n)] for n in names}
    return [g for g in GOALS if g in wanted]


def planted_groups(
    per_seed: list[dict[str, Any]], groups: Collection[str] | None = None
) -> list[dict[str, Any]]:
    """Per group over all seeds: word-tests with a verdict, causal, too few, the goal; and
    ``before_bh``: those with at least k photos, p <= alpha and the interval above zero (the
    verdict rule without BH, which does not depend on the family's size)."""
    from core.verify.stats import ALPHA, min_photos

    k = min_photos()
    out = []
    for group, goal in GOALS.items():
        if groups is not None and group not in groups:
            continue
        rows = [r for s in per_seed for r in s["rows"] if r["group"] == group]
        judged = [r for r in rows if r["verdict"] in ("causal", "no effect shown")]
        causal = sum(r["verdict"] == "causal" for r in judged)
        out.append(
            {
                "group": group,
                "word_tests": len(rows),
                "with_verdict": len(judged),
                "causal": causal,
                "share": round(causal / len(judged), 3) if judged else None,
                "before_bh": sum(
                    r["n"] >= k and r["p_value"] <= ALPHA and r["ci_low"] > 0 for r in judged
                ),
                "too_few": sum(r["verdict"] == "too few photos" for r in rows),
                "goal": goal,
            }
        )
    return out


def planted_markdown(result: dict[str, Any]) -> str:
    """The benchmark's table (per group) and the cost per test, as Markdown."""
    lines = [
        "| group | test(s) | word-tests | with a verdict | causal | share | causal before BH "
        "| too few photos | goal |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    tests = {}
    for s in result["seeds"]:
        for r in s["rows"]:
            tests.setdefault(r["group"], set()).add(r["test"])
    for g in result["groups"]:
        share = "-" if g["share"] is None else f"{100 * g['share']:.0f}%"
        lines.append(
            f"| {g['group']} | {', '.join(sorted(tests.get(g['group'], [])))} "
            f"| {g['word_tests']} | {g['with_verdict']} | {g['causal']} | {share} "
            f"| {g.get('before_bh', '-')} | {g['too_few']} | {g['goal']} |"
        )
    cost = [
        f"seed {s['seed']}: val top-1 {s['val_top1']}, position photos top-1 "
        + (", ".join(f"{c} {v}" for c, v in s.get("position_top1", {}).items()) or "-")
        + ", "
        + ", ".join(f"{t} {v} photo-words/s" for t, v in sorted(s["photo_words_per_s"].items()))
        for s in result["seeds"]
    ]
    cost += [
        f"seed {s['seed']}: position-cue model val top-1 {s['position_cue']['val_top1']}, move "
        f"{s['position_cue']['photo_words_per_s'].get('move')} photo-words/s (its own BH family)"
        for s in result["seeds"]
        if "position_cue" in s
    ]
    if result.get("only"):
        cost.append("only these groups: BH over their word-tests alone (a smaller family)")
    return "\n".join(lines) + "\n\n" + "\n".join(cost) + f"\n(load {result['loadavg']})\n"


def _load() -> str:
    import os

    return " ".join(f"{x:.1f}" for x in os.getloadavg())


if __name__ == "__main__":  # python -m core.lab.kinds_bench WORK [seeds...]
    import sys

    work = Path(sys.argv[1] if len(sys.argv) > 1 else "data/verify_kinds")
    seeds = tuple(int(x) for x in sys.argv[2:]) or (0, 1)
    summary = planted_benchmark(work, seeds)
    replace_text(work / "kinds.json", json.dumps(summary, indent=1))
    print(planted_markdown(summary))
