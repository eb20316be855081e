"""Arguments shared by several sub-commands (model, device, CAM, explainer options)."""

from __future__ import annotations

import argparse
from typing import Any

from core.attribution import METHOD_NAMES as CAM_METHOD_NAMES  # a cheap import: no torch
from core.languages import DEFAULT_LANG, LANGUAGES


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """``--model``, ``--weights``, ``--labels``, ``--task``."""
    g = parser.add_argument_group("model")
    g.add_argument(
        "--model",
        default="imagenet",
        help="imagenet (default, offline EfficientNet-Lite0), torchvision:ARCH, "
        "or a model directory written by `wordcam train`",
    )
    g.add_argument("--weights", help="weights file for torchvision:ARCH (a state_dict .pth)")
    g.add_argument(
        "--labels", help="labels file for torchvision:ARCH (one class per line, or JSON list)"
    )
    g.add_argument("--task", help="what the model does, in words (overrides the model's own)")


def model_options(args: argparse.Namespace) -> dict[str, Any]:
    """Loader options from parsed ``add_model_arguments`` flags (only those the user set)."""
    return {k: v for k in ("weights", "labels", "task") if (v := getattr(args, k, None))}


def positive_int(text: str) -> int:
    """argparse ``type`` of a count that must be at least 1 (argparse's one-line error)."""
    return _bounded_int(text, 1)


def non_negative_int(text: str) -> int:
    """argparse ``type`` of a count that may be 0 but not negative."""
    return _bounded_int(text, 0)


def _bounded_int(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"must be at least {least} (got {value})")
    return value


DEVICE_HELP = "where the model runs: auto (default: the GPU when there is one), cpu, cuda or cuda:N"


def device_arg(text: str) -> str:
    """argparse ``type`` of ``--device``: the normalised name, or argparse's one-line error."""
    from core.errors import WordcamError
    from core.runtime import parse_device

    try:
        return parse_device(text)
    except WordcamError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_device_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--device auto|cpu|cuda[:N]`` and ``--runtime`` (explain, precompute, bench, demo, train,
    eval)."""
    parser.add_argument("--device", default="auto", type=device_arg, help=DEVICE_HELP)
    parser.add_argument(
        "--runtime",
        choices=("torch", "openvino", "auto"),
        action=_RuntimeAction,
        help="what runs the CPU forward passes: torch, openvino (pip install "
        "'wordcam[fast]', installed by scripts/setup.sh) or auto (default: the fastest "
        "installed); also WORDCAM_RUNTIME",
    )


class _RuntimeAction(argparse.Action):
    """``--runtime``: chosen for this process and its workers (core.models.accelerate)."""

    def __call__(self, parser: Any, namespace: Any, value: Any, option: Any = None) -> None:
        from core.models.accelerate import set_runtime

        try:
            set_runtime(value)
        except ValueError as exc:
            parser.error(str(exc))
        setattr(namespace, self.dest, value)


def batch_size_for(args: argparse.Namespace, cpu: int) -> int:
    """``--batch-size`` when given, else the default of ``--device``: ``cpu`` images on the
    CPU, :data:`core.runtime.CUDA_BATCH_SIZE` at least on a GPU. Resolves ``auto`` (torch)."""
    from core.runtime import default_batch_size, resolve_device

    if getattr(args, "batch_size", None) is not None:
        return int(args.batch_size)
    return default_batch_size(resolve_device(getattr(args, "device", "auto")), cpu)


def add_resource_arguments(parser: argparse.ArgumentParser) -> None:
    """``--workers``, ``--threads``, ``--device``, ``--no-progress`` (train and eval)."""
    g = parser.add_argument_group("resources")
    g.add_argument(
        "--workers",
        type=int,
        default=2,
        help="processes decoding photos (default 2; 0 = in the main process)",
    )
    g.add_argument("--threads", type=int, help="torch threads (default: every CPU)")
    add_device_argument(g)
    g.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")


def add_cam_arguments(parser: argparse.ArgumentParser) -> None:
    """``--method``, ``--layer``."""
    g = parser.add_argument_group("attribution")
    g.add_argument(
        "--method", default="gradcam", choices=CAM_METHOD_NAMES, help="CAM method (default gradcam)"
    )
    g.add_argument(
        "--layer",
        help="target layer as a dotted module name, e.g. layer4.2 (default: chosen automatically)",
    )


def add_explainer_arguments(parser: argparse.ArgumentParser, default_mode: str) -> None:
    """Explainer spec, language, mode and the options of vision-language explainers."""
    g = parser.add_argument_group("explainer")
    g.add_argument(
        "--explainer",
        default="grounded",
        help="grounded (default, offline) or openai:MODEL (gpt-4o, gpt-4.1, any "
        "OpenAI-compatible model with --base-url)",
    )
    g.add_argument("--lang", default=DEFAULT_LANG, choices=LANGUAGES, help="explanation language")
    g.add_argument(
        "--mode",
        default=default_mode,
        choices=["blind", "informed"],
        help=f"informed shows the predicted label to the explainer; blind withholds "
        f"it (default {default_mode})",
    )
    v = parser.add_argument_group("vision-language explainer (openai:MODEL)")
    v.add_argument(
        "--base-url", help="OpenAI-compatible endpoint (default: OPENAI_BASE_URL or OpenAI)"
    )
    v.add_argument("--prompt-template", help="Jinja template file replacing the built-in prompt")
    v.add_argument(
        "--structured",
        action="store_true",
        help="ask for a JSON list of {object, feature, region} and validate it",
    )
    v.add_argument(
        "--images",
        dest="image_mode",
        choices=["pair", "panel", "marks"],
        help="images sent: input + overlay (pair, default), side-by-side panel, "
        "or the numbered-marks overlay",
    )
    v.add_argument(
        "--max-side", type=int, help="resize sent images to this long side in px (default 512)"
    )
    v.add_argument("--concurrency", type=int, help="parallel requests (default 4)")
    v.add_argument("--rpm", type=float, help="at most this many requests per minute")
    v.add_argument("--timeout", type=float, help="seconds per request (default 60)")
    v.add_argument("--max-retries", type=int, help="retries on 429/5xx/timeouts (default 5)")
    v.add_argument(
        "--no-cache", action="store_true", help="do not read or write the response cache"
    )


_VLM_OPTIONS = (
    "base_url",
    "prompt_template",
    "structured",
    "image_mode",
    "max_side",
    "concurrency",
    "rpm",
    "timeout",
    "max_retries",
    "no_cache",
)


def explainer_options(args: argparse.Namespace) -> dict[str, Any]:
    """Options for ``load_explainer(args.explainer, **options)``.

    Every explainer receives ``lang``; the vision-language options are passed only when the
    user set them (explainers reject options they do not understand). A 0 is a value, passed
    on like any other: ``--max-retries 0`` means no retries, and the explainer refuses a 0
    that means nothing (``--rpm``, ``--timeout``, ``--concurrency``, ``--max-side``).
    """
    options: dict[str, Any] = {"lang": args.lang}
    for name in _VLM_OPTIONS:
        value = getattr(args, name, None)
        if value is not None and value is not False:
            options[name] = value
    return options


def printable_metrics(metrics: dict[str, Any]) -> dict[str, Any]:
    """``metrics`` for :func:`core.evaluation.report.format_report` with every class name and
    skipped path through :func:`core.cli.terminal.printable` (a name cannot split a line)."""
    from core.cli.terminal import printable

    skipped = [
        {**s, "path": printable(s.get("path", "")), "error": printable(s.get("error", ""))}
        for s in metrics.get("skipped_files") or []
    ]
    return {
        **metrics,
        "labels": [printable(n) for n in metrics["labels"]],
        "per_class": {printable(k): v for k, v in metrics["per_class"].items()},
        "skipped_files": skipped,
    }
