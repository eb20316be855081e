"""ScoreCAM without its progress bars: pytorch-grad-cam hard-codes ``tqdm`` at the call site."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

_QUIET = threading.local()


def quiet(get_cam_weights: Any) -> Any:
    """``get_cam_weights`` (its math unchanged), with ScoreCAM's tqdm bars silenced while it runs."""

    def quiet_cam_weights(self: Any, *args: Any) -> np.ndarray:
        _install_quiet_tqdm()
        was, _QUIET.on = getattr(_QUIET, "on", False), True
        try:
            return get_cam_weights(self, *args)
        finally:
            _QUIET.on = was

    return quiet_cam_weights


def _install_quiet_tqdm() -> None:
    """Give ``pytorch_grad_cam.score_cam`` a ``tqdm`` that is silent while quiet is on.

    Every other use of ``tqdm`` (and ScoreCAM outside wordcam, or in another thread) is left as
    it was.
    """
    import pytorch_grad_cam.score_cam as score_cam

    if isinstance(score_cam.tqdm, _QuietTqdm):
        return
    score_cam.tqdm = _QuietTqdm(score_cam.tqdm)


class _QuietTqdm:
    """Stands in for the ``tqdm`` module: ``tqdm.tqdm(...)`` is disabled while quiet."""

    def __init__(self, module: Any) -> None:
        self._module = module

    def __getattr__(self, name: str) -> Any:
        return getattr(self._module, name)

    def tqdm(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(_QUIET, "on", False):
            kwargs["disable"] = True
        return self._module.tqdm(*args, **kwargs)
