"""Explainers: ``load_explainer("grounded")``, ``load_explainer("openai:gpt-4o", base_url=...)``."""

from __future__ import annotations

from typing import Any

from core.explainers.base import Explainer, ExplainRequest, Explanation, Mode
from core.registry import EXPLAINER_GROUP, resolve, split_spec

__all__ = [
    "Explainer",
    "ExplainRequest",
    "Explanation",
    "Mode",
    "check_explainer",
    "load_explainer",
]


def load_explainer(spec: str = "grounded", **options: Any) -> Explainer:
    """Instantiate the explainer registered under ``spec``'s provider name."""
    provider, arg = split_spec(spec)
    return resolve(EXPLAINER_GROUP, provider)(arg, **options)


def check_explainer(explainer: Explainer) -> None:
    """Ask a remote explainer whether its endpoint answers (its optional ``check()``), so a
    command fails with one line before any photo; making an explainer never asks the network."""
    check = getattr(explainer, "check", None)
    if callable(check):
        check()
