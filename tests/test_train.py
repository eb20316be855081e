"""wordcam train / wordcam eval on tiny photo folders with Japanese class names."""

from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path

import pytest

from core.cli import main
from core.datasets import Sample
from core.errors import DataError
from core.evaluation.metrics import classification_metrics, summary_line
from core.evaluation.report import format_report
from core.lab.synth import make_cue_dataset
from core.train import group_key, split_samples

SUMMARY = re.compile(r"^top1=\d\.\d{3} top3=\d\.\d{3} macro_f1=\d\.\d{3} n=\d+ skipped=\d+$")
FAST = ["--epochs", "1", "--image-size", "64", "--batch-size", "8", "--threads", "1"]


def _dataset(root: Path, n_classes: int = 3, per_class: int = 6) -> Path:
    """train/val/holdout folders with Japanese ward names, from the planted-cue generator."""
    make_cue_dataset(
        root,
        n_classes=n_classes,
        per_class=per_class,
        val_per_class=2,
        holdout_per_class=2,
        image_size=96,
        seed=1,
    )
    return root


def _add_broken_files(folder: Path) -> list[Path]:
    good = next(folder.glob("*.jpg")).read_bytes()
    truncated = folder / "zz_truncated.jpg"
    truncated.write_bytes(good[: len(good) // 3])
    garbage = folder / "zz_garbage.jpg"
    garbage.write_bytes(b"this is not a jpeg at all" * 10)
    return [truncated, garbage]


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> dict:
    """One frozen-backbone model trained by `wordcam train` with 2 decoding workers."""
    root = _dataset(tmp_path_factory.mktemp("cues"))
    broken = _add_broken_files(root / "train" / "千代田区")
    model_dir = root / "model"
    code = main(
        [
            "train",
            str(root / "train"),
            "--out",
            str(model_dir),
            *FAST,
            "--freeze-backbone",
            "--no-augment",
            "--balance",
            "--workers",
            "2",
            "--val-split",
            "0.25",
            "--task",
            "画像から撮影場所を特定する",
            "--no-progress",
        ]
    )
    assert code == 0
    return {"root": root, "model": model_dir, "broken": broken}


def test_train_writes_a_loadable_model_dir(trained):
    import core

    model_dir = trained["model"]
    for name in ("wordcam_model.json", "weights.pt", "metrics.json", "confusion_matrix.png"):
        assert (model_dir / name).is_file(), name
    model = core.load_model(str(model_dir))
    assert model.labels == ["中央区", "千代田区", "新宿区"]
    assert model.task == "画像から撮影場所を特定する"
    assert model.preprocess.image_size == 64
    image = core.load_image(next((trained["root"] / "holdout" / "中央区").glob("*.jpg")))
    probs = model.predict_proba([image])
    assert probs.shape == (1, 3) and abs(float(probs.sum()) - 1.0) < 1e-4


def test_train_metrics_and_skipped_files(trained):
    metrics = json.loads((trained["model"] / "metrics.json").read_text(encoding="utf-8"))
    for key in (
        "top1",
        "top3",
        "macro_f1",
        "per_class",
        "confusion_matrix",
        "counts",
        "skipped_files",
        "history",
        "split",
    ):
        assert key in metrics, key
    assert metrics["labels"] == ["中央区", "千代田区", "新宿区"]
    assert set(metrics["per_class"]["千代田区"]) >= {"precision", "recall", "f1", "support"}
    skipped = {Path(s["path"]).name for s in metrics["skipped_files"]}
    assert skipped == {p.name for p in trained["broken"]}
    assert metrics["skipped"] == 2
    # 18 readable training photos, a quarter of each class held out for validation
    assert sum(metrics["counts"]["train"].values()) + metrics["n"] == 18
    assert all(n >= 1 for n in metrics["counts"]["val"].values())
    assert len(metrics["confusion_matrix"]) == 3
    image = metrics["confusion_image"]
    if not image["names_drawn"]:  # no Japanese font installed: indices + a legend file
        legend = (trained["model"] / "confusion_matrix_labels.txt").read_text(encoding="utf-8")
        assert legend.splitlines() == ["0\t中央区", "1\t千代田区", "2\t新宿区"]


def test_eval_prints_table_and_summary_last_line(trained, capsys, caplog):
    holdout = trained["root"] / "holdout"
    broken = _add_broken_files(holdout / "新宿区")
    try:
        with caplog.at_level(logging.WARNING):
            code = main(
                [
                    "eval",
                    str(trained["model"]),
                    str(holdout),
                    "--workers",
                    "2",
                    "--threads",
                    "1",
                    "--no-progress",
                ]
            )
        out = capsys.readouterr().out
    finally:
        for p in broken:
            p.unlink()
    assert code == 0
    lines = out.strip().splitlines()
    assert SUMMARY.match(lines[-1]), lines[-1]
    assert lines[-1].endswith("n=6 skipped=2")
    assert "confusion matrix" in out and "千代田区" in out
    assert "zz_garbage.jpg" in out and "zz_truncated.jpg" in out  # reported in the report...
    assert "zz_garbage.jpg" in caplog.text  # ...and in the log


def test_eval_json(trained, capsys):
    code = main(
        [
            "eval",
            str(trained["model"]),
            str(trained["root"] / "val"),
            "--json",
            "--workers",
            "0",
            "--threads",
            "1",
            "--no-progress",
        ]
    )
    assert code == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["n"] == 6 and metrics["skipped"] == 0
    assert 0.0 <= metrics["top1"] <= metrics["top3"] <= 1.0


def test_eval_labels_that_do_not_match_the_weights(trained, tmp_path, capsys):
    broken_model = tmp_path / "model"
    shutil.copytree(trained["model"], broken_model)
    info_path = broken_model / "wordcam_model.json"
    info = json.loads(info_path.read_text(encoding="utf-8"))
    info["labels"] = info["labels"][:2]
    info_path.write_text(json.dumps(info, ensure_ascii=False), encoding="utf-8")
    code = main(["eval", str(broken_model), str(trained["root"] / "val"), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "2 labels" in err and "3 outputs" in err


def test_eval_unknown_class_folder(trained, tmp_path, capsys):
    data = tmp_path / "data"
    shutil.copytree(trained["root"] / "val" / "中央区", data / "中央区")
    shutil.copytree(trained["root"] / "val" / "中央区", data / "目黒区")
    code = main(["eval", str(trained["model"]), str(data), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1 and "目黒区" in err and len(err.strip().splitlines()) == 1


def _one_line_error(args: list[str], capsys) -> str:
    code = main(args)
    err = capsys.readouterr().err
    assert code == 1, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_train_missing_dir(tmp_path, capsys):
    err = _one_line_error(["train", str(tmp_path / "nope"), "--out", str(tmp_path / "m")], capsys)
    assert "does not exist" in err and not (tmp_path / "m").exists()


def test_train_empty_class_folder(tmp_path, capsys):
    root = _dataset(tmp_path / "d", n_classes=2, per_class=2)
    (root / "train" / "港区").mkdir()
    err = _one_line_error(["train", str(root / "train"), "--out", str(tmp_path / "m")], capsys)
    assert "港区" in err and "no images" in err


def test_train_single_class(tmp_path, capsys):
    root = _dataset(tmp_path / "d", n_classes=2, per_class=2)
    shutil.rmtree(root / "train" / "千代田区")
    err = _one_line_error(["train", str(root / "train"), "--out", str(tmp_path / "m")], capsys)
    assert "only 1 class" in err


def test_train_refuses_non_model_out_dir(tmp_path, capsys):
    root = _dataset(tmp_path / "d", n_classes=2, per_class=2)
    out = tmp_path / "m"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    err = _one_line_error(["train", str(root / "train"), "--out", str(out)], capsys)
    assert "not empty" in err and (out / "notes.txt").exists()


def test_train_bad_group_regex(tmp_path, capsys):
    root = _dataset(tmp_path / "d", n_classes=2, per_class=2)
    err = _one_line_error(
        ["train", str(root / "train"), "--out", str(tmp_path / "m"), "--group-by", "place_(\\d+"],
        capsys,
    )
    assert "--group-by" in err


def test_group_key():
    pattern = re.compile(r"place_(\d+)")
    assert group_key("港区/place_12_3.jpg", pattern) == ("12", True)
    assert group_key("港区/other.jpg", pattern) == ("港区/other.jpg", False)
    assert group_key("港区/a/b.jpg", re.compile(r"^[^/]+/[^/]+")) == ("港区/a", True)


def test_group_split_keeps_groups_on_one_side():
    samples = []
    for label, ward in enumerate(["中央区", "旭川市"]):
        n_places = 6 if label == 0 else 20  # imbalanced, like 旭川市's 41%
        for place in range(n_places):
            for view in range(1 + place % 4):
                rel = f"{ward}/place_{label}{place:02d}_{view}.jpg"
                samples.append(Sample(Path(rel), rel, label))
    split = split_samples(samples, 0.25, r"place_(\d+)", seed=3)
    assert sorted(split.train + split.val) == list(range(len(samples)))

    def place(i: int) -> str:
        return re.search(r"place_(\d+)", samples[i].rel).group(1)

    assert not {place(i) for i in split.train} & {place(i) for i in split.val}
    for label in (0, 1):  # stratified: every class on both sides, about a quarter in val
        total = sum(s.label == label for s in samples)
        in_val = sum(samples[i].label == label for i in split.val)
        assert 1 <= in_val < total
        assert abs(in_val / total - 0.25) < 0.15
    again = split_samples(samples, 0.25, r"place_(\d+)", seed=3)
    assert again.val == split.val  # deterministic for a seed


def test_split_without_groups_and_no_validation():
    samples = [
        Sample(Path(f"c{lab}/{i}.jpg"), f"c{lab}/{i}.jpg", lab) for lab in (0, 1) for i in range(10)
    ]
    split = split_samples(samples, 0.2, None, seed=0)
    assert len(split.val) == 4 and len(split.train) == 16
    none = split_samples(samples, 0.0, None, seed=0)
    assert none.val == [] and len(none.train) == 20


def test_metrics_and_report_format():
    import numpy as np

    probs = np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.5, 0.3, 0.2], [0.1, 0.2, 0.7]])
    m = classification_metrics(
        [0, 1, 1, 2], probs, ["中央区", "千代田区", "港区"], skipped=[("x.jpg", "not an image")]
    )
    assert m["top1"] == 0.75 and m["top3"] == 1.0
    assert m["confusion_matrix"] == [[1, 0, 0], [1, 1, 0], [0, 0, 1]]
    assert m["per_class"]["千代田区"]["recall"] == 0.5
    assert m["per_class"]["中央区"]["precision"] == 0.5
    assert m["macro_f1"] == round((2 / 3 + 2 / 3 + 1.0) / 3, 4)
    assert summary_line(m) == "top1=0.750 top3=1.000 macro_f1=0.778 n=4 skipped=1"
    report = format_report(m)
    assert report.splitlines()[-1] == summary_line(m)
    assert "x.jpg: not an image" in report


def test_scan_errors_are_data_errors(tmp_path):
    from core.datasets import scan_labelled_folder

    with pytest.raises(DataError, match="no class folders"):
        scan_labelled_folder(tmp_path)


@pytest.mark.slow
def test_full_finetune_with_augmentation_and_group_split(tmp_path):
    """Full fine-tuning (augmentation, grouped split, loss weights) through worker decoding."""
    from core.evaluation import evaluate
    from core.train import train

    root = tmp_path / "cues"
    make_cue_dataset(
        root,
        n_classes=3,
        per_class=16,
        val_per_class=0,
        holdout_per_class=4,
        image_size=128,
        seed=2,
    )
    # files 0000-0015: groups "<class>/000" (10 photos) and "<class>/001" (6 photos)
    metrics = train(
        root / "train",
        tmp_path / "model",
        epochs=2,
        image_size=64,
        batch_size=8,
        val_split=0.3,
        group_by=r"^([^/]+/\d\d\d)",
        balance="loss",
        workers=2,
        threads=1,
        progress=False,
    )
    assert metrics["split"]["kind"] == "grouped" and metrics["split"]["groups"] == 6
    assert metrics["counts"]["val"] == {"中央区": 6, "千代田区": 6, "新宿区": 6}
    assert len(metrics["history"]) == 2 and metrics["history"][0]["train_images"] == 30
    assert metrics["n"] == 18
    held = evaluate(tmp_path / "model", root / "holdout", workers=2, threads=1, progress=False)
    assert held["n"] == 12


def test_explain_uses_a_trained_model(trained, tmp_path, capsys):
    if not (Path(__file__).parents[1] / "core" / "cli" / "explain.py").exists():
        pytest.skip("wordcam explain is not written yet")
    image = next((trained["root"] / "holdout" / "中央区").glob("*.jpg"))
    code = main(
        [
            "explain",
            str(image),
            "--model",
            str(trained["model"]),
            "--out",
            str(tmp_path / "out"),
            "--json",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    record = json.loads(out.strip().splitlines()[-1])
    assert record["predictions"][0]["label"] in {"中央区", "千代田区", "新宿区"}
    assert record["explanation"]
