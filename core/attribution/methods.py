"""CAM method names and the method registry; importing this module does not import torch.

A method is one class, a subclass of :class:`core.attribution.cams.CamMethod`, that overrides
the weight function (``get_cam_weights``) or, for methods that are not a weighted sum of
channels, ``get_cam_image``. The built-in methods live in :mod:`core.attribution.cams` and are
found by name here without importing it; a method defined elsewhere joins with
:func:`register_method` and then works through ``attribute(..., method=name)``.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import threading
from typing import Any

from core.attribution.errors import AttributionError

# Built-in method name -> class name in core.attribution.cams (loaded on first use).
_BUILTIN: dict[str, str] = {
    "gradcam": "GradCAM",
    "gradcam++": "GradCAMPlusPlus",
    "hirescam": "HiResCAM",
    "xgradcam": "XGradCAM",
    "layercam": "LayerCAM",
    "eigencam": "EigenCAM",
    "scorecam": "ScoreCAM",
}
METHOD_NAMES: tuple[str, ...] = tuple(_BUILTIN)
_ALIASES: dict[str, str] = {
    "gradcampp": "gradcam++",
    "gradcamplusplus": "gradcam++",
    "gradcam+": "gradcam++",
    "hires": "hirescam",
    "xgrad": "xgradcam",
    "layer": "layercam",
    "eigen": "eigencam",
    "score": "scorecam",
}
# Methods registered with register_method: name -> class.
_REGISTERED: dict[str, type] = {}
_GUARD = threading.Lock()


def _key(method: str) -> str:
    return str(method).strip().lower().replace("-", "").replace("_", "").replace(" ", "")


def method_names() -> tuple[str, ...]:
    """Every method name: the built-in ones (:data:`METHOD_NAMES`), then registered ones."""
    return METHOD_NAMES + tuple(n for n in _REGISTERED if n not in _BUILTIN)


def normalize_method(method: str) -> str:
    """Canonical method name (``"Grad-CAM++"`` -> ``"gradcam++"``); raises on unknown names."""
    key = _key(method)
    key = _ALIASES.get(key, key)
    if key not in _BUILTIN and key not in _REGISTERED:
        raise AttributionError(
            f"unknown CAM method {method!r}: choose one of {', '.join(method_names())}"
        )
    return key


def register_method(cls: type) -> type:
    """Make a :class:`~core.attribution.cams.CamMethod` subclass usable by its ``name``.

    Usable as a class decorator. The class's ``name`` (and ``aliases``) are normalised like
    user input; registering a different class under a taken name raises.
    """
    from core.attribution.cams import CamMethod

    if not (isinstance(cls, type) and issubclass(cls, CamMethod)):
        raise AttributionError(f"{cls!r} is not a CamMethod subclass")
    name = _key(getattr(cls, "name", ""))
    if not name:
        raise AttributionError(f"{cls.__name__} has no name: set the class attribute `name`")
    with _GUARD:
        taken = _REGISTERED.get(name) or (name in _BUILTIN and method_class(name))
        if taken and taken is not cls:
            raise AttributionError(f"CAM method {name!r} is already defined ({taken.__name__})")
        _REGISTERED[name] = cls
        for alias in getattr(cls, "aliases", ()):
            _ALIASES[_key(alias)] = name
    return cls


# Built-in methods that re-run the model on the input (``needs_input``): no split body.
_BUILTIN_NEEDS_INPUT = frozenset({"scorecam"})


def needs_input(method: str) -> bool:
    """Whether ``method``'s class re-runs the whole model on the input (``needs_input``),
    answered for a built-in method without importing the CAM classes."""
    name = normalize_method(method)
    if name in _REGISTERED:
        return bool(_REGISTERED[name].needs_input)
    return name in _BUILTIN_NEEDS_INPUT


def method_class(method: str) -> Any:
    """The :class:`~core.attribution.cams.CamMethod` subclass of ``method`` (any spelling)."""
    name = normalize_method(method)
    if name in _REGISTERED:
        return _REGISTERED[name]
    cams = importlib.import_module("core.attribution.cams")
    return getattr(cams, _BUILTIN[name])


_PRELOAD: list[threading.Thread] = []


def preload(freeze: bool = False) -> None:
    """Start importing the CAM classes on a background thread (once per process).

    pytorch-grad-cam's package imports torchvision, scikit-learn, OpenCV and matplotlib
    (5-20 s on a laptop CPU, whichever classes are used); a job that calls this when it starts
    does that while it loads its model and decodes its first photos instead of before its
    first CAM. Importing waits for the same import where it is needed (Python's import lock).
    ``freeze``: then freeze the objects alive (``gc.freeze``, see :data:`_FREEZE`): a process
    of wordcam's own (a job, a CLI command) asks for it; a library call leaves the caller's
    collector alone.
    """
    with _GUARD:
        _FREEZE[0] = _FREEZE[0] or freeze
        if not _PRELOAD:
            thread = threading.Thread(
                target=_import_quietly, name="wordcam-cam-import", daemon=True
            )
            _PRELOAD.append(thread)
            thread.start()


def _import_quietly() -> None:
    # A failure is raised properly by the import where the classes are needed.
    with contextlib.suppress(Exception), _collector_paused():
        importlib.import_module("core.attribution.cams")
        if _FREEZE[0]:  # before the collector is back: its next pass would visit
            gc.freeze()  # every object made meanwhile (0.3 s)


# Freeze the objects alive once the CAM classes are imported (gc.freeze: the modules' own
# objects, about 490,000, once per process): the collector's passes during the job skip them
# (192 photos: 0.3 s less CPU), and the first pass after the import does not visit the
# import's objects (0.3 s). The import's own garbage (about 15,000 objects) stays. Only when
# a caller of :func:`preload` asked for it (``freeze=True``: wordcam's own processes).
_FREEZE = [False]
# [imports running with the collector paused, whether it was on before the first of them]
_PAUSED: list[Any] = [0, True]
_PAUSE_GUARD = threading.Lock()


@contextlib.contextmanager
def _collector_paused() -> Any:
    """Python's cyclic garbage collector off for the duration (its previous state restored).

    pytorch-grad-cam's import creates about 280,000 objects on top of torch's 200,000, and the
    collector's full passes over all of them took 0.9 of the import's 2.6 s (1.8 s paused);
    the job's first CAM waits for this import. Imports create few cycles worth collecting."""
    with _PAUSE_GUARD:
        if _PAUSED[0] == 0:
            _PAUSED[1] = gc.isenabled()
        _PAUSED[0] += 1
        gc.disable()
    try:
        yield
    finally:
        with _PAUSE_GUARD:
            _PAUSED[0] -= 1
            if _PAUSED[0] == 0 and _PAUSED[1]:
                gc.enable()


def reference_classes() -> dict[str, type]:
    """Built-in method name -> pytorch-grad-cam's own class (what the maps are checked against)."""
    return {name: method_class(name).reference for name in METHOD_NAMES}
