"""``torchvision:ARCH`` models with local weights and labels files.

Typical use: a torchvision ResNet-50 whose ``fc`` was replaced by a 7-class head and saved with
``torch.save(model.state_dict(), "model.pth")``::

    load_model("torchvision:resnet50", weights="model.pth", labels="labels.txt",
               task="画像から撮影場所を特定する")
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.errors import ModelError
from core.models.base import DEFAULT_TASK, Classifier


def read_labels(path: str | Path) -> list[str]:
    """Class names from a UTF-8 file: one per line (blank lines and ``#`` comments skipped)
    or a JSON list of strings (a JSON object ``{"0": "cat", ...}`` keyed by index also works)."""
    p = Path(path).expanduser()
    if not p.is_file():
        raise ModelError(f"{p}: labels file not found")
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ModelError(f"{p}: labels file is not UTF-8 text; save it as UTF-8") from None
    stripped = text.strip()
    if stripped.startswith(("[", "{")):
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            raise ModelError(f"{p}: invalid JSON labels ({exc.msg} at line {exc.lineno})") from None
        if isinstance(data, dict):
            try:
                data = [data[k] for k in sorted(data, key=lambda k: int(k))]
            except (ValueError, TypeError):
                raise ModelError(
                    f'{p}: a JSON object of labels must be keyed by class index ("0", "1", ...)'
                ) from None
        if not isinstance(data, list) or not all(isinstance(x, str) for x in data):
            raise ModelError(f"{p}: JSON labels must be a list of strings")
        labels = [x.strip() for x in data]
    else:
        labels = [line.strip() for line in text.splitlines()]
        labels = [x for x in labels if x and not x.startswith("#")]
    if not labels:
        raise ModelError(f"{p}: labels file has no class names")
    if any(not x for x in labels):
        raise ModelError(f"{p}: labels file contains an empty class name")
    dupes = sorted({x for x in labels if labels.count(x) > 1})
    if dupes:
        raise ModelError(f"{p}: duplicate class names: {', '.join(dupes[:5])}")
    return labels


def load_torchvision(
    arch: str | None,
    weights: str | Path | None = None,
    labels: str | Path | list[str] | None = None,
    task: str | None = None,
    random_init: bool = False,
    image_size: int | None = None,
    resize: int | None = None,
    **options: Any,
) -> Classifier:
    """A torchvision classifier from a local state_dict and a labels file.

    ``labels``: a file path or a list of names; it must have as many classes as the weights'
    head (when omitted, a 1000-class head gets the ImageNet names and others ``class_0...``).
    ``random_init=True`` builds an untrained model (tests, smoke runs) and needs ``labels``.
    """
    from core.models.arch import (
        default_preprocessing,
        default_target_layer,
        head_name,
        head_outputs,
        load_weights,
        match_head_to_state,
        normalize_arch,
        read_state_dict,
        replace_head,
    )

    if options:
        raise ModelError(
            f"torchvision:{arch or ''}: unknown option(s) {', '.join(sorted(options))}; "
            "accepted: weights, labels, task, random_init, image_size, resize"
        )
    canonical = normalize_arch(f"torchvision:{arch or ''}")
    name = canonical.partition(":")[2]
    label_list = _labels_from(labels)
    if weights is None and not random_init:
        raise ModelError(
            f"{canonical}: needs a local weights file (--weights model.pth, a state_dict); "
            "torchvision's own pretrained download does not work offline"
        )
    state = read_state_dict(weights) if weights is not None else None

    import torch  # noqa: F401  (fail early with a clear import error, before building)
    import torchvision.models as tvm

    probe_classes = len(label_list) if label_list else 1000
    kwargs: dict[str, Any] = {"weights": None, "num_classes": probe_classes}
    if name in ("googlenet", "inception_v3"):
        kwargs.update(aux_logits=False, init_weights=True)
    module = tvm.get_model(name, **kwargs)
    localized: dict[str, list[str]] = {}
    if state is not None:
        if name in ("googlenet", "inception_v3"):
            state = {k: v for k, v in state.items() if not k.startswith(("aux", "AuxLogits"))}
        match_head_to_state(module, state, str(weights))
        head_key = head_name(module) + ".weight"
        if head_key not in state:
            raise ModelError(
                f"{weights}: no {head_key} tensor, so these are not {canonical} weights; "
                "check the architecture name"
            )
        outputs = int(state[head_key].shape[0])
        if label_list is None:
            label_list, localized = _default_labels(outputs)
        elif len(label_list) != outputs:
            source = labels if isinstance(labels, (str, Path)) else "labels list"
            raise ModelError(
                f"{source}: {len(label_list)} class names but the weights' head ({head_key}) "
                f"has {outputs} outputs; give one label per output, in class-index order"
            )
        if head_outputs(module) != outputs:
            replace_head(module, outputs)
        load_weights(module, state, str(weights))
    elif label_list is None:
        raise ModelError(f"{canonical}: random_init needs labels (a file or a list of names)")

    preprocess = default_preprocessing(canonical)
    if image_size or resize:
        from dataclasses import replace

        size = int(image_size or preprocess.image_size)
        preprocess = replace(
            preprocess, image_size=size, resize=int(resize or round(size * 256 / 224))
        )
    assert label_list is not None
    return Classifier(
        module=module.eval(),
        labels=label_list,
        preprocess=preprocess,
        task=task or DEFAULT_TASK,
        spec=canonical,
        target_layer=default_target_layer(canonical),
        localized_labels=localized,
        arch=canonical,
    )


def _labels_from(labels: str | Path | list[str] | tuple[str, ...] | None) -> list[str] | None:
    if labels is None:
        return None
    if isinstance(labels, (list, tuple)):
        names = [str(x).strip() for x in labels]
        if not names or any(not x for x in names):
            raise ModelError("labels list must be non-empty and contain no empty names")
        return names
    return read_labels(labels)


def _default_labels(outputs: int) -> tuple[list[str], dict[str, list[str]]]:
    if outputs == 1000:
        from core.models.imagenet import imagenet_labels

        names = imagenet_labels()
        return list(names["en"]), {lang: list(v) for lang, v in names.items()}
    return [f"class_{i}" for i in range(outputs)], {}
