"""Name -> backend registries for model loaders and explainers.

Built-in backends are declared as entry points in ``pyproject.toml`` under the groups
``wordcam.models`` and ``wordcam.explainers``, exactly like a third-party plugin would
declare its own. A plugin package adds one entry point and one file::

    [project.entry-points."wordcam.explainers"]
    mine = "my_pkg.explainer:MyExplainer"

Specs are ``provider`` or ``provider:argument`` (``openai:gpt-4o``, ``torchvision:resnet50``).
Backends can also be registered at run time with :func:`register_model_loader` /
:func:`register_explainer` (useful in tests and notebooks).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from importlib.metadata import entry_points
from typing import Any

from core.errors import WordcamError

MODEL_GROUP = "wordcam.models"
EXPLAINER_GROUP = "wordcam.explainers"

# Fallback for running from a source tree that was not installed (no entry points); kept
# equal to pyproject.toml's entry points by tests/test_registry.py.
_BUILTINS: dict[str, dict[str, str]] = {
    MODEL_GROUP: {
        "imagenet": "core.models.imagenet:load_imagenet",
        "torchvision": "core.models.torchvision_models:load_torchvision",
        "dir": "core.models.model_dir:load_model_dir",
    },
    EXPLAINER_GROUP: {
        "grounded": "core.explainers.grounded:GroundedExplainer",
        "openai": "core.explainers.openai_vlm:OpenAIExplainer",
    },
}
_RUNTIME: dict[str, dict[str, Callable[..., Any]]] = {MODEL_GROUP: {}, EXPLAINER_GROUP: {}}


def split_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"provider:arg"`` into ``("provider", "arg")``; ``"provider"`` gives ``(provider, None)``."""
    provider, sep, arg = spec.partition(":")
    return provider.strip().lower(), (arg.strip() if sep else None)


def _load_target(target: str) -> Callable[..., Any]:
    module_name, _, attr = target.partition(":")
    import importlib

    module = importlib.import_module(module_name)
    return getattr(module, attr)


def available(group: str) -> list[str]:
    """Names of the backends registered in ``group``."""
    names = set(_BUILTINS.get(group, {})) | set(_RUNTIME.get(group, {}))
    names |= {ep.name for ep in entry_points(group=group)}
    return sorted(names)


def resolve(group: str, name: str) -> Callable[..., Any]:
    """Return the factory registered under ``name`` in ``group``; raise a clear error if none."""
    if name in _RUNTIME.get(group, {}):
        return _RUNTIME[group][name]
    for ep in entry_points(group=group):
        if ep.name == name:
            return ep.load()
    if name in _BUILTINS.get(group, {}):
        return _load_target(_BUILTINS[group][name])
    kind = "model loader" if group == MODEL_GROUP else "explainer"
    raise WordcamError(
        f"unknown {kind} {name!r}; available: {', '.join(available(group))} "
        f"(plugins register under the entry-point group {group!r})"
    )


def register_model_loader(name: str, factory: Callable[..., Any]) -> None:
    """Register ``factory(arg, **options) -> Classifier`` under ``name`` for this process."""
    _RUNTIME[MODEL_GROUP][name] = factory


def register_explainer(name: str, factory: Callable[..., Any]) -> None:
    """Register ``factory(arg, **options) -> Explainer`` under ``name`` for this process."""
    _RUNTIME[EXPLAINER_GROUP][name] = factory


def load_plugins(plugins: Iterable[str]) -> None:
    """Import each plugin, a module (``pkg.mod``) or a ``.py`` file, in this process.

    For backends registered at run time (:func:`register_model_loader` ...) rather than through
    entry points: a process that did not import them (a Ray actor) imports them first.
    """
    import importlib
    import importlib.util
    from pathlib import Path

    for name in plugins:
        if not name.endswith(".py"):
            importlib.import_module(name)
            continue
        spec = importlib.util.spec_from_file_location("wordcam_plugin_" + Path(name).stem, name)
        if spec is None or spec.loader is None:
            raise WordcamError(f"cannot load the plugin {name}: not a Python file")
        spec.loader.exec_module(importlib.util.module_from_spec(spec))
