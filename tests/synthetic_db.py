"""A realistic synthetic wordcam DB, written through the real schema, fast (30k photos in seconds).

``make_db(path, n_images=..., classes=..., seed=0)`` fills one run: photos of Tokyo wards with
a predicted label (about ``accuracy`` correct), top-k probabilities, tiny shared PNG thumbnails
and overlays, Japanese explanations whose words depend on the ward
(:func:`core.lab.synth_text.ward_explanation`), their tokens, and the ``terms``/``doc_terms``
matrix. Rows are bulk-inserted from pandas frames.
``hostile=True`` adds a class/folder name and explanations carrying HTML/script/Markdown.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from core.lab.synth_text import WARD_WORDS, ward_explanation, ward_vocabulary
from core.mining import store_default_results, write_terms
from core.store import StoreWriter, asset_dir, reading

WARDS = WARD_WORDS  # the default classes
HOSTILE_CLASS = "<img src=x onerror=alert(1)>区"
HOSTILE_TEXT = "<script>alert('xss')</script> **太字** :red[赤] $x^2$ <b>密集</b>"
HOSTILE_WORD = "<img src=y onerror=alert(2)>"


def _png(path: Path, color: tuple[int, int, int], size: int = 48, marks: bool = False) -> None:
    image = Image.new("RGB", (size, size), color)
    draw = ImageDraw.Draw(image)
    draw.ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=(255, 64, 0))
    if marks:
        draw.rectangle((4, 4, size // 2, size // 2), outline=(255, 255, 255), width=2)
        draw.text((6, 6), "1", fill=(255, 255, 255))
    image.save(path)


def make_db(
    path: str | Path,
    n_images: int = 1000,
    classes: list[str] | None = None,
    seed: int = 0,
    hostile: bool = False,
    accuracy: float = 0.75,
    failed_share: float = 0.01,
    mode: str = "blind",
) -> Path:
    """Write a synthetic DB with one finished run of ``n_images`` photos to ``path``.

    ``classes`` defaults to the eight wards of :data:`WARDS`; unknown class names get words
    drawn from the pooled vocabulary. Returns the DB path.
    """
    db = Path(path)
    rng = np.random.default_rng(seed)
    classes = list(classes or WARDS)
    if hostile and HOSTILE_CLASS not in classes:
        classes.append(HOSTILE_CLASS)
    vocab = ward_vocabulary(classes, rng)
    n_classes = len(classes)

    assets = asset_dir(db)
    assets.mkdir(parents=True, exist_ok=True)
    art: list[dict[str, str]] = []
    for k in range(n_classes):
        color = tuple(int(v) for v in rng.integers(40, 200, size=3))
        paths = {}
        for kind in ("thumb", "overlay", "marks", "panel"):
            p = assets / f"synthetic_{kind}_{k}.png"
            _png(p, color, marks=kind == "marks")
            paths[kind] = str(p)
        art.append(paths)

    first_id = 0  # a second call on the same DB appends a new run
    if db.exists():
        with reading(db) as con:
            first_id = int(
                con.execute("SELECT coalesce(max(image_id), 0) FROM images").fetchone()[0]
            )

    true_idx = rng.integers(0, n_classes, size=n_images)
    correct = rng.random(n_images) < accuracy
    other = (true_idx + rng.integers(1, max(n_classes, 2), size=n_images)) % n_classes
    pred_idx = np.where(correct, true_idx, other)
    failed = rng.random(n_images) < failed_share

    logits = rng.normal(0, 1, size=(n_images, n_classes)).astype(np.float32)
    logits[np.arange(n_images), pred_idx] += 3.0
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    top3 = np.argsort(-probs, axis=1)[:, :3]

    rows_images, rows_expl, rows_tokens = [], [], []
    for i in range(n_images):
        cls = classes[true_idx[i]]
        folder = cls
        rel = f"{folder}/{i:06d}.jpg"
        pred = classes[pred_idx[i]]
        a = art[true_idx[i]]
        image_id = first_id + i + 1
        if failed[i]:
            rows_images.append(
                (
                    image_id,
                    f"/photos/{rel}",
                    rel,
                    None,
                    cls,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    None,
                    "failed",
                    "not an image file (format not recognised)",
                )
            )
            continue
        topk = json.dumps(
            [{"label": classes[j], "prob": round(float(probs[i, j]), 4)} for j in top3[i]],
            ensure_ascii=False,
        )
        rows_images.append(
            (
                image_id,
                f"/photos/{rel}",
                rel,
                f"{i:064x}",
                cls,
                pred,
                float(probs[i, pred_idx[i]]),
                topk,
                a["overlay"],
                a["panel"],
                a["marks"],
                a["thumb"],
                "done",
                None,
            )
        )
        text, tokens = ward_explanation(rng, i, vocab[pred], vocab[cls])
        if hostile and i % 50 == 0:
            text = f"{text} {HOSTILE_TEXT}"
            tokens.append(HOSTILE_WORD)
        rows_expl.append((image_id, "grounded", mode, "ja", text, None, "{}"))
        rows_tokens.append((image_id, tokens))

    images = pd.DataFrame(
        rows_images,
        columns=[
            "image_id",
            "path",
            "rel_path",
            "sha256",
            "true_label",
            "pred_label",
            "pred_prob",
            "topk",
            "overlay_path",
            "panel_path",
            "marks_path",
            "thumb_path",
            "status",
            "error",
        ],
    )
    done_mask = ~failed
    images["probs"] = None
    images.loc[done_mask, "probs"] = pd.Series(
        list(probs[done_mask]), index=images.index[done_mask]
    )
    explanations = pd.DataFrame(
        rows_expl, columns=["image_id", "explainer", "mode", "lang", "text", "error", "details"]
    )
    tokens = pd.DataFrame(rows_tokens, columns=["image_id", "tokens"])
    image_accuracy = float(correct[~failed].mean()) if (~failed).any() else None

    with StoreWriter(db, publish_every=1e9) as writer:
        con = writer.con
        run_id = con.execute(
            """
            INSERT INTO runs (kind, source, model, explainer, mode, method, lang, labels,
                              settings, status, image_accuracy)
            VALUES ('images', '/photos', 'synthetic-wards', 'grounded', ?, 'gradcam', 'ja', ?,
                    ?, 'done', ?) RETURNING run_id
            """,
            [
                mode,
                json.dumps(classes, ensure_ascii=False),
                json.dumps({"synthetic": True, "seed": seed}),
                image_accuracy,
            ],
        ).fetchone()[0]
        con.register("images_df", images)
        con.register("expl_df", explanations)
        con.register("tokens_df", tokens)
        con.execute(
            """
            INSERT INTO images (image_id, run_id, path, rel_path, sha256, true_label,
                pred_label, pred_prob, topk, probs, overlay_path, panel_path, marks_path,
                thumb_path, status, error)
            SELECT image_id, ?, path, rel_path, sha256, true_label, pred_label, pred_prob,
                topk::JSON, probs::FLOAT[], overlay_path, panel_path, marks_path, thumb_path,
                status, error
            FROM images_df
            """,
            [run_id],
        )
        con.execute(
            "INSERT INTO explanations (image_id, run_id, explainer, mode, lang, text, error, "
            "details) SELECT image_id, ?, explainer, mode, lang, text, error, details::JSON "
            "FROM expl_df",
            [run_id],
        )
        con.execute(
            "INSERT INTO tokens (image_id, run_id, tokens)"
            " SELECT image_id, ?, tokens::VARCHAR[] FROM tokens_df",
            [run_id],
        )
        # What the precompute job does at its end: the term matrix and the keyword tables.
        write_terms(con, run_id)
        store_default_results(con, run_id)
        # Keep the sequence ahead of the explicit ids so that a later real run can append.
        con.execute("SELECT max(nextval('image_id_seq')) FROM range(?)", [n_images]).fetchall()
        for name in ("images_df", "expl_df", "tokens_df"):
            con.unregister(name)
    return db


def done_row(cls: str, i: int, tokens: list[str], kinds: list[str], word_regions: dict):
    """A finished photo row of class ``cls`` (its ``i``-th, predicted right) whose explanation
    is ``tokens`` with their ``kinds`` and regions: for tables built from hand-made terms."""
    from core.store.results import ResultRow

    return ResultRow(
        path=f"/p/{cls}/{i}.jpg",
        rel_path=f"{cls}/{i}.jpg",
        true_label=cls,
        status="done",
        pred_label=cls,
        text=" ".join(tokens),
        tokens=tokens,
        kinds=kinds,
        word_regions=word_regions,
    )


def tree_rows(indices, tag: str = "") -> list:
    """Finished rows ``/p/<i>.jpg`` of class ``a`` for each ``i`` in ``indices``, each saying
    "a tree <i><tag>" (``tag`` makes a rewrite's text differ): for the store's own tests."""
    from core.store.results import ResultRow

    return [
        ResultRow(
            path=f"/p/{i}.jpg",
            rel_path=f"{i}.jpg",
            true_label="a",
            status="done",
            pred_label="a",
            text=f"a tree {i}{tag}",
            tokens=["tree", f"w{i}"],
            kinds=["object", "other"],
            word_regions={"tree": ([1], True)},
        )
        for i in indices
    ]
