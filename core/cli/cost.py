"""``wordcam cost``: calls, tokens and estimated cost of vision-language explainers, per model."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "cost",
        help="tokens and estimated cost of VLM explainer calls (from the response cache)",
        description="Totals per model of every call logged in the VLM response cache "
        "($WORDCAM_CACHE_DIR, else $XDG_CACHE_HOME/wordcam or ~/.cache/wordcam). Costs are "
        "estimates from a small price table; unknown models show n/a.",
    )
    parser.add_argument("--since", type=float, metavar="DAYS",
                        help="only calls from the last DAYS days (fractions allowed)")  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    return parser


def _money(value: float | None) -> str:
    return "n/a" if value is None else f"${value:,.4f}"


def run(args: argparse.Namespace) -> int:
    from core.errors import WordcamError
    from core.explainers.vlm_cache import usage_summary

    if args.since is not None and args.since <= 0:
        raise WordcamError(f"--since must be a positive number of days (got {args.since:g})")
    summary = usage_summary(since_days=args.since)
    if args.json:
        json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return 0
    window = f" in the last {args.since:g} days" if args.since is not None else ""
    if not summary["models"]:
        print(f"no VLM calls recorded{window} (cache: {summary['cache']})")
        return 0
    header = ("model", "calls", "ok", "failed", "prompt tok", "completion tok", "est. cost")
    rows = [
        (m["model"], str(m["calls"]), str(m["ok"]), str(m["failed"]),
         f"{m['prompt_tokens']:,}", f"{m['completion_tokens']:,}", _money(m["cost_usd"]))
        for m in summary["models"]
    ]  # fmt: skip
    t = summary["total"]
    rows.append(("TOTAL", str(t["calls"]), str(t["ok"]), str(t["failed"]),
                 f"{t['prompt_tokens']:,}", f"{t['completion_tokens']:,}", _money(t["cost_usd"])))  # fmt: skip
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print(f"VLM calls{window} (cache: {summary['cache']})")
    for row in [header, *rows]:
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        print("  ".join(cells))
    if t["unpriced_calls"]:
        print(
            f"{t['unpriced_calls']} call(s) used models without a known price (not in the estimate)"
        )
    return 0
