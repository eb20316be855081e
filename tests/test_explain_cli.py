"""``wordcam explain`` and the per-image pipeline behind it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.cli import main
from core.errors import WordcamError
from core.registry import register_explainer, register_model_loader

HAS_ATTRIBUTION = importlib.util.find_spec("core.attribution") is not None
HAS_IMAGENET = importlib.util.find_spec("core.models.imagenet") is not None
needs_attribution = pytest.mark.skipif(
    not HAS_ATTRIBUTION, reason="core/attribution.py (attribute_batch) not present yet"
)
COLOURS_EN = ["red thing", "green thing", "blue thing"]
COLOURS_JA = ["赤いもの", "緑のもの", "青いもの"]


def tiny_classifier():
    """A small random torchvision classifier with three classes (fast on CPU)."""
    import torch
    import torchvision

    from core.models.base import Classifier, Preprocessing

    torch.manual_seed(0)
    module = torchvision.models.resnet18(weights=None, num_classes=3).eval()
    return Classifier(
        module=module,
        labels=COLOURS_EN,
        preprocess=Preprocessing(image_size=64, resize=72),
        task="色を当てる",
        spec="tinytest",
        target_layer="layer4",
        localized_labels={"en": COLOURS_EN, "ja": COLOURS_JA},
    )


class EchoExplainer:
    """Records requests and answers with what it was told (no model needed)."""

    name = "echo"

    def __init__(self, arg=None, lang="ja", **options):
        self.lang = lang
        self.requests = []

    def explain_batch(self, requests):
        from core.explainers.base import Explanation

        self.requests.extend(requests)
        return [
            Explanation(text=f"label={r.label} lang={self.lang}", details={"n": len(requests)})
            for r in requests
        ]


@pytest.fixture(scope="module")
def tiny():
    model = tiny_classifier()
    register_model_loader("tinytest", lambda arg=None, **options: model)
    register_explainer("echo", EchoExplainer)
    return model


@pytest.fixture
def photos(tmp_path: Path) -> dict[str, Path]:
    from skimage import data

    folder = tmp_path / "photos"
    (folder / "a").mkdir(parents=True)
    (folder / "b").mkdir()
    paths = {
        "chelsea": folder / "chelsea.png",
        "coffee": folder / "coffee.jpg",
        "same_a": folder / "a" / "same.png",
        "same_b": folder / "b" / "same.png",
    }
    Image.fromarray(data.chelsea()).save(paths["chelsea"])
    Image.fromarray(data.coffee()).save(paths["coffee"])
    Image.new("RGB", (90, 70), (200, 30, 30)).save(paths["same_a"])
    Image.new("RGB", (70, 90), (30, 30, 200)).save(paths["same_b"])
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 this is not really a JPEG")
    paths["broken"] = broken
    paths["missing"] = tmp_path / "missing.jpg"
    return paths


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(["explain", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@needs_attribution
def test_pipeline_batches_errors_and_pictures(tiny, photos, tmp_path):
    from core.pipeline import explain_images, explain_loaded, output_stem

    explainer = EchoExplainer(lang="en")
    inputs = [
        photos["same_a"],
        photos["broken"],
        photos["same_b"],
        photos["missing"],
        photos["coffee"],
    ]
    results = list(
        explain_images(
            inputs, tiny, explainer, lang="en", top_k=2, out_dir=tmp_path / "out", batch_size=2
        )
    )
    assert [r.path for r in results] == [str(p) for p in inputs]
    assert [r.error is None for r in results] == [True, False, True, False, True]
    assert "broken.jpg" in results[1].error and "missing.jpg" in results[3].error
    assert "\n" not in results[1].error + results[3].error
    good = [r for r in results if r.ok]
    # Batches of two loaded images: one explain_batch call per batch.
    assert [r.explanation.details["n"] for r in good] == [2, 2, 1]
    for r in good:
        assert len(r.predictions) == 2 and r.predictions[0][0] in COLOURS_EN
        assert r.predictions[0][1] >= r.predictions[1][1]
        assert r.pred_index == COLOURS_EN.index(r.predictions[0][0])
        assert r.probs.shape == (3,) and abs(float(r.probs.sum()) - 1) < 1e-4
        assert r.cam.shape == (64, 64) and r.view.size == (64, 64)
        assert float(r.cam.min()) >= 0.0 and float(r.cam.max()) <= 1.0
        assert r.explanation.text == f"label={r.predictions[0][0]} lang=en"
        assert len(r.sha256) == 64
        for attr, suffix in (
            ("overlay_path", "_overlay.png"),
            ("panel_path", "_panel.png"),
            ("marks_path", "_marks.png"),
            ("thumb_path", "_thumb.jpg"),
        ):
            path = Path(getattr(r, attr))
            assert path.is_file() and path.name.endswith(suffix)
        assert Image.open(r.panel_path).size == (2 * 64 + 8, 64)
    # Two inputs called same.png get distinct pictures.
    assert good[0].overlay_path != good[1].overlay_path
    assert output_stem(photos["same_a"]) != output_stem(photos["same_b"])
    assert output_stem("dir/トラ 猫.png").startswith("トラ_猫-")

    japanese = EchoExplainer(lang="ja")
    blind = explain_loaded(
        tiny,
        japanese,
        [Image.open(photos["coffee"]).convert("RGB")],
        paths=["mem"],
        mode="blind",
        lang="ja",
        top_k=5,
    )
    assert blind[0].path == "mem" and blind[0].overlay_path is None
    assert japanese.requests[-1].label is None
    assert [p[0] for p in blind[0].predictions][:1] and len(blind[0].predictions) == 3
    assert blind[0].predictions[0][0] in COLOURS_JA and japanese.requests[-1].task == "色を当てる"
    record = blind[0].to_json()
    assert record["error"] is None and record["predictions"][0]["label"] in COLOURS_JA
    for p in record["predictions"]:  # the localized name, the class index, the model's name
        assert p["label"] == COLOURS_JA[p["index"]] and p["model_label"] == COLOURS_EN[p["index"]]
    json.dumps(record, ensure_ascii=False)
    # every entry point checks the mode the same way (BatchOptions.settled), before any pass
    image = Image.open(photos["coffee"]).convert("RGB")
    with pytest.raises(WordcamError, match="unknown mode 'blnd'; use informed or blind"):
        explain_loaded(tiny, japanese, [image], mode="blnd")
    with pytest.raises(WordcamError, match="unknown mode 'blnd'"):
        next(explain_images([photos["coffee"]], tiny, japanese, mode="blnd"))


@needs_attribution
def test_worker_threads_give_the_serial_results(tiny, photos, tmp_path):
    """The GPU path's decode/render threads change when work happens, not what comes out."""
    from core.pipeline import explain_images, io_threads_for

    assert io_threads_for(tiny) == 0  # on the CPU: no threads, today's serial loop
    inputs = [photos[k] for k in ("same_a", "broken", "chelsea", "missing", "coffee", "same_b")]
    runs = {}
    for threads in (0, 3):
        out = tmp_path / f"out{threads}"
        runs[threads] = list(
            explain_images(
                inputs,
                tiny,
                EchoExplainer(lang="en"),
                top_k=2,
                out_dir=out,
                batch_size=2,
                io_threads=threads,
            )
        )
    serial, threaded = runs[0], runs[3]
    assert [r.path for r in threaded] == [str(p) for p in inputs]
    for a, b in zip(serial, threaded, strict=True):
        assert (a.error is None) == (b.error is None) and a.sha256 == b.sha256
        if a.error is not None:
            assert a.error == b.error
            continue
        # Batches differ (two readable images vs two inputs), so floats agree to rounding.
        assert [n for n, _ in a.predictions] == [n for n, _ in b.predictions]
        assert a.top_indices == b.top_indices and a.model_labels == b.model_labels
        np.testing.assert_allclose(
            [p for _, p in a.predictions], [p for _, p in b.predictions], rtol=1e-5
        )
        np.testing.assert_allclose(a.cam, b.cam, atol=1e-4)
        for attr in ("overlay_path", "panel_path", "marks_path"):
            assert Path(getattr(b, attr)).is_file()
        assert Path(b.thumb_path).read_bytes() == Path(a.thumb_path).read_bytes()


@needs_attribution
@pytest.mark.skipif(
    not HAS_IMAGENET, reason="the default grounded explainer needs core/models/imagenet.py"
)
def test_cli_human_output_folder_and_blind_english(tiny, photos, tmp_path, capsys):
    out_dir = tmp_path / "pictures"
    code, out, err = run_cli(
        capsys,
        str(photos["same_a"].parent.parent),
        "--model",
        "tinytest",
        "--lang",
        "en",
        "--mode",
        "blind",
        "--top-k",
        "2",
        "--out",
        str(out_dir),
    )
    assert code == 0, err
    assert err == ""
    # The folder expands to its four images, each shown with predictions and overlay.
    assert out.count("overlay: ") == 4 and out.count("  1. ") == 4 and out.count("  2. ") == 4
    assert "same.png" in out and "%" in out
    assert "% of the heat" in out and "classified as" not in out  # grounded, English, blind
    assert len(list(out_dir.glob("*_overlay.png"))) == 4


@needs_attribution
def test_cli_user_mistakes_are_one_line(tiny, photos, tmp_path, capsys):
    code, out, err = run_cli(capsys, str(photos["coffee"]), "--top-k", "0")
    assert code == 1 and "--top-k" in err and err.count("\n") == 1
    empty = tmp_path / "empty"
    empty.mkdir()
    code, out, err = run_cli(capsys, str(empty), "--model", "tinytest")
    assert code == 1 and "no image files" in err and err.count("\n") == 1
    code, out, err = run_cli(
        capsys, str(photos["coffee"]), "--model", "tinytest", "--base-url", "http://x"
    )
    assert code == 1 and "grounded" in err and err.count("\n") == 1 and "Traceback" not in err
    code, out, err = run_cli(
        capsys, str(photos["missing"]), "--model", "tinytest", "--out", str(tmp_path)
    )
    assert code == 1 and err.strip().endswith("missing.jpg: file not found") and out == ""


@needs_attribution
@pytest.mark.skipif(
    not HAS_IMAGENET, reason="core/models/imagenet.py (offline ImageNet model) not present yet"
)
def test_cli_json_on_real_photos_with_broken_and_missing(photos, tmp_path, capsys):
    out_dir = tmp_path / "explain"
    args = [str(photos[k]) for k in ("chelsea", "broken", "coffee", "missing")]
    code, out, err = run_cli(capsys, *args, "--json", "--out", str(out_dir))
    assert code == 1
    records = [json.loads(line) for line in out.splitlines()]
    assert [r["path"] for r in records] == args
    good = [r for r in records if r["error"] is None]
    bad = [r for r in records if r["error"] is not None]
    assert len(good) == 2 and len(bad) == 2
    for r in bad:
        assert "\n" not in r["error"] and Path(r["path"]).name in r["error"]
        assert r["predictions"] == [] and r["overlay"] is None and r["explanation"] is None
    chelsea, coffee = good
    for r in good:
        assert len(r["predictions"]) == 3 and Path(r["overlay"]).is_file()
        assert set(r["predictions"][0]) == {"index", "label", "model_label", "prob"}
        assert r["explanation"] and r["predictions"][0]["label"] in r["explanation"]  # informed
    # index, the localized name and the model's own (English ImageNet) name of one class.
    from core.models.imagenet import imagenet_labels

    names = imagenet_labels()
    for r in good:
        for p in r["predictions"]:
            assert p["label"] == names["ja"][p["index"]]
            assert p["model_label"] == names["en"][p["index"]]
    assert "猫" in chelsea["predictions"][0]["label"] and "猫" in chelsea["explanation"]
    assert "cat" in chelsea["predictions"][0]["model_label"].lower()
    assert "エスプレッソ" in coffee["explanation"] or "カップ" in coffee["explanation"]
    # stderr: one line per broken input, naming the file.
    lines = err.strip().splitlines()
    assert len(lines) == 2 and "broken.jpg" in lines[0] and "missing.jpg" in lines[1]


def test_explain_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from core.cli import main\n"
        "try:\n    main(['explain', '--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "print('OK')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (
        "--explainer" in done.stdout and "--top-k" in done.stdout and done.stdout.endswith("OK\n")
    )


def test_pipeline_rejects_unknown_mode(tiny):
    from core.errors import WordcamError
    from core.pipeline import explain_images

    with pytest.raises(WordcamError, match="mode"):
        list(explain_images([], tiny, EchoExplainer(), mode="sideways"))


@needs_attribution
def test_the_explainer_is_the_one_channel_for_the_language(tiny, photos):
    from core.errors import WordcamError
    from core.explainers.base import Explanation
    from core.pipeline import answer_language, explain_images

    english = EchoExplainer(lang="en")
    (result,) = explain_images([photos["coffee"]], tiny, english)  # no lang: the explainer's
    assert result.predictions[0][0] in COLOURS_EN and result.explanation.text.endswith("lang=en")
    with pytest.raises(WordcamError, match="answers in 'en', not 'ja'"):
        list(explain_images([photos["coffee"]], tiny, english, lang="ja"))
    (result,) = explain_images([photos["coffee"]], tiny, "echo", lang="en")  # built for lang
    assert result.predictions[0][0] in COLOURS_EN and result.explanation.text.endswith("lang=en")
    (result,) = explain_images([photos["coffee"]], tiny, "echo")
    assert result.predictions[0][0] in COLOURS_JA and result.explanation.text.endswith("lang=ja")

    class Undeclared:  # a plugin without ``lang``: the caller's language, else Japanese
        name = "undeclared"

        def explain_batch(self, requests):
            return [Explanation(text="x") for _ in requests]

    assert answer_language(Undeclared(), "en") == "en" and answer_language(Undeclared()) == "ja"


def test_image_result_json_covers_explainer_errors():
    from core.explainers.base import Explanation
    from core.pipeline import ImageResult

    result = ImageResult(
        path="x.jpg",
        predictions=[("a", 0.5)],
        explanation=Explanation(text="", error="rate limited"),
    )
    record = result.to_json()
    assert record["error"] == "rate limited" and record["explanation"] is None
    assert record["predictions"] == [{"label": "a", "prob": 0.5}]
    assert np.isfinite(record["predictions"][0]["prob"])
