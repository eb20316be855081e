"""The CAM methods: a base that owns the machinery, and one small class per method.

:class:`CamMethod` is pytorch-grad-cam's ``BaseCAM`` (activations, gradients, the weighted sum,
scaling) plus what wordcam's engines need: a map size set from outside (the head of a
``torch.fx`` split sees an activation, not the image). A method overrides one function:

* ``get_cam_weights(input_tensor, target_layer, targets, activations, grads)`` -> ``[B, C]``
  channel weights (Grad-CAM, Grad-CAM++, XGrad-CAM, ScoreCAM), or
* ``get_cam_image(input_tensor, target_layer, targets, activations, grads, eigen_smooth)`` ->
  ``[B, h, w]`` for methods that are not a weighted sum of channels (HiResCAM, LayerCAM,
  EigenCAM).

The built-in methods take that function from pytorch-grad-cam's class of the same name (their
``reference``), so their maps are pytorch-grad-cam's. A new method::

    from core.attribution import CamMethod, register_method

    @register_method
    class MaxGradCAM(CamMethod):
        name = "maxgradcam"

        def get_cam_weights(self, input_tensor, target_layer, targets, activations, grads):
            return grads.max(axis=(2, 3))

    attribute(model, images, method="maxgradcam")

Class attributes a method may set: ``name``, ``aliases``, ``uses_gradients`` (False: no
backward pass), ``target_free`` (one map serves every class) and ``needs_input`` (the method
re-runs the whole model on the input, so it cannot use the split's head).
"""

from __future__ import annotations

from typing import Any, ClassVar

from pytorch_grad_cam.base_cam import BaseCAM
from pytorch_grad_cam.eigen_cam import EigenCAM as _EigenCAM
from pytorch_grad_cam.grad_cam import GradCAM as _GradCAM
from pytorch_grad_cam.grad_cam_plusplus import GradCAMPlusPlus as _GradCAMPlusPlus
from pytorch_grad_cam.hirescam import HiResCAM as _HiResCAM
from pytorch_grad_cam.layer_cam import LayerCAM as _LayerCAM
from pytorch_grad_cam.score_cam import ScoreCAM as _ScoreCAM
from pytorch_grad_cam.xgrad_cam import XGradCAM as _XGradCAM

from core.attribution.quiet import quiet

SCORECAM_BATCH_SIZE = 32


class CamMethod(BaseCAM):
    """Base of every CAM method; subclasses override ``get_cam_weights`` (or ``get_cam_image``)."""

    name: ClassVar[str] = ""
    aliases: ClassVar[tuple[str, ...]] = ()
    uses_gradients: ClassVar[bool] = True
    target_free: ClassVar[bool] = False
    needs_input: ClassVar[bool] = False
    reference: ClassVar[type | None] = None
    # (width, height) of the maps; None: the input's size (pytorch-grad-cam's default).
    target_size: tuple[int, int] | None = None

    def __init__(self, model: Any, target_layers: list[Any], reshape_transform: Any = None):
        super().__init__(
            model,
            target_layers,
            reshape_transform=reshape_transform,
            uses_gradients=type(self).uses_gradients,
        )

    def get_target_width_height(self, input_tensor: Any) -> tuple[int, int]:
        if self.target_size is not None:
            return self.target_size
        return input_tensor.size(-1), input_tensor.size(-2)


class GradCAM(CamMethod):
    name = "gradcam"
    reference = _GradCAM
    get_cam_weights = _GradCAM.get_cam_weights


class GradCAMPlusPlus(CamMethod):
    name = "gradcam++"
    reference = _GradCAMPlusPlus
    get_cam_weights = _GradCAMPlusPlus.get_cam_weights


class XGradCAM(CamMethod):
    name = "xgradcam"
    reference = _XGradCAM
    get_cam_weights = _XGradCAM.get_cam_weights


class HiResCAM(CamMethod):
    name = "hirescam"
    reference = _HiResCAM
    get_cam_image = _HiResCAM.get_cam_image


class LayerCAM(CamMethod):
    name = "layercam"
    reference = _LayerCAM
    get_cam_image = _LayerCAM.get_cam_image


class EigenCAM(CamMethod):
    name = "eigencam"
    reference = _EigenCAM
    uses_gradients = False
    target_free = True
    get_cam_image = _EigenCAM.get_cam_image


class ScoreCAM(CamMethod):
    name = "scorecam"
    reference = _ScoreCAM
    uses_gradients = False
    needs_input = True
    batch_size = SCORECAM_BATCH_SIZE
    get_cam_weights = quiet(_ScoreCAM.get_cam_weights)
