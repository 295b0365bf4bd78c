"""Frames per second of one learned method at several decode batch sizes, side by side.

The method option ``batch`` runs the manipulator and decoder on N frames at once
(``magnify/learned.py``). This times one method in static mode, as ``motionmag bench``
does (``eval.bench.measure_case``: random uint8 frames pushed through the magnifier after
warm-up), once per batch size in each round, the rounds alternating in one process, so
the ratios between batch sizes are measured side by side on a noisy machine. The table
gives the median fps over the rounds and each batch size's median ratio to the first
(``ratio_to_first``).

    python benchmarks/bench_batch.py ha2024-fast --batches 4 8 16 --set precision=bf16 --rounds 8 \
        --json benchmarks/results/bench_batch_ha2024_fast_bf16.json
"""

from __future__ import annotations

import argparse
import statistics
import sys

from motionmag.cli import _option  # the command line's own --set KEY=VALUE parser
from motionmag.eval.bench import BenchCase, machine, measure_case, parse_sizes
from motionmag.magnify.registry import get_method, weights_available
from records import write_record  # benchmarks/records.py


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("method")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--set", type=_option, action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--frames", type=int, default=48, help="pushes per timed run")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    (width, height), *_ = parse_sizes(args.size)
    weights = "installed" if weights_available(get_method(args.method)) else "random"
    extra = tuple(args.set)
    fps: dict[int, list[float]] = {batch: [] for batch in args.batches}
    for round_index in range(args.rounds):
        for batch in args.batches:
            case = BenchCase(
                args.method,
                "static",
                width,
                height,
                args.frames,
                1,
                args.threads,
                weights,
                options=(*extra, ("batch", batch)),
            )
            fps[batch].append(measure_case(case).fps)
        print(f"round {round_index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    first = args.batches[0]
    rows = [
        {
            "batch": batch,
            "fps": round(statistics.median(runs), 3),
            "ratio_to_first": round(
                statistics.median(f / b for f, b in zip(runs, fps[first], strict=True)), 3
            ),
            "fps_runs": [round(v, 3) for v in runs],
        }
        for batch, runs in fps.items()
    ]
    print(f"{args.method} {width}x{height} {dict(extra)}")
    for row in rows:
        print(f"batch {row['batch']:3d}  {row['fps']:7.2f} fps  x{row['ratio_to_first']:.3f}")
    if args.json:
        write_record(
            args.json,
            machine=machine(),
            method=args.method,
            size=f"{width}x{height}",
            options=dict(extra),
            threads=args.threads,
            rounds=args.rounds,
            frames=args.frames,
            results=rows,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
