"""DeepMag's paper step against our linear step with a time-smoothed weight, on the pulse.

The paper's step moves each element by ``|G| sgn(X)`` (Eq. 3); summed over time the signs
of the camera noise's frame differences make a random walk, which the band-pass leaves in
the pulse band (:mod:`motionmag.deepmag.magnify`, "Linear step"). Our ``step="linear"``
moves it by ``w X / (3 sigma_c)``, ``w`` the L1-normalised ``|G|`` smoothed along time
(``weight_smooth_s``), so the noise telescopes as in the input. This script magnifies the
physio test videos (test split, 20 s, 128 px) with each variant at fixed steps (N = 20,
blur 2 cells) and scores the motion-compensated pulse in the skin region as the physio
suite does (``eval.physio_measures.pulse_scores``). The variants change the gain per
step, so compare correlations at similar gains.

    python benchmarks/deepmag_linear_step.py --tasks AD --n 2 \\
        --json benchmarks/results/deepmag_linear_step.json

A variant is ``STEP:WEIGHT_SMOOTH_S:GATE_SIGMAS:GAMMA[/GAMMA...]``; the default list is
the paper's step (gate 3, the method's default before 2026-12-01) and the linear step at
a few smoothings and gates.
"""

from __future__ import annotations

import argparse
import sys

import torch

from deepmag_step_variants import frozen_cnn, run_variants, summarise

DEFAULT_VARIANTS = (
    "sign:0:3:1.2e-4/2.4e-4",
    "sign:0.1:3:1.2e-4/2.4e-4",
    "linear:0:3:1e-4/2e-4",
    "linear:0.1:3:1e-4/2e-4",
    "linear:0.1:2:1e-4/2e-4",
    "linear:0.1667:3:1e-4/2e-4",
    "linear:0.1667:2:1e-4/2e-4",
)


def parse_variant(text: str) -> tuple[str, float, float, list[float]]:
    """``STEP:WEIGHT_SMOOTH_S:GATE_SIGMAS:GAMMA[/GAMMA...]`` -> its four parts."""
    step, smooth, gate, gammas = text.split(":")
    return step, float(smooth), float(gate), [float(g) for g in gammas.split("/")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="AD", help="head-motion tasks (letters A-D)")
    parser.add_argument("--n", type=int, default=2, help="test videos per task")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per video")
    parser.add_argument("--variants", nargs="+", default=list(DEFAULT_VARIANTS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cnn = frozen_cnn()
    variants = []
    for text in args.variants:
        step, smooth_s, gate, gammas = parse_variant(text)
        options = {"step": step, "weight_smooth_s": smooth_s, "gate_sigmas": gate}
        variants.append((text, cnn, gammas, options))
    rows = run_variants(args, lambda video: variants)
    summarise(rows, args, sys.argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
