"""The classifier object every stage of wordcam passes around."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch is imported lazily; `wordcam mine` must not load it
    import numpy as np
    import torch
    from PIL import Image

DEFAULT_TASK = "画像の分類"

# A module's copies on other devices, kept while the module lives: loading the shared ImageNet
# model on a GPU twice gives one GPU copy, and the CPU original is never moved.
_COPIES: weakref.WeakKeyDictionary[Any, dict[str, Any]] = weakref.WeakKeyDictionary()
_COPIES_LOCK = threading.Lock()
# Preprocessing -> its [3, 256] table of normalised byte values (Preprocessing.batch).
_TABLES: dict[Any, Any] = {}


@dataclass(frozen=True)
class Preprocessing:
    """How a PIL image becomes the model's input tensor (plain data, stored as JSON).

    The image is resized so that its short side is ``resize`` (keeping aspect ratio),
    centre-cropped to ``image_size`` x ``image_size``, scaled to [0, 1] and normalised.
    """

    image_size: int = 224
    resize: int = 256
    mean: tuple[float, float, float] = (0.485, 0.456, 0.406)
    std: tuple[float, float, float] = (0.229, 0.224, 0.225)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessing:
        return cls(
            image_size=int(data.get("image_size", 224)),
            resize=int(data.get("resize", data.get("image_size", 224) * 256 // 224)),
            mean=tuple(float(x) for x in data.get("mean", cls.mean)),  # type: ignore[arg-type]
            std=tuple(float(x) for x in data.get("std", cls.std)),  # type: ignore[arg-type]
        )

    def crop(self, image: Image.Image) -> Image.Image:
        """Resize (short side -> ``resize``) and centre-crop: the pixels the model sees."""
        from PIL import Image as PILImage

        image = image.convert("RGB")
        (nw, nh), (left, top) = self._resized(image.size)
        image = image.resize((nw, nh), PILImage.Resampling.BILINEAR)
        return image.crop((left, top, left + self.image_size, top + self.image_size))

    def view_box(self, size: tuple[int, int]) -> tuple[float, float, float, float]:
        """Where :meth:`crop`'s view of a ``size`` (w, h) photo lies in it: ``(x0, y0, x1,
        y1)`` in the photo's pixels (the view's ``image_size`` pixels span this box)."""
        (nw, nh), (left, top) = self._resized(size)
        kx, ky = size[0] / nw, size[1] / nh
        right, bottom = left + self.image_size, top + self.image_size
        return (left * kx, top * ky, right * kx, bottom * ky)

    def _resized(self, size: tuple[int, int]) -> tuple[tuple[int, int], tuple[int, int]]:
        """The resized size and the crop's top-left corner in it, for a ``size`` photo."""
        w, h = size
        scale = self.resize / min(w, h)
        nw, nh = max(self.image_size, round(w * scale)), max(self.image_size, round(h * scale))
        return (nw, nh), ((nw - self.image_size) // 2, (nh - self.image_size) // 2)

    def to_tensor(self, image: Image.Image) -> torch.Tensor:
        """Normalise an already cropped RGB image to a float tensor [3, S, S]."""
        import numpy as np
        import torch

        arr = np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0
        arr = (arr - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return torch.from_numpy(arr.transpose(2, 0, 1).copy())

    def batch(self, images: Sequence[Image.Image], rows: int | None = None) -> torch.Tensor:
        """Already cropped RGB images -> one normalised batch ``[rows, 3, S, S]``, channels-last.

        The same values as stacking :meth:`to_tensor`, built in numpy (one pass, no torch
        threads) and handed to torch as a channels-last view without a copy. ``rows`` pads
        the batch with zeros (blank images) to that many rows.
        """
        import numpy as np
        import torch

        first = np.asarray(images[0].convert("RGB"))
        out = np.zeros((max(rows or 0, len(images)), *first.shape), dtype=np.float32)
        table = self._table()
        for i, image in enumerate(images):
            pixels = np.asarray(image.convert("RGB"))
            for c in range(3):  # each byte's normalised value, looked up
                np.take(table[c], pixels[..., c], out=out[i, ..., c])
        return torch.from_numpy(out).permute(0, 3, 1, 2)

    def _table(self) -> np.ndarray:
        """``[3, 256]``: each channel's normalised value of each byte, computed as
        :meth:`to_tensor` computes it (``(v / 255 - mean) / std`` in float32), so a batch
        built by looking bytes up holds the same bits, in about half the time."""
        import numpy as np

        table = _TABLES.get(self)
        if table is None:
            values = np.arange(256, dtype=np.float32)[:, None] / np.float32(255.0)
            values = (values - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
            table = _TABLES[self] = np.ascontiguousarray(values.T)
        return table

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """PIL image (any size) -> normalised tensor [3, image_size, image_size]."""
        return self.to_tensor(self.crop(image))


@dataclass
class Classifier:
    """A loaded image classifier, ready for prediction and attribution.

    Attributes:
        module: the torch module in eval mode; maps a batch [B, 3, S, S] to logits [B, C].
        labels: canonical class names, index-aligned with the logits.
        preprocess: how PIL images become input tensors.
        task: what the model does, in words (used in prompts), e.g. "画像から撮影場所を特定する".
        spec: the spec it was loaded from (``imagenet``, ``torchvision:resnet50``, a directory).
        target_layer: dotted name of the default CAM layer (None: chosen automatically).
        localized_labels: optional translations of ``labels`` keyed by language ("ja", "en").
        arch: architecture name, e.g. "efficientnet_lite0" or "torchvision:resnet50".
    """

    module: torch.nn.Module
    labels: list[str]
    preprocess: Preprocessing
    task: str = DEFAULT_TASK
    spec: str = ""
    target_layer: str | None = None
    localized_labels: dict[str, list[str]] = field(default_factory=dict)
    arch: str = ""

    @property
    def num_classes(self) -> int:
        return len(self.labels)

    def label_names(self, lang: str | None = None) -> list[str]:
        """Class names in ``lang`` when a translation exists, else the canonical names."""
        if lang and lang in self.localized_labels:
            return self.localized_labels[lang]
        return self.labels

    @property
    def device(self) -> torch.device:
        """Where the module's parameters (or buffers) live; ``cpu`` for a module with none."""
        import itertools

        import torch

        first = next(itertools.chain(self.module.parameters(), self.module.buffers()), None)
        return first.device if first is not None else torch.device("cpu")

    def on(self, device: str) -> Classifier:
        """This classifier with its module on ``device`` (``cpu``, ``cuda``, ``cuda:N``).

        ``self`` when it is there already; otherwise a copy whose module is a copy of this
        one moved there (cached per module and device), so a module shared by other
        classifiers is never moved under them. On a GPU, TF32 is turned off
        (:func:`core.runtime.exact_cuda_math`).
        """
        import copy

        import torch

        target = torch.device(device)
        if target.type == "cuda":
            from core.runtime import exact_cuda_math

            exact_cuda_math()
            if target.index is None:
                target = torch.device("cuda", torch.cuda.current_device())
        if self.device == target:
            return self
        key = str(target)
        with _COPIES_LOCK:
            copies = _COPIES.setdefault(self.module, {})
            if key not in copies:
                copies[key] = copy.deepcopy(self.module).to(target).eval()
            moved = copies[key]
        return replace(self, module=moved)

    @property
    def inference_module(self) -> torch.nn.Module:
        """The module for inference: a cached copy with batch norm folded into the
        convolutions, symmetric padding done by them and channels-last weights on the CPU
        (:mod:`core.models.fold`); outputs equal ``module``'s to float rounding."""
        from core.models.fold import inference_module

        return inference_module(self.module)

    def prepare(self, batch: torch.Tensor) -> torch.Tensor:
        """``batch`` on the module's device, channels-last on the CPU for a conv net."""
        import torch

        batch = batch.to(self.device, non_blocking=True)
        if batch.device.type == "cpu" and batch.ndim == 4 and _has_conv2d(self.module):
            batch = batch.contiguous(memory_format=torch.channels_last)
        return batch

    def to_batch(self, images: list[Image.Image]) -> torch.Tensor:
        """Preprocess a list of PIL images into one batch tensor (on the CPU)."""
        import torch

        return torch.stack([self.preprocess(im) for im in images])

    def logits(self, images: list[Image.Image] | torch.Tensor) -> torch.Tensor:
        """Raw logits [B, C] on the CPU for PIL images or a preprocessed batch (on any device:
        it is moved to the module's device first), from :attr:`inference_module` in the chosen
        runtime (:mod:`core.models.accelerate`)."""
        import torch

        batch = images if isinstance(images, torch.Tensor) else self.to_batch(images)
        from core.models.accelerate import run

        module = self.inference_module
        with torch.inference_mode():
            logits = run(module, self.prepare(batch))
        return logits.cpu()

    def predict_proba(self, images: list[Image.Image] | torch.Tensor) -> np.ndarray:
        """Softmax probabilities [B, C] for PIL images or a preprocessed batch (on any device)."""
        import torch

        return torch.softmax(self.logits(images).float(), dim=1).numpy()


_CONV_NETS: weakref.WeakKeyDictionary[Any, bool] = weakref.WeakKeyDictionary()


def _has_conv2d(module: torch.nn.Module) -> bool:
    """Whether ``module`` has a 2-D convolution (cached per module)."""
    import torch

    found = _CONV_NETS.get(module)
    if found is None:
        found = _CONV_NETS[module] = any(isinstance(m, torch.nn.Conv2d) for m in module.modules())
    return found
