"""Re-measure a shipped DeepMag model's alpha calibration on more (and longer) train videos.

The calibration written at export (:mod:`motionmag.deepmag.calibration`) uses 4 train
videos; a video's gain at one step varies 2-5x (the L1 normalisation moves every frame by
the same amount, whatever the video's own signal amplitude), so 4 videos leave the mean
uncertain. This script measures the curve again on ``--videos`` fresh train videos
(indices 10000 ...; tasks A-D in turn) of ``--duration`` seconds and replaces the card's
``"calibration"`` with the new one (the command is stored in it). The weights are not
touched.

    python benchmarks/recalibrate_deepmag.py motion --videos 6 --duration 20 \
        --multipliers 0.125 0.25 0.5 1 2 --card src/motionmag/models/weights/deepmag-motion.json

(the shipped card's calibration, 26 minutes on 1 thread beside a training run). For the
colour path the calibration is measured with ``--smooth-cells``, ``--gate-sigmas``,
``--step`` and ``--weight-smooth-s`` (default: the method's blur of the change, noise
gate, step and weight smoothing) and recorded with them; one measured with other values
is kept under the card's ``"calibrations"``, so ``--set smooth_cells=0 --set
gate_sigmas=0 --set step=sign --set weight_smooth_s=0`` (the paper's) still finds its own.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import torch

from motionmag.deepmag.calibration import calibrate_color, calibrate_motion, keep_calibration
from motionmag.deepmag.magnify import GATE_SIGMAS, SMOOTH_CELLS, STEP, STEPS, WEIGHT_SMOOTH_S
from motionmag.deepmag.train import ColorTrainConfig
from motionmag.deepmag.train_motion import MotionTrainConfig
from motionmag.eval.physio_measures import respiration_scores
from motionmag.models.registry import create_model

#: the chest search's reach when the gain is measured (as at export: cli_train)
MEASURE_REACH = 8.0
FIRST_INDEX = 10000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=("color", "motion"))
    parser.add_argument("--card", required=True, help="the model card JSON to update")
    parser.add_argument("--videos", type=int, default=8)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds per video")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--smooth-cells", type=float, default=SMOOTH_CELLS,
        help="color: the blur of the change to calibrate (default: the method's)",
    )  # fmt: skip
    parser.add_argument(
        "--gate-sigmas", type=float, default=GATE_SIGMAS,
        help="color: the noise gate of the step to calibrate (default: the method's)",
    )  # fmt: skip
    parser.add_argument(
        "--step", choices=STEPS, default=STEP,
        help="color: the step to calibrate (default: the method's)",
    )  # fmt: skip
    parser.add_argument(
        "--weight-smooth-s", type=float, default=WEIGHT_SMOOTH_S,
        help="color: the time smoothing of the step's weight, s (default: the method's)",
    )  # fmt: skip
    parser.add_argument(
        "--multipliers", type=float, nargs="+", default=None,
        help="steps as multiples of the paper's gamma (default: calibration.py's)",
    )  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    card_path = Path(args.card)
    card = json.loads(card_path.read_text())
    weights = card_path.with_suffix(".safetensors")
    name = f"deepmag-{args.kind}"
    model = create_model(name, weights=str(weights))
    for p in model.parameters():
        p.requires_grad_(False)
    indices = tuple(range(FIRST_INDEX, FIRST_INDEX + args.videos))
    steps = {"multipliers": tuple(args.multipliers)} if args.multipliers else {}
    started = time.monotonic()
    if args.kind == "motion":
        net = card["network"]["config"]
        config = MotionTrainConfig(
            seed=card["data"]["seed"], size_px=card["data"]["size_px"],
            net_size_px=net["size_px"], orientations=net["orientations"],
        )  # fmt: skip
        calibration = calibrate_motion(
            model, config, lambda video, out: respiration_scores(video, out, MEASURE_REACH),
            indices=indices, duration_s=args.duration, **steps,
        )  # fmt: skip
        calibration["measure_alpha_reach"] = MEASURE_REACH
    else:
        config = ColorTrainConfig(
            seed=card["data"]["seed"], size_px=card["data"]["size_px"], duration_s=args.duration
        )
        calibration = calibrate_color(
            model, config, indices=indices, smooth_cells=args.smooth_cells,
            gate_sigmas=args.gate_sigmas, step=args.step,
            weight_smooth_s=args.weight_smooth_s, **steps,
        )  # fmt: skip
    calibration["command"] = "python " + shlex.join(sys.argv)
    calibration["seconds"] = round(time.monotonic() - started, 1)
    if args.kind == "color":  # one calibration per setting (calibration_for)
        card = keep_calibration(card, calibration)
    else:
        card["calibration"] = calibration
    card_path.write_text(json.dumps(card, indent=1) + "\n")
    curve = ", ".join(f"{p['n_gamma']:.3g}: {p['gain']:.2f}" for p in calibration["curve"])
    print(f"wrote the calibration of {card_path} (N gamma: mean gain) {curve}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
