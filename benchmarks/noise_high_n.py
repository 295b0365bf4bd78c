"""The noise-small test from noise factor 1 up, with the 100 scenes per level that
EVALUATION.md asks for (the model cards use 10): does a learned net stay above `phase`
at noise factor >= 1 (issue 8's goal), or is the card's crossing at factor ~40 the
10-scene noise?

    python benchmarks/noise_high_n.py oh2018 phase [--n 100] [--min-factor 1] [--json PATH]

A method may be ``NAME:WEIGHTS`` (an exported checkpoint, as in ``subpixel_paired.py``).
"""

from __future__ import annotations

import argparse

import numpy as np

from motionmag.eval.synthetic import NOISE_LEVELS, run_noise_small
from records import write_record  # benchmarks/records.py
from subpixel_paired import method_of  # benchmarks/subpixel_paired.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("methods", nargs="+")
    parser.add_argument("--n", type=int, default=100)
    parser.add_argument(
        "--min-factor",
        type=float,
        default=1.0,
        help="lowest noise factor run (default 1; e.g. 30 screens only the heavy-noise end)",
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    levels = [f for f in NOISE_LEVELS if f >= args.min_factor * (1 - 1e-9)]
    results = {}
    for name in args.methods:
        result = run_noise_small(method_of(name), n=args.n, levels=levels, progress=False)
        results[name] = {
            "x": [round(level.x, 4) for level in result.levels],
            "ssim": [level.values["ssim"] for level in result.levels],
            "ssim_sem": [level.spread["ssim"] / np.sqrt(level.n) for level in result.levels],
        }
        print(name, np.round(results[name]["ssim"], 4).tolist(), flush=True)
    if args.json:
        write_record(args.json, n_per_level=args.n, size_px=256, results=results)


if __name__ == "__main__":
    main()
