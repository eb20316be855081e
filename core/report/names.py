"""Class names in a language: the model's own localized names where it has them.

A run stores its model's canonical labels (``runs.labels``). ImageNet models (``imagenet``,
``torchvision:ARCH`` with the ImageNet classes) have Japanese and English names, index-aligned
(``core/models/imagenet_labels_{en,ja}.txt``); a trained model's labels are its class folder
names and are shown as they are.
"""

from __future__ import annotations

import functools
from pathlib import Path

import core

_LABEL_DIR = Path(core.__file__).parent / "models"


@functools.cache
def _imagenet(lang: str) -> tuple[str, ...]:
    path = _LABEL_DIR / f"imagenet_labels_{lang}.txt"
    return tuple(line.strip() for line in path.read_text("utf-8").splitlines() if line.strip())


def localized(classes: list[str] | tuple[str, ...] | None, lang: str) -> dict[str, str]:
    """``{canonical label: name in lang}`` for a run's classes (empty: show labels as stored)."""
    return _localized(tuple(classes or ()), lang)


@functools.lru_cache(maxsize=16)
def _localized(classes: tuple[str, ...], lang: str) -> dict[str, str]:
    if len(classes) != 1000 or lang not in ("ja", "en"):
        return {}
    for source in ("en", "ja"):
        if classes == _imagenet(source):
            return dict(zip(classes, _imagenet(lang), strict=True))
    return {}


def namer(classes: list[str] | tuple[str, ...] | None, lang: str):
    """A function label -> name in ``lang`` (the label itself when it has no translation)."""
    names = localized(classes, lang)
    return lambda label: names.get(label, label) if isinstance(label, str) else label
