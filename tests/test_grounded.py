"""The offline grounded explainer: regions, colours, crop-model objects, ja/en, blind/informed."""

from __future__ import annotations

import importlib.util
import re

import numpy as np
import pytest
from PIL import Image

from core.colours import COLOUR_KEYS
from core.errors import ExplainerError
from core.explainers import load_explainer
from core.explainers.base import ExplainRequest
from core.explainers.grounded import GroundedExplainer
from core.explainers.naming import LEGACY_RULE
from core.explainers.region_colours import colour_keys
from core.models.base import Classifier, Preprocessing

HAS_IMAGENET = importlib.util.find_spec("core.models.imagenet") is not None
FRUITS_EN = ["apple", "banana", "cherry", "grape"]
FRUITS_JA = ["リンゴ", "バナナ", "サクランボ", "ブドウ"]


@pytest.fixture(scope="module")
def tiny_crop_model() -> Classifier:
    """A small random torchvision network standing in for the ImageNet crop model."""
    import torch
    import torchvision

    torch.manual_seed(0)
    module = torchvision.models.resnet18(weights=None, num_classes=len(FRUITS_EN)).eval()
    return Classifier(
        module=module,
        labels=FRUITS_EN,
        preprocess=Preprocessing(image_size=64, resize=73),
        spec="tiny-fruits",
        localized_labels={"en": FRUITS_EN, "ja": FRUITS_JA},
    )


def blob(size: int, cx: float, cy: float, sigma: float) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size]
    return np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2.0 * sigma**2)).astype(np.float32)


def two_colour_image(size: int = 128) -> Image.Image:
    """Left half pure red, right half white."""
    arr = np.full((size, size, 3), 255, np.uint8)
    arr[:, : size // 2] = (230, 10, 10)
    return Image.fromarray(arr)


def request(image, cam, label=None, predictions=None) -> ExplainRequest:
    return ExplainRequest(
        image=image,
        cam=cam,
        predictions=predictions if predictions is not None else [("河川敷", 0.7), ("公園", 0.2)],
        label=label,
        task="画像から撮影場所を特定する",
        key="k",
    )


def sentences(text: str, lang: str) -> list[str]:
    parts = text.split("。") if lang == "ja" else re.split(r"(?<=\.)\s", text)
    return [p for p in parts if p.strip()]


def test_colour_names_from_pixels(tiny_crop_model):
    index = {k: i for i, k in enumerate(COLOUR_KEYS)}
    hsv = np.array(
        [
            [0, 0.9, 0.9],
            [0, 0.0, 0.95],
            [0, 0.0, 0.5],
            [0, 0.5, 0.05],
            [25, 0.8, 0.45],
            [35, 0.25, 0.85],
            [220, 0.8, 0.8],
            [120, 0.7, 0.6],
            [350, 0.9, 0.9],
        ]
    )
    keys = colour_keys(hsv[:, 0], hsv[:, 1], hsv[:, 2])
    assert [COLOUR_KEYS[k] for k in keys] == [
        "red",
        "white",
        "grey",
        "black",
        "brown",
        "beige",
        "blue",
        "green",
        "red",
    ]
    assert index["red"] == keys[0]

    explainer = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0)
    english = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0, lang="en")
    image = two_colour_image()
    left, right = blob(128, 30, 64, 10), blob(128, 98, 64, 10)
    out = explainer.explain_batch([request(image, left)])
    out += english.explain_batch([request(image, right)])
    assert "赤" in out[0].text and "白" not in out[0].text
    assert "white" in out[1].text and "red" not in out[1].text
    assert out[0].details["regions"][0]["colors"][0]["color"] == "red"


def test_deterministic_and_in_both_languages(tiny_crop_model):
    def both(model):
        # the old rule: every region named, the side one too (its heat share is under
        # the default rule's min_heat and the tiny model is never sure)
        ja = GroundedExplainer(crop_model=model, min_prob=0.0, naming=LEGACY_RULE)
        en = GroundedExplainer(crop_model=model, min_prob=0.0, lang="en", naming=LEGACY_RULE)
        return ja.explain_batch([requests[0]]) + en.explain_batch([requests[1]])

    rng = np.random.default_rng(1)
    image = Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    cam = blob(96, 25, 20, 8) + 0.7 * blob(96, 70, 75, 8)
    requests = [request(image, cam, label="河川敷"), request(image, cam, label="river")]
    first = both(tiny_crop_model)
    second = both(tiny_crop_model)
    assert [e.text for e in first] == [e.text for e in second]
    assert [e.details for e in first] == [e.details for e in second]
    ja, en = first
    assert ja.error is None and en.error is None
    assert "左上" in ja.text and "右下" in ja.text and "熱の" in ja.text
    assert not re.search(r"[A-Za-z]", ja.text)
    assert "upper left" in en.text and "lower right" in en.text and "of the heat" in en.text
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", en.text)
    for e, lang in ((ja, "ja"), (en, "en")):
        assert 2 <= len(sentences(e.text, lang)) <= 5
        regions = e.details["regions"]
        assert [r["index"] for r in regions] == [1, 2]
        assert all(r["candidates"] for r in regions)
        names = FRUITS_JA if lang == "ja" else FRUITS_EN
        assert all(c["label"] in names for r in regions for c in r["candidates"])
        assert regions[0]["candidates"][0]["label"] in e.text
    assert "河川敷と判断された" in ja.text
    assert "classified as river" in en.text


def test_an_english_explainer_answers_in_english_whatever_the_request(tiny_crop_model):
    # The language is the explainer's, chosen once at construction; a request carries none.
    with pytest.raises(TypeError):
        ExplainRequest(image=None, cam=None, predictions=[], label=None, task="", lang="ja")
    english = load_explainer("grounded", lang="en", crop_model=tiny_crop_model, min_prob=0.0)
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    cam = blob(96, 25, 20, 8) + 0.7 * blob(96, 70, 75, 8)
    japanese = request(image, cam, predictions=[("河川敷", 0.7), ("公園", 0.2)])
    flat = request(image, np.zeros((96, 96), np.float32))
    for e in english.explain_batch([japanese, flat, request(image, cam, label="river")]):
        assert e.error is None and e.details["lang"] == "en"
        assert e.text and not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", e.text), e.text
        assert all(r["position_name"].isascii() for r in e.details["regions"])


def test_crops_in_small_chunks_give_the_same_answers(tiny_crop_model, monkeypatch):
    import core.explainers.grounded as grounded

    rng = np.random.default_rng(2)
    image = Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    cam = blob(96, 25, 20, 8) + 0.7 * blob(96, 70, 75, 8)
    requests = [request(image, cam), request(image, cam[::-1].copy())]
    whole = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0).explain_batch(requests)
    monkeypatch.setattr(grounded, "CROP_CHUNK", 1)
    chunked = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0).explain_batch(requests)
    assert [e.text for e in whole] == [e.text for e in chunked]


def test_crop_passes_use_few_fixed_batch_sizes(tiny_crop_model):
    """Crops are padded to 1/2/4/8/16 per pass (flat memory), answers unchanged by padding."""
    rng = np.random.default_rng(3)
    image = Image.fromarray(rng.integers(0, 256, (96, 96, 3), dtype=np.uint8))
    cam = blob(96, 25, 20, 8) + 0.7 * blob(96, 70, 75, 8)
    requests = [request(image, cam if i % 2 else cam[::-1].copy()) for i in range(11)]
    sizes: list[int] = []
    hook = tiny_crop_model.inference_module.register_forward_pre_hook(
        lambda _module, args: sizes.append(int(args[0].shape[0]))
    )
    try:
        explainer = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0)
        batched = explainer.explain_batch(requests)
    finally:
        hook.remove()
    assert sizes and all(n in (1, 2, 4, 8, 16) for n in sizes)
    assert sum(sizes) > len(requests)  # more than one crop per photo, padded to a power of two
    one_by_one = [explainer.explain_batch([r])[0] for r in requests]
    assert [e.text for e in batched] == [e.text for e in one_by_one]


def test_blind_mode_never_mentions_the_label(tiny_crop_model):
    explainer = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0)
    image = two_colour_image(96)
    cam = blob(96, 48, 48, 12)
    blind_a = request(image, cam, label=None, predictions=[("河川敷", 0.9)])
    blind_b = request(image, cam, label=None, predictions=[("体育館", 0.6), ("海岸", 0.3)])
    informed = request(image, cam, label="河川敷", predictions=[("河川敷", 0.9)])
    a, b, c = explainer.explain_batch([blind_a, blind_b, informed])
    assert "河川敷" not in a.text and "体育館" not in b.text and "海岸" not in b.text
    assert a.text == b.text  # the predictions are never read in blind mode
    assert a.details["mode"] == "blind" and "label" not in a.details
    assert "河川敷" in c.text and c.details["mode"] == "informed"
    assert c.text.startswith(a.text)


def test_informed_names_the_regions_that_support_the_label(tiny_crop_model):
    explainer = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0)
    image = two_colour_image(96)
    cam = blob(96, 48, 48, 12)
    (blind,) = explainer.explain_batch([request(image, cam)])
    seen = blind.details["regions"][0]["candidates"][0]["label"]
    (informed,) = explainer.explain_batch([request(image, cam, label=seen)])
    assert informed.details["supported_by"] == [1]
    assert informed.text.endswith(f"特に中央の領域が{seen}と判断された主な根拠と考えられます。")
    (other,) = explainer.explain_batch([request(image, cam, label="河川敷")])
    assert other.details["supported_by"] == []
    assert "はっきり確認できません" in other.text


def test_bad_request_fails_alone_and_options_are_checked(tiny_crop_model):
    explainer = GroundedExplainer(crop_model=tiny_crop_model)
    image = two_colour_image(64)
    good = request(image, blob(64, 32, 32, 8))
    bad = request(image, np.ones((2, 3, 4, 5), np.float32))
    flat = request(image, np.zeros((64, 64), np.float32), label="河川敷")
    out = explainer.explain_batch([bad, good, flat])
    assert out[0].error and "\n" not in out[0].error and out[0].text == ""
    assert out[1].error is None and out[1].text
    assert out[2].error is None and "河川敷" in out[2].text and out[2].details["regions"] == []
    assert explainer.explain_batch([]) == []
    with pytest.raises(ExplainerError, match="--base-url"):
        GroundedExplainer(base_url="http://x")
    with pytest.raises(ExplainerError, match="language"):
        GroundedExplainer(lang="fr")
    assert isinstance(load_explainer("grounded", lang="en"), GroundedExplainer)
    assert load_explainer("grounded:torchvision:resnet50").crop_spec == "torchvision:resnet50"
    assert GroundedExplainer(crop_model="imagenet").crop_spec == "imagenet"


@pytest.mark.skipif(
    not HAS_IMAGENET, reason="core/models/imagenet.py (offline ImageNet model) not present yet"
)
def test_real_photo_chelsea_is_a_cat_in_japanese_and_english():
    from skimage import data

    from core.models import load_model

    model = load_model("imagenet")
    view = model.preprocess.crop(Image.fromarray(data.chelsea()))
    size = view.size[0]
    cam = blob(size, size * 0.45, size * 0.5, size * 0.2)
    (ja,) = GroundedExplainer(crop_model=model).explain_batch([request(view, cam)])
    (en,) = GroundedExplainer(crop_model=model, lang="en").explain_batch([request(view, cam)])
    assert ja.error is None and en.error is None
    assert "猫" in ja.text, ja.text
    assert "cat" in en.text.lower() or "tabby" in en.text.lower(), en.text
    assert ja.details["crop_model"] == "imagenet"
    top = ja.details["regions"][0]["candidates"][0]
    assert top["label"] in model.localized_labels["ja"] and top["prob"] > 0.1


def test_four_regions_are_all_described_in_at_most_five_sentences(tiny_crop_model):
    explainer = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0)
    image = two_colour_image(128)
    cam = sum(blob(128, x, y, 8) for x, y in ((25, 25), (100, 25), (25, 100), (100, 100)))
    blind, informed = explainer.explain_batch(
        [request(image, cam), request(image, cam, label="河川敷")]
    )
    for e in (blind, informed):
        assert len(e.details["regions"]) == 4
        assert len(sentences(e.text, "ja")) == 5
        assert all(name in e.text for name in ("左上", "右上", "左下", "右下"))
    assert blind.text.startswith("モデルは主に4か所の領域に注目しています。")
    assert informed.text.endswith("はっきり確認できません。")  # no opening: five sentences at most


def test_region_views_are_squares_around_the_peak_with_the_outside_blurred():
    from core.explainers.grounded import MIN_VIEW_FRACTION, region_peak, region_views
    from core.regions import find_regions

    rng = np.random.default_rng(4)
    image = Image.fromarray(rng.integers(0, 256, (128, 128, 3), dtype=np.uint8))
    cam = blob(128, 40, 70, 10)
    (region,) = find_regions(cam, max_regions=4)
    assert region_peak(cam, region) == (40.5, 70.5)
    longest = max(region.bbox[2] - region.bbox[0], region.bbox[3] - region.bbox[1])
    tight, wide = region_views(image, cam, region, views=((0.6, False), (1.0, True)))
    assert tight.size == (round(max(0.6 * longest, MIN_VIEW_FRACTION * 128)),) * 2
    assert wide.size == (longest, longest)
    # the tight view is the plain photo around the peak; the wide one is sharp only where hot
    side = tight.size[0]
    left, top = round(40.5 - side / 2), round(70.5 - side / 2)
    assert np.array_equal(
        np.asarray(tight), np.asarray(image.crop((left, top, left + side, top + side)))
    )
    wide_arr = np.asarray(wide, dtype=np.float64)
    plain = np.asarray(image.crop(_box_of(wide, 40.5, 70.5)), dtype=np.float64)
    centre, corner = wide.size[0] // 2, 1
    assert np.abs(wide_arr[centre, centre] - plain[centre, centre]).max() < 1.0
    assert wide_arr[: corner + 3, : corner + 3].std() < plain[: corner + 3, : corner + 3].std() / 2


def _box_of(view: Image.Image, cx: float, cy: float) -> tuple[int, int, int, int]:
    side = view.size[0]
    left, top = round(cx - side / 2), round(cy - side / 2)
    return (left, top, left + side, top + side)


def test_candidates_rank_by_the_mean_probability_over_a_regions_views(tiny_crop_model):
    explainer = GroundedExplainer(crop_model=tiny_crop_model, min_prob=0.0)
    rng = np.random.default_rng(5)
    views = [
        [Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)) for _ in range(n)]
        for n in (2, 1, 3)
    ]
    found = explainer._candidates(views)
    probs = explainer._crop_probs([v for region in views for v in region])
    means = [probs[0:2].mean(0), probs[2:3].mean(0), probs[3:6].mean(0)]
    for naming, mean in zip(found, means, strict=True):
        best = np.argsort(-mean, kind="stable")[:2]
        assert [k for k, _ in naming.specific] == [int(k) for k in best]
        assert [p for _, p in naming.specific] == pytest.approx([float(mean[k]) for k in best])
        assert naming.broader is None  # not an ImageNet model: no broader words
