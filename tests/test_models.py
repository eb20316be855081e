"""Model loading: the offline ImageNet model, label files, torchvision checkpoints, model dirs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from core.errors import ModelError
from core.models import Classifier, load_model
from core.models.arch import (
    build_module,
    default_preprocessing,
    default_target_layer,
    head_parameters,
    read_state_dict,
)
from core.models.imagenet import (
    ARCH,
    IMAGENET_TASK,
    TARGET_LAYER,
    efficientnet_lite0,
    load_imagenet,
    read_label_file,
    weights_path,
)
from core.models.model_dir import INFO_FILE, WEIGHTS_FILE, load_model_dir, save_model_dir
from core.models.torchvision_models import load_torchvision, read_labels

WARDS = ["東京都中央区", "千代田区", "新宿区", "江東区", "渋谷区", "港区", "北海道旭川市"]


def _photo(name: str) -> Image.Image:
    from skimage import data

    return Image.fromarray(getattr(data, name)())


def _top(model: Classifier, image: Image.Image, k: int = 3) -> list[tuple[str, float]]:
    probs = model.predict_proba([image])[0]
    order = np.argsort(probs)[::-1][:k]
    return [(model.labels[i], float(probs[i])) for i in order]


# --- the offline ImageNet model -------------------------------------------------------------


def test_imagenet_recognises_cat_and_espresso() -> None:
    model = load_model("imagenet")
    cats = {"tabby", "tiger cat", "Egyptian cat", "Persian cat", "Siamese cat"}
    top_cat = _top(model, _photo("chelsea"))
    assert cats & {name for name, _ in top_cat}, top_cat
    top_coffee = _top(model, _photo("coffee"))
    assert {"espresso", "cup"} & {name for name, _ in top_coffee}, top_coffee
    assert top_coffee[0][0] == "espresso" and top_coffee[0][1] > 0.5


def test_imagenet_classifier_fields_and_cache() -> None:
    model = load_imagenet()
    assert model is load_model("imagenet")  # cached per process
    assert model.spec == "imagenet" and model.arch == ARCH
    assert model.task == IMAGENET_TASK
    assert model.target_layer == TARGET_LAYER
    assert model.num_classes == 1000
    assert model.label_names("ja")[967] == "エスプレッソ"
    assert model.label_names("en")[967] == "espresso"
    assert not model.module.training
    other = load_imagenet(task="別のタスク")
    assert other.task == "別のタスク" and other.module is model.module


def test_imagenet_rejects_foreign_options() -> None:
    with pytest.raises(ModelError, match="--weights"):
        load_imagenet(weights="x.pth")
    with pytest.raises(ModelError, match="unknown ImageNet model"):
        load_model("imagenet:resnet50")


def test_lite0_keys_match_checkpoint_exactly() -> None:
    state = torch.load(weights_path(), weights_only=True, map_location="cpu")
    module = efficientnet_lite0()
    assert list(module.state_dict()) == list(state)
    assert all(module.state_dict()[k].shape == v.shape for k, v in state.items())


def test_lite0_is_fx_traceable_and_target_layer_is_last_feature_map() -> None:
    import torch.fx

    module = load_imagenet().module
    x = torch.randn(1, 3, 96, 96)
    traced = torch.fx.symbolic_trace(module)
    with torch.no_grad():
        assert torch.allclose(traced(x), module(x), atol=1e-4)
    seen: dict[str, torch.Tensor] = {}
    layer = module.get_submodule(TARGET_LAYER)
    handle = layer.register_forward_hook(lambda m, i, o: seen.setdefault("out", o))
    try:
        x.requires_grad_(True)
        module(x)[0, 0].backward()  # hooks + autograd work (no in-place ops)
    finally:
        handle.remove()
        module.zero_grad(set_to_none=True)  # the module is shared (cached) within the process
    assert seen["out"].shape == (1, 1280, 3, 3)  # input / 32
    assert x.grad is not None and torch.isfinite(x.grad).all()


def test_lite0_module_pickles_with_importable_classes() -> None:
    import pickle

    module = efficientnet_lite0(5)
    clone = pickle.loads(pickle.dumps(module))
    assert type(clone).__module__ == "core.models.imagenet"
    assert list(clone.state_dict()) == list(module.state_dict())


# --- label files ----------------------------------------------------------------------------


def test_label_files_have_1000_aligned_names() -> None:
    en, ja = read_label_file("en"), read_label_file("ja")
    assert len(en) == len(ja) == 1000
    assert all(name.strip() for name in ja)
    assert len(set(ja)) == 1000, "Japanese names must be distinct"
    assert not any(ch in name for name in ja for ch in "()（）")
    assert (en[281], ja[281]) == ("tabby", "トラ猫")
    assert (en[920], ja[920]) == ("traffic light", "信号機")
    assert (en[968], ja[968]) == ("cup", "コーヒーカップ")


def test_read_labels_lines_and_json(tmp_path) -> None:
    lines = tmp_path / "labels.txt"
    lines.write_text("\ufeff" + "\n".join(WARDS) + "\n\n", encoding="utf-8")
    assert read_labels(lines) == WARDS
    js = tmp_path / "labels.json"
    js.write_text(json.dumps(WARDS, ensure_ascii=False), encoding="utf-8")
    assert read_labels(js) == WARDS
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(ModelError, match="invalid JSON"):
        read_labels(bad)
    with pytest.raises(ModelError, match="not found"):
        read_labels(tmp_path / "missing.txt")


# --- torchvision:ARCH -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def resnet18_files(tmp_path_factory):
    """A random 7-class ResNet-18 saved as a plain state_dict, plus a Japanese labels file.

    Module-scoped to save time; tests only read these files.
    """
    import torchvision

    tmp_path = tmp_path_factory.mktemp("resnet18")
    torch.manual_seed(0)
    module = torchvision.models.resnet18(weights=None, num_classes=len(WARDS)).eval()
    weights = tmp_path / "model.pth"
    torch.save(module.state_dict(), weights)
    labels = tmp_path / "labels.txt"
    labels.write_text("\n".join(WARDS) + "\n", encoding="utf-8")
    return module, weights, labels


def _same_logits(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return torch.allclose(a.eval()(x), b.eval()(x), atol=1e-5)


def test_torchvision_loader_state_dict_and_japanese_labels(resnet18_files) -> None:
    original, weights, labels = resnet18_files
    model = load_model(
        "torchvision:resnet18", weights=str(weights), labels=str(labels), task="撮影場所の特定"
    )
    assert model.labels == WARDS
    assert model.arch == model.spec == "torchvision:resnet18"
    assert model.task == "撮影場所の特定"
    assert model.target_layer == "layer4"
    assert model.preprocess.image_size == 224
    assert _same_logits(model.module, original)
    probs = model.predict_proba([_photo("chelsea")])
    assert probs.shape == (1, 7) and np.isclose(probs.sum(), 1.0, atol=1e-5)


@pytest.mark.parametrize("wrap", ["state_dict", "model", "model_state_dict"])
def test_torchvision_loader_unwraps_checkpoints_and_module_prefix(
    resnet18_files, tmp_path, wrap
) -> None:
    original, _, labels = resnet18_files
    state = {f"module.{k}": v for k, v in original.state_dict().items()}
    path = tmp_path / "wrapped.pth"
    torch.save({wrap: state, "epoch": 3}, path)
    model = load_torchvision("resnet18", weights=path, labels=labels)
    assert _same_logits(model.module, original)


def test_torchvision_loader_rebuilds_dropout_linear_head(resnet18_files, tmp_path) -> None:
    import torchvision

    _, _, labels = resnet18_files
    custom = torchvision.models.resnet18(weights=None)
    custom.fc = torch.nn.Sequential(torch.nn.Dropout(0.3), torch.nn.Linear(512, len(WARDS)))
    path = tmp_path / "dropout_head.pth"
    torch.save(custom.state_dict(), path)
    model = load_torchvision("resnet18", weights=path, labels=labels)
    assert _same_logits(model.module, custom)
    reloaded = load_model_dir(save_model_dir(model, tmp_path / "dir"))
    assert _same_logits(reloaded.module, custom)
    tuned = build_module("torchvision:resnet18", 3, init_weights=path)
    assert tuned.fc.out_features == 3 and torch.equal(tuned.conv1.weight, custom.conv1.weight)

    custom.fc = torch.nn.Sequential(
        torch.nn.Linear(512, 64), torch.nn.ReLU(), torch.nn.Linear(64, len(WARDS))
    )
    deep = tmp_path / "deep_head.pth"
    torch.save(custom.state_dict(), deep)
    with pytest.raises(ModelError, match="custom module"):
        load_torchvision("resnet18", weights=deep, labels=labels)


def test_torchvision_loader_refuses_pickled_full_model(resnet18_files, tmp_path) -> None:
    original, _, labels = resnet18_files
    path = tmp_path / "full_model.pth"
    torch.save(original, path)
    with pytest.raises(ModelError, match=r"torch\.save\(model\.state_dict\(\), path\)") as err:
        load_torchvision("resnet18", weights=path, labels=labels)
    assert "\n" not in str(err.value)


def test_torchvision_loader_label_count_mismatch(resnet18_files, tmp_path) -> None:
    _, weights, _ = resnet18_files
    six = tmp_path / "six.txt"
    six.write_text("\n".join(WARDS[:6]), encoding="utf-8")
    with pytest.raises(ModelError, match=r"6 class names.*7 outputs"):
        load_torchvision("resnet18", weights=weights, labels=six)


def test_torchvision_loader_errors(resnet18_files, tmp_path) -> None:
    _, weights, labels = resnet18_files
    with pytest.raises(ModelError, match="list_models"):
        load_model("torchvision:resnet19", weights=str(weights), labels=str(labels))
    with pytest.raises(ModelError, match="offline"):
        load_model("torchvision:resnet18", labels=str(labels))
    with pytest.raises(ModelError, match="do not match|no fc.weight|shape"):
        load_torchvision("resnet34", weights=weights, labels=labels)
    with pytest.raises(ModelError, match="not found"):
        load_torchvision("resnet18", weights=tmp_path / "nope.pth", labels=labels)
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"this is not a checkpoint")
    with pytest.raises(ModelError, match="not a readable PyTorch checkpoint"):
        load_torchvision("resnet18", weights=garbage, labels=labels)


def test_torchvision_random_init_and_default_labels(resnet18_files, tmp_path) -> None:
    model = load_torchvision("resnet18", labels=WARDS, random_init=True)
    assert model.num_classes == 7
    import torchvision

    thousand = tmp_path / "imagenet_head.pth"
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), thousand)
    model = load_torchvision("resnet18", weights=thousand)
    assert model.labels[967] == "espresso" and model.label_names("ja")[967] == "エスプレッソ"


# --- arch helpers ---------------------------------------------------------------------------


def test_build_module_variants(tmp_path) -> None:
    import torchvision

    lite = build_module("imagenet", 3)
    assert lite._fc.out_features == 3
    assert [p.shape for p in head_parameters(lite)] == [torch.Size([3, 1280]), torch.Size([3])]
    reference = load_imagenet().module
    assert torch.equal(lite._conv_stem.weight, reference._conv_stem.weight)

    with pytest.raises(ModelError, match="offline"):
        build_module("torchvision:resnet18", 7)
    random = build_module("torchvision:resnet18", 7, pretrained=False)
    assert random.fc.out_features == 7

    base = torchvision.models.resnet18(weights=None)
    path = tmp_path / "imagenet_resnet18.pth"
    torch.save(base.state_dict(), path)
    tuned = build_module("torchvision:resnet18", 7, init_weights=path)
    assert tuned.fc.out_features == 7
    assert torch.equal(tuned.conv1.weight, base.conv1.weight)
    assert [p.shape for p in head_parameters(tuned)] == [torch.Size([7, 512]), torch.Size([7])]

    assert default_preprocessing("torchvision:inception_v3").image_size == 299
    assert default_target_layer("torchvision:convnext_tiny") == "features"
    assert default_target_layer("torchvision:vit_b_16") is None


def test_read_state_dict_rejects_non_state(tmp_path) -> None:
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(ModelError, match="expected a state_dict"):
        read_state_dict(path)
    empty = tmp_path / "empty.pth"
    empty.write_bytes(b"")
    with pytest.raises(ModelError, match="empty"):
        read_state_dict(empty)


# --- model directories ----------------------------------------------------------------------


def test_model_dir_round_trip_and_dispatch(resnet18_files, tmp_path) -> None:
    _, weights, labels = resnet18_files
    model = load_torchvision("resnet18", weights=weights, labels=labels, task="撮影場所の特定")
    out = save_model_dir(model, tmp_path / "trained", extra={"epochs": 2})
    info = json.loads((out / INFO_FILE).read_text(encoding="utf-8"))
    assert info["format"] == "wordcam-model/1" and info["epochs"] == 2
    assert info["labels"] == WARDS and info["arch"] == "torchvision:resnet18"

    loaded = load_model_dir(out)
    assert loaded.labels == WARDS and loaded.task == "撮影場所の特定"
    assert loaded.target_layer == "layer4" and loaded.preprocess == model.preprocess
    assert _same_logits(loaded.module, model.module)
    for spec in (str(out), f"dir:{out}"):
        again = load_model(spec, task="上書き")
        assert again.task == "上書き" and again.labels == WARDS
        assert _same_logits(again.module, model.module)


def test_model_dir_round_trip_lite0_head(tmp_path) -> None:
    module = build_module("imagenet", 3)
    from core.models.imagenet import PREPROCESSING

    clf = Classifier(
        module=module,
        labels=["犬", "猫", "鳥"],
        preprocess=PREPROCESSING,
        target_layer=TARGET_LAYER,
        arch=ARCH,
    )
    loaded = load_model_dir(save_model_dir(clf, tmp_path / "lite"))
    assert loaded.preprocess == PREPROCESSING and loaded.labels == ["犬", "猫", "鳥"]
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert torch.allclose(loaded.module(x), module.eval()(x), atol=1e-5)


def test_model_dir_errors(resnet18_files, tmp_path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_model_dir(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelError, match=INFO_FILE):
        load_model_dir(empty)
    (empty / INFO_FILE).write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelError, match="invalid JSON"):
        load_model_dir(empty)
    (empty / INFO_FILE).write_text(json.dumps({"format": "other/9"}), encoding="utf-8")
    with pytest.raises(ModelError, match="not supported"):
        load_model_dir(empty)

    _, weights, labels = resnet18_files
    out = save_model_dir(
        load_torchvision("resnet18", weights=weights, labels=labels), tmp_path / "m"
    )
    with pytest.raises(ModelError, match="--weights"):
        load_model_dir(out, weights=str(weights))
    (out / WEIGHTS_FILE).unlink()
    with pytest.raises(ModelError, match="weights.pt is missing"):
        load_model_dir(out)
    with pytest.raises(ModelError, match="arch"):
        save_model_dir(
            Classifier(module=torch.nn.Linear(2, 2), labels=["a", "b"], preprocess=None),  # type: ignore[arg-type]
            tmp_path / "x",
        )


# --------------------------------------------------------------------------- inference copy


def test_inference_copy_folds_batch_norm_and_keeps_outputs_and_names() -> None:
    from core.models.fold import folded_convolutions, inference_module

    classifier = load_imagenet()
    original = classifier.module
    before = {k: v.clone() for k, v in original.state_dict().items()}
    fast = classifier.inference_module
    assert fast is inference_module(original) and fast is not original  # cached, a copy
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in fast.modules())
    assert len(folded_convolutions(original)) == 49  # every conv of Lite0 had a batch norm
    # Symmetric "same" padding is done by plain convolutions; stride-2 ones still pad themselves.
    kinds = {type(m).__name__ for m in fast.modules() if isinstance(m, torch.nn.Conv2d)}
    assert kinds == {"Conv2d", "Conv2dSame"}
    for name, _ in original.named_modules():  # every layer name still resolves
        fast.get_submodule(name)
    x = torch.randn(3, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        want = original(x)
        got = fast(x.contiguous(memory_format=torch.channels_last))
    assert (want - got).abs().max() <= 1e-4 * want.abs().max()
    assert torch.equal(want.argmax(1), got.argmax(1))
    np.testing.assert_allclose(classifier.predict_proba(x), torch.softmax(want, 1), atol=1e-5)
    assert all(torch.equal(v, original.state_dict()[k]) for k, v in before.items())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in original.modules())


def test_inference_copy_follows_changes_of_the_original() -> None:
    from core.models.fold import inference_module

    torch.manual_seed(0)
    module = build_module("torchvision:resnet18", num_classes=4, pretrained=False).eval()
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(1))
    first = inference_module(module)
    with torch.no_grad():
        module.bn1.running_var.mul_(4.0)  # changed in place (as training does)
        module.fc.bias.add_(1.0)
    second = inference_module(module)
    assert second is not first
    with torch.inference_mode():
        np.testing.assert_allclose(second(x), module(x), atol=1e-4)


def test_untraceable_modules_are_used_as_they_are() -> None:
    from core.models.fold import inference_module

    class Untraceable(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(3, 4, 3)
            self.bn = torch.nn.BatchNorm2d(4)

        def forward(self, x):
            y = self.bn(self.conv(x))
            return y * 0 if y.mean() > 1e6 else y  # data-dependent: fx cannot trace it

    module = Untraceable().eval()
    assert inference_module(module) is module


# --------------------------------------------------------------------------- inference runtime


@pytest.fixture
def runtime_cache(tmp_path, monkeypatch):
    from core.models import accelerate

    monkeypatch.setenv("WORDCAM_CACHE", str(tmp_path))
    monkeypatch.setenv(accelerate.ENV, "torch")  # restored (unset) after the test
    yield tmp_path
    accelerate.set_runtime(None)


def _small_conv_classifier() -> Classifier:
    from core.models import Preprocessing

    torch.manual_seed(0)
    module = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1),
        torch.nn.BatchNorm2d(8),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(8, 5),
    ).eval()
    with torch.no_grad():
        module[1].running_mean.uniform_(-0.5, 0.5)
        module[1].running_var.uniform_(0.5, 2.0)
    labels = [f"c{i}" for i in range(5)]
    return Classifier(module=module, labels=labels, preprocess=Preprocessing(image_size=32))


def test_runtime_choice_and_errors(runtime_cache, monkeypatch) -> None:
    from core.models import accelerate

    assert accelerate.runtime() == "torch"  # the fixture's choice
    monkeypatch.delenv(accelerate.ENV)
    assert accelerate.DEFAULT == "auto"  # nothing chosen: the fastest installed
    assert accelerate.runtime() == accelerate.available_runtimes()[-1]
    with pytest.raises(ValueError, match="unknown runtime"):
        accelerate.set_runtime("tensorrt")
    monkeypatch.setenv(accelerate.ENV, "auto")
    assert accelerate.runtime() == accelerate.available_runtimes()[-1]
    if "openvino" not in accelerate.available_runtimes():
        with pytest.raises(ValueError, match="not installed"):
            accelerate.set_runtime("openvino")


def test_openvino_forward_equals_torch_and_is_cached_on_disk(runtime_cache) -> None:
    pytest.importorskip("openvino")
    from core.models import accelerate

    classifier = _small_conv_classifier()
    x = torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    want = classifier.predict_proba(x)
    accelerate.set_runtime("openvino")
    got = classifier.predict_proba(x)
    np.testing.assert_allclose(got, want, atol=1e-5)
    runners = accelerate._RUNNERS[classifier.inference_module]
    assert any(type(r).__name__ == "_OpenVinoRunner" for r in runners.values())
    assert len(list(runtime_cache.rglob("*.xml"))) == 1
    # Another batch size reuses the converted graph (dynamic batch).
    np.testing.assert_allclose(classifier.predict_proba(x[:1]), want[:1], atol=1e-5)
    assert len(list(runtime_cache.rglob("*.xml"))) == 1


def test_a_graph_that_does_not_match_torch_falls_back_with_one_line(
    runtime_cache, monkeypatch, caplog
) -> None:
    pytest.importorskip("openvino")
    from core.models import accelerate

    classifier = _small_conv_classifier()
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    want = classifier.predict_proba(x)
    accelerate.set_runtime("openvino")
    monkeypatch.setattr(accelerate, "TOLERANCE", -1.0)  # nothing matches
    with caplog.at_level("WARNING", logger=accelerate.__name__):
        got = classifier.predict_proba(x)
    np.testing.assert_allclose(got, want, atol=1e-6)
    warnings = [r for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1 and "running it in torch" in warnings[0].getMessage()
    assert set(accelerate._RUNNERS[classifier.inference_module].values()) == {None}


def test_the_inference_copy_made_in_inference_mode_still_serves_cams() -> None:
    from core.attribution import attribute_batch

    torch.manual_seed(0)
    module = build_module("torchvision:resnet18", num_classes=3, pretrained=False).eval()
    classifier = Classifier(
        module=module,
        labels=["a", "b", "c"],
        preprocess=default_preprocessing("torchvision:resnet18"),
    )
    x = torch.randn(1, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    classifier.predict_proba(x)  # the copy is first made here, inside inference mode
    assert attribute_batch(classifier, x).maps.shape == (1, 1, 64, 64)


def test_a_batch_built_in_numpy_equals_stacked_tensors() -> None:
    from core.models import Preprocessing

    rng = np.random.default_rng(0)
    views = [Image.fromarray(rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)) for _ in range(3)]
    preprocess = Preprocessing(image_size=32, resize=32)
    batch = preprocess.batch(views, rows=4)
    assert batch.shape == (4, 3, 32, 32)
    assert batch.is_contiguous(memory_format=torch.channels_last)
    assert torch.equal(batch[:3], torch.stack([preprocess.to_tensor(v) for v in views]))
    assert not batch[3].any()


def test_a_cached_graph_is_read_without_converting_again(runtime_cache, monkeypatch) -> None:
    pytest.importorskip("openvino")
    from core.models import accelerate

    ov = accelerate.openvino()

    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(4))
    first = _small_conv_classifier()
    accelerate.set_runtime("openvino")
    want = first.predict_proba(x)  # converted, checked and saved
    monkeypatch.setattr(ov, "convert_model", lambda *a, **k: pytest.fail("converted again"))
    second = _small_conv_classifier()  # the same weights: another process would see the same
    np.testing.assert_allclose(second.predict_proba(x), want, atol=1e-6)
