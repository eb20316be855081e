"""``wordcam bench``: cue recovery, CAM faithfulness and CAM throughput in one run."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from core.cli.common import add_device_argument
from core.files import replace_text

PARTS = ("cues", "faithfulness", "throughput", "verify", "kinds")


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "bench",
        help="benchmark: cue recovery, CAM faithfulness, CAM throughput",
        description=(
            "Cue recovery on the planted-cue demo (goal >= 0.9), CAM faithfulness per method "
            "(deletion/insertion AUC, ROAD) against random and Sobel baselines, and CAM "
            "throughput. Writes JSON and Markdown."
        ),
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    parser.add_argument("--only", nargs="+", choices=PARTS, help="run only these parts")
    parser.add_argument("--demo-dir", help="folder for the demo run (default: a temporary folder)")
    parser.add_argument(
        "--reuse-demo", action="store_true", help="reuse DEMO_DIR/summary.json if it exists"
    )
    parser.add_argument("--quick", action="store_true", help="fewer steps/repeats (noisier)")
    parser.add_argument(
        "--kinds-groups",
        nargs="+",
        metavar="GROUP",
        help="with --only kinds: measure only these lines of the planted kinds benchmark "
        "(e.g. objects-position spread-attribute; BH then runs over their word-tests alone)",
    )
    add_device_argument(parser)  # the demo behind the cue part; the CAM tables stay on the CPU
    parser.add_argument(
        "--suite",
        action="store_true",
        help="the planted-cue suite instead: object sizes x backgrounds x distractors x "
        "languages x seeds (about 20 min; 3 min with --quick); writes suite.json and suite.md",
    )
    parser.add_argument(
        "--suite-work",
        default="data/suite",
        help="the suite's datasets, models and cached CAMs (default data/suite)",
    )
    parser.add_argument(
        "--before", help="a suite.json of an earlier run: its numbers are shown beside these"
    )
    parser.add_argument(
        "--out", default="benchmarks/results", help="where to write bench.json and bench.md"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    if args.suite:
        return run_suite(args)
    from core.lab.bench import run_bench

    groups = None
    if args.kinds_groups:  # checked before anything runs: an unknown name is one line
        from core.lab.kinds_bench import benchmark_groups

        groups = benchmark_groups(args.kinds_groups)
    report = run_bench(
        tuple(args.only or [p for p in PARTS if p != "kinds"]),  # kinds: --only kinds
        demo_dir=args.demo_dir,
        reuse_demo=args.reuse_demo,
        quick=args.quick,
        device=args.device,
        kinds_groups=groups,
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    record = {k: v for k, v in report.items() if k != "markdown"}
    replace_text(out / "bench.json", json.dumps(record, ensure_ascii=False, indent=1, default=str))
    replace_text(out / "bench.md", report["markdown"] + "\n")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    else:
        print(report["markdown"])
        print(f"\nwritten: {out / 'bench.md'}, {out / 'bench.json'}")
    return 0


def run_suite(args: argparse.Namespace) -> int:
    from core.lab.suite import QUICK, SuiteSettings, run_suite
    from core.lab.suite_report import suite_markdown

    report = run_suite(QUICK if args.quick else SuiteSettings(), work=args.suite_work)
    before = json.loads(Path(args.before).read_text(encoding="utf-8")) if args.before else None
    markdown = suite_markdown(report, before=before)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    replace_text(out / "suite.json", json.dumps(report, ensure_ascii=False, indent=1, default=str))
    replace_text(out / "suite.md", markdown + "\n")
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    else:
        print(markdown)
        print(f"\nwritten: {out / 'suite.md'}, {out / 'suite.json'}")
    return 0
