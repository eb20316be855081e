"""Model directories: a trained classifier as plain files, loadable without code.

Layout::

    my_model/
      wordcam_model.json   {"format": "wordcam-model/1", "arch", "labels", "task",
                            "preprocessing", "target_layer", "localized_labels", ...extra}
      weights.pt           the module's state_dict (loaded with weights_only=True)
      metrics.json, confusion_matrix.png   (optional, written by `wordcam train`)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import ModelError
from core.files import replace_file, replace_text
from core.models.base import DEFAULT_TASK, Classifier, Preprocessing

FORMAT = "wordcam-model/1"
INFO_FILE = "wordcam_model.json"
WEIGHTS_FILE = "weights.pt"
_RESERVED = frozenset(
    {"format", "arch", "labels", "task", "preprocessing", "target_layer", "localized_labels"}
)


def save_model_dir(
    classifier: Classifier, path: str | Path, extra: dict[str, Any] | None = None
) -> Path:
    """Write ``classifier`` to the directory ``path`` (created if needed); returns the path.

    ``extra`` adds JSON-serialisable top-level fields (e.g. training settings); it may not
    override the reserved fields.
    """
    import torch

    from core.models.arch import normalize_arch

    if not classifier.arch:
        raise ModelError(
            f"cannot save model {classifier.spec or '?'}: its architecture is unknown "
            "(Classifier.arch is empty); set arch to 'efficientnet_lite0' or 'torchvision:NAME'"
        )
    arch = normalize_arch(classifier.arch)
    clash = sorted(_RESERVED & set(extra or {}))
    if clash:
        raise ModelError(f"extra model fields may not override {', '.join(clash)}")
    out = Path(path).expanduser()
    if out.exists() and not out.is_dir():
        raise ModelError(f"{out}: exists and is not a directory; choose another output path")
    out.mkdir(parents=True, exist_ok=True)
    info: dict[str, Any] = {
        "format": FORMAT,
        "arch": arch,
        "labels": list(classifier.labels),
        "task": classifier.task,
        "preprocessing": classifier.preprocess.to_dict(),
        "target_layer": classifier.target_layer,
        "localized_labels": {k: list(v) for k, v in classifier.localized_labels.items()},
    }
    info.update(extra or {})
    state = {k: v.detach().cpu().contiguous() for k, v in classifier.module.state_dict().items()}
    replace_file(out / WEIGHTS_FILE, lambda fh: torch.save(state, fh))
    text = json.dumps(info, ensure_ascii=False, indent=2) + "\n"
    replace_text(out / INFO_FILE, text)
    return out


def read_model_info(path: str | Path) -> dict[str, Any]:
    """The validated contents of a model directory's ``wordcam_model.json``."""
    root = Path(path).expanduser()
    if not root.exists():
        raise ModelError(f"{root}: model directory not found")
    if not root.is_dir():
        raise ModelError(f"{root}: not a directory; a model directory holds {INFO_FILE}")
    info_path = root / INFO_FILE
    if not info_path.is_file():
        raise ModelError(
            f"{root}: no {INFO_FILE}, so this is not a wordcam model directory "
            "(write one with `wordcam train` or core.models.model_dir.save_model_dir)"
        )
    try:
        info = json.loads(info_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ModelError(f"{info_path}: invalid JSON ({exc})") from None
    if not isinstance(info, dict):
        raise ModelError(f"{info_path}: expected a JSON object")
    fmt = info.get("format")
    if fmt != FORMAT:
        raise ModelError(
            f"{info_path}: format {fmt!r} is not supported (expected {FORMAT!r}); "
            "re-export the model with this version of wordcam"
        )
    for key in ("arch", "labels"):
        if key not in info:
            raise ModelError(f"{info_path}: missing field {key!r}")
    labels = info["labels"]
    if (
        not isinstance(labels, list)
        or not labels
        or not all(isinstance(x, str) and x for x in labels)
    ):
        raise ModelError(f"{info_path}: 'labels' must be a non-empty list of class names")
    if not isinstance(info.get("preprocessing", {}), dict):
        raise ModelError(f"{info_path}: 'preprocessing' must be an object")
    return info


def load_model_dir(path: str | Path | None, task: str | None = None, **options: Any) -> Classifier:
    """Load a model directory written by :func:`save_model_dir` (or ``wordcam train``)."""
    from core.models.arch import (
        build_module,
        load_weights,
        match_head_to_state,
        normalize_arch,
        read_state_dict,
    )

    if path is None or not str(path).strip():
        raise ModelError("dir:PATH needs the path of a model directory, e.g. dir:runs/my_model")

    given = sorted(k for k, v in options.items() if v is not None and v is not False)
    if given:
        flags = ", ".join("--" + k.replace("_", "-") for k in given)
        raise ModelError(
            f"{path}: {flags} cannot be used with a model directory; it has its own weights "
            "and labels (only --task may override)"
        )
    root = Path(path).expanduser()
    info = read_model_info(root)
    weights = root / WEIGHTS_FILE
    if not weights.is_file():
        raise ModelError(f"{root}: {WEIGHTS_FILE} is missing; the model directory is incomplete")
    labels: list[str] = info["labels"]
    module = build_module(info["arch"], len(labels), pretrained=False)
    state = read_state_dict(weights)
    match_head_to_state(module, state, str(weights))
    load_weights(module, state, str(weights))
    localized = info.get("localized_labels") or {}
    localized = {
        str(lang): [str(x) for x in names]
        for lang, names in localized.items()
        if isinstance(names, list) and len(names) == len(labels)
    }
    return Classifier(
        module=module.eval(),
        labels=list(labels),
        preprocess=Preprocessing.from_dict(info.get("preprocessing") or {}),
        task=task or info.get("task") or DEFAULT_TASK,
        spec=str(root),
        target_layer=info.get("target_layer"),
        localized_labels=localized,
        arch=normalize_arch(info["arch"]),
    )


def check_model_dir_labels(path: str | Path) -> None:
    """Refuse a model directory whose labels do not fit its weights' head, naming both counts.

    Reads ``wordcam_model.json`` and the shapes in ``weights.pt`` (memory-mapped, nothing is
    built); anything else that is wrong is left to :func:`load_model_dir`'s own errors.
    """
    folder = Path(path).expanduser()
    info_path, weights_path = folder / INFO_FILE, folder / WEIGHTS_FILE
    if not (info_path.is_file() and weights_path.is_file()):
        return
    import torch

    try:
        labels = json.loads(info_path.read_text(encoding="utf-8"))["labels"]
        state = torch.load(weights_path, weights_only=True, map_location="cpu", mmap=True)
    except Exception:  # noqa: BLE001 - the loader reports unreadable files precisely
        return
    if not isinstance(labels, list) or not isinstance(state, dict):
        return
    heads = [
        k
        for k, v in state.items()
        if isinstance(v, torch.Tensor) and k.endswith("weight") and v.ndim == 2
    ]
    if heads and state[heads[-1]].shape[0] != len(labels):
        raise ModelError(
            f"{folder}: {INFO_FILE} lists {len(labels)} labels but the weights' head "
            f"({heads[-1]}) has {state[heads[-1]].shape[0]} outputs; the labels do not belong to "
            f"these weights (restore the labels or retrain)"
        )
