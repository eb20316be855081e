"""The registry's built-in backends are exactly pyproject.toml's entry points (the fallback for
a source tree that was not installed must not drift from what an install registers)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core import registry

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: the dev extra installs tomli
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]


def test_builtins_equal_the_entry_points_of_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {
        group: dict(points)
        for group, points in project["entry-points"].items()
        if group.startswith("wordcam.")
    }
    assert declared == registry._BUILTINS
    assert set(declared) == {registry.MODEL_GROUP, registry.EXPLAINER_GROUP}


def test_every_builtin_target_resolves():
    import importlib

    for group in registry._BUILTINS.values():
        for name, target in group.items():
            module, _, attr = target.partition(":")
            spec = importlib.util.find_spec(module)
            assert spec is not None, f"{name}: no module {module}"
            source = Path(spec.origin).read_text(encoding="utf-8")
            assert f"def {attr}(" in source or f"class {attr}" in source, f"{name}: {target}"
