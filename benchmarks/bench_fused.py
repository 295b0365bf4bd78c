"""Frames per second of the learned methods with and without oneDNN-fused convolutions.

``nets/fused.py`` runs the networks' ``pad -> conv -> ReLU`` and ResBlocks as oneDNN
convolutions with the ReLU and the residual add fused in (the method option ``fused``,
on by default). This times ``oh2018`` and ``ha2024`` in static mode, as ``motionmag
bench`` does (``eval.bench.measure_case``: random uint8 frames pushed through the
magnifier after warm-up, 2 threads), at each precision with ``fused=False`` and
``fused=True``. The cases alternate in rounds in one process, so each fused / unfused
ratio is measured side by side; the table gives the median fps over the rounds and the
median of the per-round ratios.

    python benchmarks/bench_fused.py --json benchmarks/results/bench_fused.json
"""

from __future__ import annotations

import argparse
import statistics
import sys

from motionmag.eval.bench import (
    BenchCase,
    default_frames,
    machine,
    measure_case,
    parse_sizes,
)
from motionmag.magnify.registry import get_method, weights_available
from records import write_record  # benchmarks/records.py


def cases(methods: list[str], precisions: list[str], width: int, height: int, threads: int):
    """(method, precision, fused) -> BenchCase, one timed run of default_frames pushes each."""
    frames = default_frames(width, height)
    table = {}
    for method in methods:
        weights = "installed" if weights_available(get_method(method)) else "random"
        for precision in precisions:
            for fused in (False, True):
                options = (("fused", fused), ("precision", precision))
                table[(method, precision, fused)] = BenchCase(
                    method, "static", width, height, frames, 1, threads, weights, options=options
                )
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="oh2018,ha2024")
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--sizes", default="640x360")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    methods = args.methods.split(",")
    precisions = args.precisions.split(",")
    rows = []
    for width, height in parse_sizes(args.sizes):
        table = cases(methods, precisions, width, height, args.threads)
        fps: dict[tuple, list[float]] = {key: [] for key in table}
        for round_index in range(args.rounds):
            for key, case in table.items():
                fps[key].append(measure_case(case).fps)
            print(f"round {round_index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
        for method in methods:
            for precision in precisions:
                plain, fused = fps[(method, precision, False)], fps[(method, precision, True)]
                ratios = [f / p for f, p in zip(fused, plain, strict=True)]
                rows.append(
                    {
                        "method": method,
                        "precision": precision,
                        "size": f"{width}x{height}",
                        "fps_unfused": round(statistics.median(plain), 3),
                        "fps_fused": round(statistics.median(fused), 3),
                        "speedup": round(statistics.median(ratios), 3),
                        "fps_unfused_runs": [round(v, 3) for v in plain],
                        "fps_fused_runs": [round(v, 3) for v in fused],
                    }
                )
    header = ("method", "precision", "size", "unfused fps", "fused fps", "x")
    print("{:8s} {:9s} {:9s} {:>11s} {:>9s} {:>6s}".format(*header))
    for row in rows:
        print(
            f"{row['method']:8s} {row['precision']:9s} {row['size']:9s} "
            f"{row['fps_unfused']:11.2f} {row['fps_fused']:9.2f} {row['speedup']:6.2f}"
        )
    if args.json:
        write_record(
            args.json,
            machine=machine(),
            threads=args.threads,
            rounds=args.rounds,
            results=rows,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
