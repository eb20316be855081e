"""Engines: how one CAM call runs, on the split's head (the cached activation) or the whole model."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from core.attribution.layers import ToNCHW
from core.attribution.split import NoSplit, Split, head_module

if TYPE_CHECKING:
    import torch


def run_cam(
    method: type,
    model: torch.nn.Module,
    layer: torch.nn.Module,
    inputs: torch.Tensor,
    targets: list[int] | None,
    reshape: ToNCHW,
    size: tuple[int, int],
) -> tuple[np.ndarray, torch.Tensor]:
    """One pytorch-grad-cam call: maps [N, H, W] and the logits of the same pass."""
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    cam = method(model, [layer], reshape_transform=reshape)
    cam.target_size = size
    try:
        wrapped = None if targets is None else [ClassifierOutputTarget(int(t)) for t in targets]
        maps = cam(input_tensor=inputs, targets=wrapped)
        return maps, cam.outputs.detach()
    finally:
        cam.activations_and_grads.release()


# --------------------------------------------------------------------------- engines


class HeadEngine:
    """Body once without autograd; every CAM call runs only the head on the cached activation."""

    def __init__(self, split: Split, batch: torch.Tensor, outputs: Any = None) -> None:
        """``outputs``: the body's outputs for ``batch`` when already computed
        (:func:`core.attribution.driver.body_ahead`)."""
        import torch

        from core.models.accelerate import run

        if outputs is None:
            outputs = run(split.body, batch, kind=f"body:{split.name}")
        activation, *extras = outputs if isinstance(outputs, (tuple, list)) else (outputs,)
        if not isinstance(activation, torch.Tensor):
            raise NoSplit("the target layer does not output a tensor")
        self.split, self.activation, self.extras = split, activation, extras
        self.batch_size = batch.shape[0]
        self.device = batch.device

    def run(
        self, method: type, targets: list[int] | None, repeat: int, reshape: ToNCHW, size: Any
    ) -> tuple[np.ndarray, torch.Tensor]:
        import torch

        def tiled(t: torch.Tensor) -> torch.Tensor:
            return t.repeat(repeat, *([1] * (t.ndim - 1))) if repeat > 1 else t

        repeatable = all(
            isinstance(e, torch.Tensor) and e.ndim > 0 and e.shape[0] == self.batch_size
            for e in self.extras
        )
        if repeat > 1 and not repeatable:  # extras without a batch axis: one call per rank
            parts = [
                self.run(
                    method,
                    targets[r * self.batch_size : (r + 1) * self.batch_size],
                    1,
                    reshape,
                    size,
                )  # type: ignore[index]
                for r in range(repeat)
            ]
            return np.concatenate([p[0] for p in parts]), torch.cat([p[1] for p in parts])
        extras = [tiled(e) for e in self.extras] if repeat > 1 else list(self.extras)
        head = head_module(self.split.head, extras, self.device)
        inputs = tiled(self.activation).detach().requires_grad_()
        return run_cam(method, head, head.target, inputs, targets, reshape, size)


class FullEngine:
    """The whole model per CAM call (ScoreCAM, or models torch.fx cannot cut).

    With ``detach`` a hook makes the target activation a fresh autograd leaf, so that
    backpropagation stops there (parameters are frozen by :func:`borrowed`).
    """

    def __init__(
        self, module: torch.nn.Module, layer: torch.nn.Module, batch: torch.Tensor, detach: bool
    ) -> None:
        self.module, self.layer, self.batch, self.detach = module, layer, batch, detach

    def run(
        self, method: type, targets: list[int] | None, repeat: int, reshape: ToNCHW, size: Any
    ) -> tuple[np.ndarray, torch.Tensor]:
        import torch

        inputs = self.batch.repeat(repeat, 1, 1, 1) if repeat > 1 else self.batch
        handle = None
        if self.detach:

            def detach_output(_mod: Any, _inp: Any, out: Any) -> Any:
                if isinstance(out, torch.Tensor):
                    return out.detach().requires_grad_()
                return None

            handle = self.layer.register_forward_hook(detach_output, prepend=True)
        try:
            return run_cam(method, self.module, self.layer, inputs, targets, reshape, size)
        finally:
            if handle is not None:
                handle.remove()
