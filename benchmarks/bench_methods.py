"""Frames per second of every registered method, for ``motionmag methods``: a wrapper.

The measurement is ``motionmag bench`` (``src/motionmag/eval/bench.py``: temporal mode
for classical methods, static mode for learned and two-frame methods, median of
``--runs`` after a warm-up, 2 torch threads, side by side with the oh2018 architecture,
plus GFLOPs, parameters and peak RSS). This script keeps the old flags:

    .venv/bin/python benchmarks/bench_methods.py --write
        = motionmag bench --write-record
    .venv/bin/python benchmarks/bench_methods.py --methods linear,oh2018 --write
        = motionmag bench linear oh2018 --write-record

``--write`` merges the measured methods into ``src/motionmag/magnify/speeds.json``
(each method's fps per size, mode, date and command), which ``motionmag methods`` shows.
"""

from __future__ import annotations

import argparse
import sys

from motionmag.cli import main


def bench_arguments(argv: list[str]) -> list[str]:
    """This script's flags as ``motionmag bench`` arguments."""
    parser = argparse.ArgumentParser(description="fps of every registered method")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--methods", help="comma-separated methods (default: all installed)")
    parser.add_argument("--write", action="store_true", help="merge into speeds.json")
    args = parser.parse_args(argv)
    methods = [m for m in (args.methods or "").split(",") if m]
    return ["bench", *methods, "--runs", str(args.runs)] + (
        ["--write-record"] if args.write else []
    )


if __name__ == "__main__":
    sys.exit(main(bench_arguments(sys.argv[1:])))
