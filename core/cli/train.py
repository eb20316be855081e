"""``wordcam train DATA_DIR --out MODEL_DIR``: fine-tune a classifier on one folder per class."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from typing import TYPE_CHECKING, Any

from core.cli.common import add_resource_arguments, printable_metrics
from core.cli.terminal import printable

if TYPE_CHECKING:
    from core.train import TrainSettings

DESCRIPTION = """\
Fine-tune an image classifier on DATA_DIR/<class>/*.jpg (class names may be Japanese) and write
a model directory usable as `--model MODEL_DIR` everywhere (weights, labels, preprocessing,
task, metrics.json, confusion_matrix.png).

examples:
  wordcam train photos/ --out models/wards --task 画像から撮影場所を特定する \\
      --group-by 'place_(\\d+)' --balance --epochs 10
  wordcam train photos/ --out models/r50 --arch torchvision:resnet50 \\
      --init-weights resnet50-imagenet.pth          # torchvision's own download is offline-blocked
  wordcam train photos/ --out models/quick --freeze-backbone --no-augment --epochs 30
"""


def register(subparsers: Any) -> argparse.ArgumentParser:
    p = subparsers.add_parser(
        "train",
        help="fine-tune a classifier on a folder of class sub-folders",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "data_dir", metavar="DATA_DIR", help="folder with one sub-folder of photos per class"
    )
    p.add_argument("--out", required=True, metavar="MODEL_DIR", help="model directory to write")
    _add_model_arguments(p)
    _add_training_arguments(p)
    _add_split_arguments(p)
    add_resource_arguments(p)
    p.add_argument("--json", action="store_true", help="print the metrics as JSON")
    return p


def _add_model_arguments(p: argparse.ArgumentParser) -> None:
    """``--arch``, ``--init-weights``, ``--no-pretrained``, ``--task``."""
    m = p.add_argument_group("model")
    m.add_argument(
        "--arch",
        default="imagenet",
        help="imagenet (default: offline ImageNet EfficientNet-Lite0) or torchvision:NAME "
        "(e.g. torchvision:resnet50; needs --init-weights or --no-pretrained)",
    )
    m.add_argument(
        "--init-weights",
        metavar="PATH",
        help="local state_dict to start from (head tensors of another size are skipped)",
    )
    m.add_argument(
        "--no-pretrained",
        dest="pretrained",
        action="store_false",
        help="start from random weights (torchvision archs without --init-weights)",
    )
    m.add_argument(
        "--task",
        help="what the model does, in words (default 画像の分類), e.g. 画像から撮影場所を特定する",
    )


def _add_training_arguments(p: argparse.ArgumentParser) -> None:
    """Epochs, size, batch, learning rate, regularisation, balance, freezing, seed."""
    t = p.add_argument_group("training")
    t.add_argument("--epochs", type=int, default=10, help="epochs (default 10)")
    t.add_argument("--image-size", type=int, default=224, help="input size in px (default 224)")
    t.add_argument("--batch-size", type=int, default=32, help="batch size (default 32)")
    t.add_argument(
        "--lr",
        type=float,
        help="AdamW learning rate with warm-up + cosine decay (default 1e-4 for the "
        "backbone and 10x for the new head; 1e-3 with --freeze-backbone)",
    )
    t.add_argument(
        "--weight-decay", type=float, default=0.01, help="AdamW weight decay (default 0.01)"
    )
    t.add_argument("--label-smoothing", type=float, default=0.1, help="default 0.1")
    t.add_argument(
        "--balance",
        nargs="?",
        const="sampler",
        choices=["sampler", "loss"],
        help="counter class imbalance: class-balanced sampling (--balance, "
        "--balance sampler) or inverse-frequency loss weights (--balance loss)",
    )
    t.add_argument(
        "--freeze-backbone",
        action="store_true",
        help="train only the classification head (fast on CPU)",
    )
    t.add_argument(
        "--no-augment",
        dest="augment",
        action="store_false",
        help="no augmentation (with --freeze-backbone: backbone features are computed once)",
    )
    t.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


def _add_split_arguments(p: argparse.ArgumentParser) -> None:
    """``--val-split``, ``--group-by``, ``--val-dir``."""
    s = p.add_argument_group("validation split")
    s.add_argument(
        "--val-split",
        type=float,
        default=0.1,
        help="fraction of each class held out for validation (default 0.1; 0 = none)",
    )
    s.add_argument(
        "--group-by",
        metavar="REGEX",
        help="keep photos of one group on one side of the split: the regex's first "
        "group (or whole match) over the path relative to DATA_DIR, e.g. "
        "'place_(\\d+)' or '^[^/]+/[^/]+' (a sub-folder per place)",
    )
    s.add_argument(
        "--val-dir",
        metavar="DIR",
        help="use this folder (same class sub-folders) for validation instead of a split",
    )


def settings_from_args(args: argparse.Namespace) -> TrainSettings:
    """The parsed options as one :class:`core.train.TrainSettings`."""
    from core.train import TrainSettings

    return TrainSettings(
        arch=args.arch,
        init_weights=args.init_weights,
        pretrained=args.pretrained,
        epochs=args.epochs,
        image_size=args.image_size,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        label_smoothing=args.label_smoothing,
        val_split=args.val_split,
        val_dir=args.val_dir,
        group_by=args.group_by,
        balance=args.balance,
        task=args.task,
        seed=args.seed,
        workers=args.workers,
        freeze_backbone=args.freeze_backbone,
        augment=args.augment,
        threads=args.threads,
        device=args.device,
        progress=args.progress and sys.stderr.isatty(),
    )


def run(args: argparse.Namespace) -> int:
    from core.evaluation.report import format_report
    from core.train import train

    metrics = train(args.data_dir, args.out, settings=settings_from_args(args))
    if args.json:
        print(json.dumps(metrics, ensure_ascii=False, indent=1))
        return 0
    logging.getLogger("wordcam.train").debug("metrics: %s", metrics)
    print(
        f"model: {printable(metrics['model_dir'])} (best epoch {metrics['best_epoch']}"
        f"{', interrupted' if metrics['interrupted'] else ''})"
    )
    if metrics["n"]:
        print(format_report(printable_metrics(metrics)))
    else:
        print(f"no validation photos; n=0 skipped={metrics['skipped']}")
    return 0
