"""Paired sub-pixel comparison: several methods (or weights) on the same scenes, per scene.

``motionmag eval --suite subpixel`` reports each method's mean SSIM per level; the spread
between scenes (SD about 0.08) is far larger than between nets, so whether one net is
within 0.01 of another (the Ha et al. issue's parity goal) is a question about the mean
of *paired* differences, scene by scene. This script renders the suite's scenes
(``eval.pairs.EvalScene``, seed and size as the suite's; alpha = 10 px / motion, Oh et
al. 2018 Fig. 8a) once, runs every method on each, and reports per level each method's
mean SSIM to the true magnified frame and its difference from the first method with the
paired standard error (SD of the differences / sqrt(n)). The means equal those of
``motionmag eval --suite subpixel`` with the same seed, size and n.

    OMP_NUM_THREADS=1 python benchmarks/subpixel_paired.py oh2018 ha2024 ha2024-fast \
        --levels 1 --n 100 --json benchmarks/results/subpixel_paired_1px.json

A method may be given as ``NAME:PATH`` (other weights of that method, e.g. a training
checkpoint exported to safetensors). About 1 s per scene and level for oh2018 at 256 px
on one thread, 0.3 s for ha2024.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

from motionmag.eval.metrics import ssim
from motionmag.eval.pairs import EvalScene
from motionmag.eval.runner import MethodUnderTest
from motionmag.eval.synthetic import MAGNIFIED_PX


def method_of(spec: str) -> MethodUnderTest:
    """``NAME`` or ``NAME:WEIGHTS`` -> the method under test."""
    name, _, weights = spec.partition(":")
    return MethodUnderTest(name, options={"weights": weights} if weights else {})


def paired_scores(
    specs: list[str], levels: list[float], n: int, seed: int = 0, size_px: int = 256
) -> np.ndarray:
    """SSIM to the true frame, shape (method, level, scene)."""
    methods = [method_of(spec) for spec in specs]
    scores = np.zeros((len(methods), len(levels), n))
    for index in tqdm(range(n), desc="scenes", unit="scene", file=sys.stderr):
        scene = EvalScene(index, seed, size_px)
        for j, motion_px in enumerate(levels):
            alpha = MAGNIFIED_PX / motion_px
            case = scene.case(motion_px, alpha)
            for k, method in enumerate(methods):
                scores[k, j, index] = ssim(np.asarray(method.pair(case.A, case.B, alpha)), case.Y)
    return scores


def summarise(scores: np.ndarray, specs: list[str], levels: list[float]) -> list[dict]:
    """Per level and method: mean SSIM, and the paired difference from the first method
    with its standard error."""
    n = scores.shape[2]
    rows = []
    for j, motion_px in enumerate(levels):
        for k, spec in enumerate(specs):
            diff = scores[k, j] - scores[0, j]
            rows.append(
                {
                    "motion_px": motion_px,
                    "method": spec,
                    "ssim": float(scores[k, j].mean()),
                    "diff_vs_first": float(diff.mean()),
                    "paired_se": float(diff.std(ddof=1) / np.sqrt(n)) if n > 1 else None,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("methods", nargs="+", help="methods, or NAME:WEIGHTS.safetensors")
    parser.add_argument("--levels", type=float, nargs="+", default=[0.04, 0.2, 1.0],
                        help="input motions, px (default 0.04 0.2 1)")  # fmt: skip
    parser.add_argument("--n", type=int, default=100, help="scenes (default 100)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    scores = paired_scores(args.methods, args.levels, args.n, args.seed, args.size)
    rows = summarise(scores, args.methods, args.levels)
    for row in rows:
        se = "" if row["paired_se"] is None else f" +- {row['paired_se']:.4f}"
        print(f"{row['motion_px']:g} px  {row['method']:50s} {row['ssim']:.4f}  "
              f"{row['diff_vs_first']:+.4f}{se}")  # fmt: skip
    if args.json:
        from records import write_record  # benchmarks/records.py

        write_record(args.json, indent=1, n=args.n, seed=args.seed, size_px=args.size, rows=rows)
        print("wrote", args.json)


if __name__ == "__main__":
    main()
