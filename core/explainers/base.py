"""The explainer protocol: (photo, heatmap, prediction) -> words."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

Mode = Literal["blind", "informed"]


@dataclass
class ExplainRequest:
    """Everything an explainer may look at for one photo.

    It carries no language: an explainer answers in the language it was built for
    (:attr:`Explainer.lang`).

    Attributes:
        image: the RGB view the model classified (its centre crop), aligned with ``cam``.
        cam: float32 saliency map [H, W] in [0, 1], same size as ``image``.
        predictions: top-k ``(label, probability)`` pairs, best first, in the explainer's language.
        label: the predicted label shown to the explainer; ``None`` in blind mode.
        task: what the classifier does, e.g. "画像から撮影場所を特定する".
        key: a stable id for logging/caching (e.g. the image's content hash).
        source: the decoded photo ``image`` was cut from, and where ``image`` lies in it
            (``(photo, (x0, y0, x1, y1))``, :meth:`~core.models.base.Preprocessing.view_box`);
            None when unknown. An explainer may cut sharper crops from it.
    """

    image: Image.Image
    cam: np.ndarray
    predictions: list[tuple[str, float]]
    label: str | None
    task: str
    key: str = ""
    source: tuple[Image.Image, tuple[float, float, float, float]] | None = None


@dataclass
class Explanation:
    """An explainer's answer for one request.

    ``text`` is untrusted model output: render it as text, never as HTML.
    ``error`` is a one-line message when the explainer failed (then ``text`` is "").
    ``details`` holds backend-specific plain data (regions, usage, structured objects...).
    """

    text: str
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    cached: bool = False


@runtime_checkable
class Explainer(Protocol):
    """A backend that explains classifier decisions in words.

    Implementations are registered by name (entry-point group ``wordcam.explainers``); the
    factory is called as ``factory(arg, **options)`` where ``arg`` is the part after the
    colon of the spec (``openai:gpt-4o`` -> ``"gpt-4o"``).

    The language is chosen once, at construction (``load_explainer(spec, lang="en")``), and
    ``lang`` says which it is: every answer is in that language, and the pipeline gives the
    explainer its predictions' labels in it.
    """

    name: str
    lang: str

    def explain_batch(self, requests: Sequence[ExplainRequest]) -> list[Explanation]:
        """Explain each request; one failure becomes that item's ``error``, never an exception."""
        ...
