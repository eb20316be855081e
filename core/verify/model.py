"""The run's model, loaded for verification, and its class probabilities on hidden views."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from core.errors import DataError

if TYPE_CHECKING:
    import duckdb
    import numpy as np
    import torch

    from core.models.base import Classifier


@dataclass(frozen=True)
class RunModel:
    """What a run was computed with: model spec and options, CAM method and layer, classes."""

    run_id: int
    kind: str
    spec: str
    method: str
    layer: str | None
    labels: list[str]
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, con: duckdb.DuckDBPyConnection, run_id: int) -> RunModel:
        from core.store.runs import run_config

        row = run_config(con, run_id)
        if row is None:
            raise DataError(f"the database has no run {run_id}")
        kind, spec, method, labels, settings = row
        if kind != "images" or not spec:
            raise DataError(
                f"run {run_id} is a {kind} run without an image model; verification hides "
                "parts of photos and needs the model that classified them"
            )
        settings = json.loads(settings or "{}")
        return cls(
            run_id=run_id,
            kind=kind,
            spec=str(spec),
            method=str(method or settings.get("method") or "gradcam"),
            layer=settings.get("layer"),
            labels=list(json.loads(labels or "[]")),
            options=dict(settings.get("model_options") or {}),
        )

    def load(self, device: str | None = None) -> Classifier:
        """The run's classifier on ``device`` (``auto``, ``cpu``, ``cuda[:N]``; None: the
        default, the CPU); one clear line when it cannot be loaded."""
        from core.models import load_model

        if device is not None:
            from core.runtime import resolve_device

            device = resolve_device(device)  # a missing GPU is its own line, not "cannot load"
        try:
            return load_model(self.spec, device=device, **self.options)
        except Exception as exc:
            message = " ".join(str(exc).split()) or exc.__class__.__name__
            raise DataError(
                f"cannot load the model of run {self.run_id} ({self.spec}): {message}; "
                "verification needs the model that classified the photos"
            ) from None


def probabilities(model: Classifier, batch: list[torch.Tensor], chunk: int = 32) -> np.ndarray:
    """Softmax rows ``[N, C]`` of already preprocessed inputs, ``chunk`` at a time."""
    import numpy as np
    import torch

    out = []
    for start in range(0, len(batch), chunk):
        # The inference copy in the chosen runtime (Classifier.logits), channels-last.
        logits = model.logits(torch.stack(batch[start : start + chunk]))
        out.append(torch.softmax(logits.float(), dim=1).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, model.num_classes), np.float32)
