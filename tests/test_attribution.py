"""core.attribution: CAM maps equal plain pytorch-grad-cam usage, on any torchvision layout.

Random-init models with fixed seeds; torchvision's ViT zero-initialises its classification head
(every gradient map would be 0), so ViT tests re-draw the head weights from N(0, 0.02) with a
fixed seed.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
torchvision = pytest.importorskip("torchvision")
pytest.importorskip("pytorch_grad_cam")

from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget  # noqa: E402

from core import attribution as A  # noqa: E402
from core.attribution import (  # noqa: E402
    CAM_METHODS,
    METHOD_NAMES,
    AttributionError,
    CamResult,
    attribute,
    attribute_batch,
    default_layer,
    resolve_layer,
)
from core.attribution.split import get_split  # noqa: E402
from core.models.base import Classifier, Preprocessing  # noqa: E402

TOL = 1e-4
GRADIENT_METHODS = [m for m in METHOD_NAMES if m != "scorecam"]


def plain_cam(
    module: torch.nn.Module,
    layer: torch.nn.Module,
    batch: torch.Tensor,
    method: str,
    targets: list[int] | None = None,
    reshape: Callable | None = None,
) -> np.ndarray:
    """The way pytorch-grad-cam's README uses it."""
    cam_class = CAM_METHODS[method]
    wrapped = None if targets is None else [ClassifierOutputTarget(int(t)) for t in targets]
    with cam_class(model=module, target_layers=[layer], reshape_transform=reshape) as cam:
        return cam(input_tensor=batch, targets=wrapped)


def vit_reshape(tensor: torch.Tensor) -> torch.Tensor:
    """pytorch-grad-cam tutorial's ViT reshape (class token dropped, square grid)."""
    side = int(round((tensor.shape[1] - 1) ** 0.5))
    result = tensor[:, 1:, :].reshape(tensor.size(0), side, side, tensor.size(2))
    return result.transpose(2, 3).transpose(1, 2)


def nhwc_reshape(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.permute(0, 3, 1, 2)


def seeded(name: str, **kwargs) -> torch.nn.Module:
    torch.manual_seed(0)
    return torchvision.models.get_model(name, weights=None, **kwargs).eval()


def images(n: int, size: int | tuple[int, int], seed: int = 1) -> torch.Tensor:
    h, w = (size, size) if isinstance(size, int) else size
    return torch.randn(n, 3, h, w, generator=torch.Generator().manual_seed(seed))


def assert_maps(maps: np.ndarray, shape: tuple[int, ...]) -> None:
    assert maps.shape == shape
    assert maps.dtype == np.float32
    assert np.isfinite(maps).all()
    assert maps.min() >= 0.0 and maps.max() <= 1.0 + 1e-6


def assert_informative(maps: np.ndarray) -> None:
    """Guards the equality tests against comparing two all-zero maps."""
    flat = maps.reshape(-1, *maps.shape[-2:])
    assert all(m.max() > 0.2 and m.std() > 0.01 for m in flat)


def no_hooks(module: torch.nn.Module) -> bool:
    return all(
        not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
        for m in module.modules()
    )


@pytest.fixture(scope="module")
def resnet18() -> torch.nn.Module:
    return seeded("resnet18")


@pytest.fixture(scope="module")
def batch224() -> torch.Tensor:
    return images(2, 224)


@pytest.fixture(scope="module")
def vit_tiny() -> torch.nn.Module:
    torch.manual_seed(0)
    model = torchvision.models.VisionTransformer(
        image_size=32,
        patch_size=8,
        num_layers=2,
        num_heads=2,
        hidden_dim=16,
        mlp_dim=32,
        num_classes=10,
    ).eval()
    _redraw_head(model)
    return model


def _redraw_head(vit: torch.nn.Module) -> None:
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        vit.heads.head.weight.copy_(torch.randn(vit.heads.head.weight.shape, generator=generator))
        vit.heads.head.weight.mul_(0.02)


@pytest.fixture(scope="module")
def small_classifier() -> Classifier:
    """ResNet-18 with 1000 named classes at 64 px (fast)."""
    return Classifier(
        module=seeded("resnet18"),
        labels=[f"class{i}" for i in range(1000)],
        preprocess=Preprocessing(image_size=64, resize=73),
        localized_labels={"ja": [f"クラス{i}" for i in range(1000)]},
        spec="torchvision:resnet18",
    )


# --------------------------------------------------------------------------- equality


@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_every_method_equals_plain_grad_cam_on_resnet18(resnet18, batch224, method):
    result = attribute_batch(resnet18, batch224, method=method)
    assert isinstance(result, CamResult)
    assert_maps(result.maps, (2, 1, 224, 224))
    assert result.layer == "layer4"
    plain = plain_cam(resnet18, resnet18.layer4, batch224, method)
    assert_informative(plain)
    assert np.abs(result.maps[:, 0] - plain).max() <= TOL
    assert (result.target_indices[:, 0] == result.probs.argmax(1)).all()


def test_top_k_and_explicit_targets_equal_plain_per_rank(resnet18):
    batch = images(2, 64)
    result = attribute_batch(resnet18, batch, method="gradcam", top_k=3)
    assert_maps(result.maps, (2, 3, 64, 64))
    expected = np.argsort(-result.probs, axis=1, kind="stable")[:, :3]
    assert (result.target_indices == expected).all()
    for rank in range(3):
        plain = plain_cam(resnet18, resnet18.layer4, batch, "gradcam", expected[:, rank])
        assert np.abs(result.maps[:, rank] - plain).max() <= TOL
    chosen = [[5, 7], [9, 11]]
    maps = attribute(resnet18, batch, method="hirescam", targets=chosen)
    assert maps.shape == (2, 2, 64, 64)
    for rank in range(2):
        targets = [row[rank] for row in chosen]
        plain = plain_cam(resnet18, resnet18.layer4, batch, "hirescam", targets)
        assert np.abs(maps[:, rank] - plain).max() <= TOL


def test_probs_come_from_the_same_pass(resnet18, batch224):
    result = attribute_batch(resnet18, batch224, method="gradcam++")
    with torch.inference_mode():
        expected = torch.softmax(resnet18(batch224), dim=1).numpy()
    assert result.probs.dtype == np.float32
    assert np.abs(result.probs - expected).max() < 1e-5  # channels-last vs NCHW kernels


def test_scorecam_equals_plain_on_a_small_input(resnet18):
    batch = images(1, 32)
    maps = attribute(resnet18, batch, method="scorecam", layer="layer2")
    assert_maps(maps, (1, 32, 32))
    plain = plain_cam(resnet18, resnet18.layer2, batch, "scorecam")
    assert_informative(plain)
    assert np.abs(maps - plain).max() <= TOL


def test_scorecam_draws_no_progress_bars(resnet18, capfd):
    import io

    import pytorch_grad_cam.score_cam as score_cam

    attribute(resnet18, images(1, 32), method="scorecam", layer="layer2")
    assert capfd.readouterr().err == ""
    out = io.StringIO()
    assert list(score_cam.tqdm.tqdm(range(2), file=out)) == [0, 1]
    assert "2/2" in out.getvalue()  # outside wordcam's call the bar is drawn as before


@pytest.mark.slow
@pytest.mark.parametrize("method", METHOD_NAMES)
def test_every_method_equals_plain_grad_cam_on_resnet50(method):
    model = seeded("resnet50")
    # ScoreCAM runs the model once per channel: layer3 (1024 channels) at 32 px keeps it short.
    layer = "layer3" if method == "scorecam" else "layer4"
    batch = images(1, 32) if method == "scorecam" else images(2, 224)
    result = attribute_batch(model, batch, method=method, top_k=2, layer=layer)
    for rank in range(2):
        targets = result.target_indices[:, rank]
        plain = plain_cam(model, resolve_layer(model, layer), batch, method, targets)
        assert_informative(plain)
        assert np.abs(result.maps[:, rank] - plain).max() <= TOL


def _default_model() -> Classifier:
    if not (Path(__file__).resolve().parents[1] / "core" / "models" / "imagenet.py").exists():
        pytest.skip("core/models/imagenet.py (the default model) is not written yet")
    from core.models import load_model

    return load_model("imagenet")


def _photos() -> list:
    from PIL import Image
    from skimage import data

    return [Image.fromarray(data.chelsea()), Image.fromarray(data.coffee())]


@pytest.mark.parametrize(
    "method",
    [m if m == "gradcam" else pytest.param(m, marks=pytest.mark.slow) for m in GRADIENT_METHODS],
)
def test_every_method_equals_plain_grad_cam_on_the_default_model(method):
    model = _default_model()
    batch = model.to_batch(_photos())
    result = attribute_batch(model, batch, method=method, top_k=2)
    assert_maps(result.maps, (2, 2, 224, 224))
    layer = resolve_layer(model)
    for rank in range(2):
        plain = plain_cam(model.module, layer, batch, method, result.target_indices[:, rank])
        assert np.abs(result.maps[:, rank] - plain).max() <= TOL
    assert_informative(result.maps[:, 0])


@pytest.mark.slow
def test_scorecam_equals_plain_on_the_default_model():
    model = _default_model()
    batch = torch.nn.functional.interpolate(model.to_batch(_photos()[:1]), size=64)
    maps = attribute(model, batch, method="scorecam")
    plain = plain_cam(model.module, resolve_layer(model), batch, "scorecam")
    assert np.abs(maps - plain).max() <= TOL


# --------------------------------------------------------------------------- layouts


@pytest.mark.parametrize("method", METHOD_NAMES)
def test_vit_tokens_are_mapped_to_the_patch_grid(vit_tiny, method):
    batch = images(2, 32)
    assert default_layer(vit_tiny, 32) == "encoder.layers.encoder_layer_1.ln_1"
    maps = attribute(vit_tiny, batch, method=method, top_k=2)
    assert_maps(maps, (2, 2, 32, 32))
    layer = resolve_layer(vit_tiny, "encoder.layers.encoder_layer_1.ln_1")
    for rank in range(2):
        targets = None if method == "eigencam" else [int(t) for t in (rank, rank + 2)]
        if targets is not None:
            maps_t = attribute(vit_tiny, batch, method=method, targets=targets)
        else:
            maps_t = maps[:, rank]
        plain = plain_cam(vit_tiny, layer, batch, method, targets, reshape=vit_reshape)
        assert np.abs(maps_t - plain).max() <= TOL


@pytest.fixture(scope="module")
def convnext() -> torch.nn.Module:
    return seeded("convnext_tiny")


@pytest.fixture(scope="module")
def swin() -> torch.nn.Module:
    return seeded("swin_t")


@pytest.fixture(scope="module")
def vit_b_16() -> torch.nn.Module:
    model = seeded("vit_b_16", image_size=64)
    _redraw_head(model)
    return model


@pytest.mark.parametrize("arch", ["resnet18", "convnext", "swin", "vit_b_16"])
@pytest.mark.parametrize("method", GRADIENT_METHODS)
def test_torchvision_architectures_without_a_reshape_function(request, arch, method):
    model = request.getfixturevalue(arch)
    batch = images(2, 64)
    maps = attribute(model, batch, method=method, top_k=2)
    assert_maps(maps, (2, 2, 64, 64))
    assert no_hooks(model)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("arch", "layer", "size"),
    [("resnet18", None, 64), ("convnext", "features.5", 32), ("swin", "features.5", 32)],
)
def test_torchvision_architectures_scorecam(request, arch, layer, size):
    """ScoreCAM (ViT: see the token test) on stage 3 at 32 px to keep the channel count low."""
    model = request.getfixturevalue(arch)
    maps = attribute(model, images(1, size), method="scorecam", layer=layer)
    assert_maps(maps, (1, size, size))


def test_default_layers_of_torchvision_models(resnet18, convnext, swin, vit_b_16):
    assert default_layer(resnet18) == "layer4"
    assert default_layer(convnext, 64) == "features"
    assert default_layer(swin, 64) in {"norm", "permute"}
    assert default_layer(vit_b_16, 64) == "encoder.layers.encoder_layer_11.ln_1"


def test_channels_last_layers_are_permuted(swin, convnext):
    batch = images(2, 64)
    swin_maps = attribute(swin, batch, method="gradcam", layer="norm")
    plain = plain_cam(swin, swin.norm, batch, "gradcam", None, reshape=nhwc_reshape)
    assert_informative(plain)
    assert np.abs(swin_maps - plain).max() <= TOL
    inner = "features.5.0.block.2"  # LayerNorm inside a ConvNeXt block: [B, H, W, C]
    maps = attribute(convnext, batch, method="layercam", layer=inner)
    layer = resolve_layer(convnext, inner)
    plain = plain_cam(convnext, layer, batch, "layercam", None, reshape=nhwc_reshape)
    assert np.abs(maps - plain).max() <= TOL


def test_non_square_inputs_keep_their_resolution(resnet18):
    maps = attribute(resnet18, images(1, (64, 96)), method="gradcam")
    assert_maps(maps, (1, 64, 96))
    plain = plain_cam(resnet18, resnet18.layer4, images(1, (64, 96)), "gradcam")
    assert np.abs(maps - plain).max() <= TOL


# --------------------------------------------------------------------------- fallback


class Untraceable(torch.nn.Module):
    """Data-dependent control flow: torch.fx cannot trace it, so the hook fallback runs."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = torch.nn.Sequential(
            torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 16, 3, 2, 1)
        )
        self.fc = torch.nn.Linear(16, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        if x.mean() > 1e6:  # never true; only here to defeat tracing
            x = x * 0
        return self.fc(torch.relu(x).mean((2, 3)))


@pytest.mark.parametrize("method", ["gradcam", "layercam", "eigencam", "scorecam"])
def test_untraceable_models_use_the_hook_fallback(method):
    model = Untraceable().eval()
    batch = images(2, 16)
    assert get_split(model, "features", model.features) is None
    result = attribute_batch(model, batch, method=method, top_k=2)
    assert_maps(result.maps, (2, 2, 16, 16))
    for rank in range(2):
        plain = plain_cam(model, model.features, batch, method, result.target_indices[:, rank])
        assert np.abs(result.maps[:, rank] - plain).max() <= TOL
    assert no_hooks(model)
    assert all(p.requires_grad for p in model.parameters())


# --------------------------------------------------------------------------- model state


def test_the_users_model_is_left_as_it_was(small_classifier):
    module = small_classifier.module
    module.train()
    module.fc.weight.requires_grad_(False)
    marker = torch.ones_like(module.conv1.weight)
    module.conv1.weight.grad = marker
    flags = {n: p.requires_grad for n, p in module.named_parameters()}
    modes = {n: m.training for n, m in module.named_modules()}
    try:
        attribute(small_classifier, images(2, 64), method="gradcam")
        attribute(small_classifier, images(1, 32), method="scorecam", layer="layer1")
        assert no_hooks(module)
        assert {n: p.requires_grad for n, p in module.named_parameters()} == flags
        assert {n: m.training for n, m in module.named_modules()} == modes
        assert module.conv1.weight.grad is marker
        assert all(p.grad is None for n, p in module.named_parameters() if n != "conv1.weight")
    finally:
        module.eval()
        module.fc.weight.requires_grad_(True)
        module.conv1.weight.grad = None


def test_works_inside_inference_mode(small_classifier):
    batch = images(2, 64)
    expected = attribute(small_classifier, batch)
    with torch.inference_mode():
        inference_batch = batch.clone()
        maps = attribute(small_classifier, inference_batch)
    assert np.abs(maps - expected).max() <= 1e-6


# --------------------------------------------------------------------------- targets & input


def test_pil_images_and_class_names(small_classifier):
    photos = _photos()
    by_index = attribute(small_classifier, photos, targets=3)
    assert_maps(by_index, (2, 64, 64))
    by_name = attribute(small_classifier, photos, targets="class3")
    by_japanese = attribute(small_classifier, photos, targets="クラス3")
    assert np.array_equal(by_index, by_name) and np.array_equal(by_index, by_japanese)
    single = attribute(small_classifier, photos[0], targets="CLASS3")
    assert np.abs(single[0] - by_index[0]).max() <= TOL
    per_image = attribute_batch(
        small_classifier, small_classifier.to_batch(photos), targets=[3, "クラス7"]
    )
    assert per_image.target_indices.tolist() == [[3], [7]]


def test_top_k_on_a_classifier(small_classifier):
    result = attribute_batch(small_classifier, small_classifier.to_batch(_photos()), top_k=3)
    assert result.maps.shape == (2, 3, 64, 64) and result.probs.shape == (2, 1000)
    assert np.allclose(result.probs.sum(1), 1.0, atol=1e-5)
    top = np.argsort(-result.probs, axis=1)[:, :3]
    assert (np.sort(result.target_indices, 1) == np.sort(top, 1)).all()
    maps = attribute(small_classifier, _photos(), top_k=3, method="eigencam")
    assert maps.shape == (2, 3, 64, 64)
    assert np.array_equal(maps[:, 0], maps[:, 2])  # EigenCAM does not depend on the class


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "gradcam3000"}, "unknown CAM method"),
        ({"targets": "unicorn"}, "unknown class 'unicorn'"),
        ({"targets": 1000}, "out of range"),
        ({"targets": [1, 2, 3]}, "3 targets for 2 images"),
        ({"layer": "layer9"}, "no submodule 'layer9'"),
        ({"layer": "fc"}, "not a spatial feature map"),
        ({"top_k": 0}, "top_k must be a positive integer"),
        ({"targets": 1, "top_k": 3}, "give either targets or top_k"),
    ],
)
def test_user_mistakes_raise_one_line_errors(small_classifier, kwargs, message):
    with pytest.raises(AttributionError, match=message) as info:
        attribute(small_classifier, images(2, 64), **kwargs)
    assert "\n" not in str(info.value)


def test_plain_modules_need_tensors_and_indices(resnet18):
    with pytest.raises(AttributionError, match="PIL images need a core Classifier"):
        attribute(resnet18, _photos())
    with pytest.raises(AttributionError, match="no labels"):
        attribute(resnet18, images(1, 64), targets="cat")
    with pytest.raises(AttributionError, match="out of range"):
        attribute(resnet18, images(1, 64), targets=5000)


def test_layers_by_name_module_and_negative_index(resnet18):
    assert resolve_layer(resnet18, "layer4.-1") is resnet18.layer4[-1]
    assert resolve_layer(resnet18, "layer4[1]") is resnet18.layer4[1]
    assert A.layer_name(resnet18, resnet18.layer3[0]) == "layer3.0"
    batch = images(1, 64)
    by_module = attribute(resnet18, batch, layer=resnet18.layer4[-1].conv2)
    by_name = attribute(resnet18, batch, layer="layer4.1.conv2")
    assert np.array_equal(by_module, by_name)
    plain = plain_cam(resnet18, resnet18.layer4[-1].conv2, batch, "gradcam")
    assert np.abs(by_name - plain).max() <= TOL


def test_classifier_target_layer_is_the_default(small_classifier):
    named = Classifier(
        module=small_classifier.module,
        labels=small_classifier.labels,
        preprocess=small_classifier.preprocess,
        target_layer="layer3",
    )
    assert default_layer(named) == "layer3"
    assert attribute_batch(named, images(1, 64)).layer == "layer3"


def test_method_registry_is_pytorch_grad_cams():
    import pytorch_grad_cam

    assert (
        list(CAM_METHODS)
        == list(METHOD_NAMES)
        == [
            "gradcam",
            "gradcam++",
            "hirescam",
            "xgradcam",
            "layercam",
            "eigencam",
            "scorecam",
        ]
    )
    assert CAM_METHODS["gradcam++"] is pytorch_grad_cam.GradCAMPlusPlus
    assert A.normalize_method("Grad-CAM++") == "gradcam++"


def test_importing_attribution_does_not_import_torch():
    code = "import sys, core.attribution as a; a.METHOD_NAMES; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------- a method of wordcam's own


def test_a_method_defined_here_runs_through_attribute(resnet18, batch224):
    """The seam: one class overriding the weight function, registered, used by name."""
    from core.attribution import CamMethod, method_names, register_method

    @register_method
    class PositiveGradCAM(CamMethod):
        name = "positive-grad-cam-test"
        aliases = ("posgradtest",)

        def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
            return np.maximum(grads, 0).mean(axis=(2, 3))

    assert "positivegradcamtest" in method_names()
    assert A.normalize_method("posgradtest") == "positivegradcamtest"
    result = attribute_batch(resnet18, batch224, method="Positive-Grad-CAM-Test", top_k=2)
    assert result.method == "positivegradcamtest"
    assert_maps(result.maps, (2, 2, 224, 224))
    assert_informative(result.maps)
    # Same activations and gradients as Grad-CAM, only the weights differ: the maps are the
    # plain pytorch-grad-cam computation with those weights, and not Grad-CAM's.
    gradcam = attribute_batch(resnet18, batch224, method="gradcam", top_k=2)
    np.testing.assert_array_equal(result.target_indices, gradcam.target_indices)
    assert np.abs(result.maps - gradcam.maps).max() > 0.05

    class PlainPositive(CAM_METHODS["gradcam"]):
        def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
            return np.maximum(grads, 0).mean(axis=(2, 3))

    wrapped = [ClassifierOutputTarget(int(t)) for t in result.target_indices[:, 1]]
    with PlainPositive(model=resnet18, target_layers=[resnet18.layer4]) as cam:
        plain = cam(input_tensor=batch224, targets=wrapped)
    assert np.abs(result.maps[:, 1] - plain).max() <= TOL


def test_a_taken_name_or_a_non_method_is_refused():
    from core.attribution import CamMethod, register_method

    class Imposter(CamMethod):
        name = "gradcam"

    with pytest.raises(AttributionError, match="already defined"):
        register_method(Imposter)
    with pytest.raises(AttributionError, match="not a CamMethod"):
        register_method(dict)
    with pytest.raises(AttributionError, match="unknown CAM method"):
        A.normalize_method("nosuchcam")


def test_built_in_methods_are_cam_method_classes():
    from core.attribution import CamMethod, method_class

    for name in METHOD_NAMES:
        cls = method_class(name)
        assert issubclass(cls, CamMethod) and cls.name == name
        assert cls.reference is CAM_METHODS[name]


# --------------------------------------------------------------------------- inference copy


@pytest.mark.parametrize("layer", ["layer4", "layer4.1.bn2", "layer4.1.conv2"])
def test_classifier_cams_on_the_folded_copy_equal_the_original(small_classifier, layer):
    """A Classifier's CAM runs on its inference copy (batch norm folded); a folded convolution
    as the layer (its output changed by the fold) runs on the original module. Either way the
    maps equal those of the original module (given as a plain module: no copy)."""
    from core.models.fold import folded_convolutions

    assert "layer4.1.conv2" in folded_convolutions(small_classifier.module)
    batch = images(2, 64)
    result = attribute_batch(small_classifier, batch, layer=layer, top_k=2)
    original = attribute_batch(small_classifier.module, batch, layer=layer, top_k=2)
    assert_informative(result.maps)
    np.testing.assert_array_equal(result.target_indices, original.target_indices)
    assert np.abs(result.maps - original.maps).max() <= TOL
    assert np.abs(result.probs - original.probs).max() <= 1e-5
    if layer != "layer4.1.bn2":  # plain pytorch-grad-cam sees the block's in-place += there
        target = small_classifier.module.get_submodule(layer)
        indices = result.target_indices[:, 0]
        plain = plain_cam(small_classifier.module, target, batch, "gradcam", indices)
        assert np.abs(result.maps[:, 0] - plain).max() <= TOL
    assert no_hooks(small_classifier.module) and no_hooks(small_classifier.inference_module)


def test_cams_with_the_openvino_body_equal_torch(small_classifier, tmp_path, monkeypatch):
    """The optional runtime runs the body above the target layer; the head stays in torch."""
    pytest.importorskip("openvino")
    from core.models import accelerate

    monkeypatch.setenv("WORDCAM_CACHE", str(tmp_path))
    monkeypatch.setenv(accelerate.ENV, "torch")  # restored (unset) after the test
    batch = images(2, 64)
    want = attribute_batch(small_classifier, batch, top_k=2)
    try:
        accelerate.set_runtime("openvino")
        got = attribute_batch(small_classifier, batch, top_k=2)
    finally:
        accelerate.set_runtime(None)
    assert list(tmp_path.rglob("*.xml"))  # the body was converted (and saved)
    np.testing.assert_array_equal(got.target_indices, want.target_indices)
    assert np.abs(got.maps - want.maps).max() <= TOL
    assert np.abs(got.probs - want.probs).max() <= 1e-5


def test_preload_imports_the_cam_classes_in_the_background():
    code = (
        "import sys, core.attribution as a; from core.attribution import methods; "
        "assert 'pytorch_grad_cam' not in sys.modules; a.preload(); a.preload(); "
        "assert len(methods._PRELOAD) == 1; methods._PRELOAD[0].join(); "
        "assert 'core.attribution.cams' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
