"""``wordcam eval MODEL_DIR DATA_DIR``: accuracy, macro-F1 and the confusion matrix."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.cli.common import add_resource_arguments, printable_metrics


def register(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "eval",
        help="evaluate a model on a folder of class sub-folders",
        description="Evaluate a model (a directory written by `wordcam train`) on "
        "DATA_DIR/<class>/*.jpg: top-1/top-3 accuracy, macro-F1, per-class recall and "
        "the confusion matrix. The last line is a one-line summary, e.g. "
        "`top1=0.912 top3=0.990 macro_f1=0.905 n=340 skipped=1`.",
    )
    p.add_argument("model", metavar="MODEL_DIR", help="model directory written by `wordcam train`")
    p.add_argument(
        "data_dir", metavar="DATA_DIR", help="folder with one sub-folder of photos per class"
    )
    p.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    add_resource_arguments(p)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON instead")
    return p


def run(args: argparse.Namespace) -> int:
    from core.evaluation import evaluate
    from core.evaluation.report import format_report

    metrics = evaluate(
        args.model,
        args.data_dir,
        batch_size=args.batch_size,
        workers=args.workers,
        threads=args.threads,
        device=args.device,
        progress=args.progress and sys.stderr.isatty(),
    )
    if args.json:
        print(json.dumps(metrics, ensure_ascii=False, indent=1))
    else:
        print(format_report(printable_metrics(metrics)))
    return 0
