"""``wordcam explain IMAGE...``: predictions, Grad-CAM and a worded explanation per photo."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.cli.common import (
    add_cam_arguments,
    add_device_argument,
    add_explainer_arguments,
    add_model_arguments,
    batch_size_for,
    explainer_options,
    model_options,
)
from core.runtime import CUDA_BATCH_SIZE  # a cheap import: no torch

DEFAULT_OUT = Path("data") / "explain"
CPU_BATCH_SIZE = 8


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "explain",
        help="explain why the classifier predicted what it did, in words",
        description=(
            "Classify each photo, compute a class activation map of the prediction, and let an "
            "explainer say in words which parts of the photo drove the decision. Writes an "
            "overlay, a side-by-side panel, a numbered-marks overlay and a thumbnail per photo."
        ),
    )
    parser.add_argument(
        "images", nargs="+", metavar="IMAGE", help="image files or folders of images"
    )
    add_model_arguments(parser)
    add_device_argument(parser.add_argument_group("device"))
    add_cam_arguments(parser)
    add_explainer_arguments(parser, default_mode="informed")
    out = parser.add_argument_group("output")
    out.add_argument("--top-k", type=int, default=3, help="predictions to show (default 3)")
    out.add_argument(
        "--out", default=str(DEFAULT_OUT), help=f"folder for the pictures (default {DEFAULT_OUT})"
    )
    out.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per input line; each prediction has index, label (in --lang), "
        "model_label (the model's own class name) and prob",
    )
    out.add_argument(
        "--batch-size",
        type=int,
        help=f"images per forward pass (default {CPU_BATCH_SIZE} on the CPU, "
        f"{CUDA_BATCH_SIZE} on a GPU)",
    )
    return parser


def run(args: argparse.Namespace) -> int:
    from core.errors import WordcamError
    from core.explainers import check_explainer, load_explainer
    from core.images import expand_inputs
    from core.models import load_model
    from core.pipeline import explain_images

    if args.top_k < 1:
        raise WordcamError(f"--top-k must be at least 1 (got {args.top_k})")
    if args.batch_size is not None and args.batch_size < 1:
        raise WordcamError(f"--batch-size must be at least 1 (got {args.batch_size})")
    inputs = expand_inputs(args.images)
    if not inputs:
        raise WordcamError(
            f"no image files found in {', '.join(args.images)}; give image files or folders"
        )
    explainer = load_explainer(args.explainer, **explainer_options(args))  # cheap: fail fast
    check_explainer(explainer)  # an unreachable endpoint stops here, before any photo
    model = load_model(args.model, device=args.device, **model_options(args))

    failed = 0
    results = explain_images(
        inputs,
        model,
        explainer,
        method=args.method,
        lang=args.lang,
        mode=args.mode,
        top_k=args.top_k,
        out_dir=args.out,
        batch_size=batch_size_for(args, CPU_BATCH_SIZE),
        layer=args.layer,
    )
    for result in results:
        record = result.to_json()
        if record["error"]:
            failed += 1
            print(f"wordcam explain: error: {_one_line(record['error'])}", file=sys.stderr)
        if args.json:
            record["error"] = _one_line(record["error"]) if record["error"] else None
            print(json.dumps(record, ensure_ascii=False, default=str), flush=True)
        elif result.error is None:
            _print_human(record)
    return 1 if failed else 0


def _print_human(record: dict) -> None:
    lines = [record["path"]]
    for rank, p in enumerate(record["predictions"], 1):
        lines.append(f"  {rank}. {p['label']}  {p['prob']:.1%}")
    if record["explanation"]:
        lines.append(f"  {record['explanation']}")
    if record["overlay"]:
        lines.append(f"  overlay: {record['overlay']}")
    print("\n".join(lines) + "\n", flush=True)


def _one_line(text: str) -> str:
    return " ".join(str(text).split())
