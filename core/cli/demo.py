"""``wordcam demo``: the offline end-to-end demo, then the dashboard on its results."""

from __future__ import annotations

import argparse
import json

from core.cli.common import add_device_argument
from core.languages import DEFAULT_LANG, LANGUAGES


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "demo",
        help="offline demo: planted-cue photos -> train -> blind explanations -> keywords -> dashboard",
        description=(
            "Generate a planted-cue photo dataset from photos bundled with installed packages, "
            "train the default model on it, explain the validation photos blind with the "
            "offline grounded explainer, mine the keywords per ward, print the table, write "
            "OUT/summary.json and open the dashboard. Needs no network and no API key."
        ),
    )
    parser.add_argument("--out", default="data/demo", help="output folder (default data/demo)")
    parser.add_argument("--no-dashboard", action="store_true", help="stop after the table")
    parser.add_argument(
        "--epochs", type=int, default=30, help="training epochs of the head (default 30)"
    )
    parser.add_argument("--per-class", type=int, default=80, help="training photos per ward")
    parser.add_argument(
        "--lang", default=DEFAULT_LANG, choices=LANGUAGES, help="explanation language"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--port", type=int, default=8501, help="dashboard port (default 8501)")
    add_device_argument(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    from core.lab.demo import run_demo

    summary = run_demo(
        args.out,
        epochs=args.epochs,
        per_class=args.per_class,
        lang=args.lang,
        seed=args.seed,
        device=args.device,
    )
    print()
    print(summary["table_markdown"])
    print()
    print(
        f"cue recovery: {summary['cue_recovery']:.2f}  "
        f"(a word naming each ward's planted object among its top-10 words)"
    )
    verification = summary.get("verification") or {}
    if isinstance(verification.get("skipped"), str):  # why it did not run (else: a count)
        print(f"verification skipped: {verification['skipped']}")
    else:
        print(
            f"cue verified: {summary['cue_verified']:.2f}  (such a word verified causal: hiding "
            f"its regions lowers the ward's probability more than a same-area control; "
            f"{verification.get('causal', 0)} of {len(verification.get('words', []))} words "
            f"causal, {verification.get('fill')} fill)"
        )
        for line in cue_effect_lines(summary):
            print(line)
    print(
        json.dumps(
            {
                k: summary[k]
                for k in (
                    "image_accuracy",
                    "text_accuracy",
                    "baseline",
                    "validation_top1",
                    "holdout_top1",
                    "wrong_top_names",
                    "seconds_before_dashboard",
                )
            },
            ensure_ascii=False,
        )
    )
    print(f"summary: {args.out}/summary.json   database: {summary['db']}")
    if args.no_dashboard:
        print(f"explore it: wordcam dashboard --db {summary['db']}")
        return 0
    from core.cli import dashboard

    return dashboard.run(argparse.Namespace(db=summary["db"], host="127.0.0.1", port=args.port))


def cue_effect_lines(summary: dict) -> list[str]:
    """Per ward, each planted-object word's effect with its 95% interval and verdict."""
    lines = []
    for ward, cue in (summary.get("cue_recovery_per_class") or {}).items():
        parts = []
        for word, (effect, low, high, verdict) in (cue.get("effects") or {}).items():
            interval = "" if low is None else f" [{low:+.2f}, {high:+.2f}]"
            parts.append(f"{word} {effect:+.2f}{interval} {verdict}")
        if parts:
            lines.append(f"  {ward} ({cue.get('object')}): " + "; ".join(parts))
    return lines
