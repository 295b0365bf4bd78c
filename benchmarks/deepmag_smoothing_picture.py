"""Picture: deepmag-color at alpha 10 with the paper's change and with ours (the defaults).

One held-out synthetic face (test split video 0, task A, 20 s, 128 px), frame 100: the
input, the output with the paper's unsmoothed change (``smooth_cells=0``, no noise gate:
``gate_sigmas=0``, the paper's step: ``step=sign``, ``weight_smooth_s=0``) and with the
method's defaults (blur, gate, linear step with a smoothed weight), each output's change
x 8 around grey, and the temporal standard deviation of the change per pixel (white =
most). Each setting uses its own calibration
from the model card, so both ask for the same alpha.

    OMP_NUM_THREADS=1 python benchmarks/deepmag_smoothing_picture.py \\
        --out benchmarks/results/deepmag_smoothing.jpg
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from motionmag import magnify_frames
from motionmag.deepmag.magnify import GATE_SIGMAS, SMOOTH_CELLS, STEP, WEIGHT_SMOOTH_S
from motionmag.synth.physio import PhysioConfig, make_physio_video

FRAME = 100
CHANGE_SCALE = 8.0


def panel(video: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Output frame, its change x CHANGE_SCALE around grey, the change's temporal std."""
    change = out.astype(np.float64) - video.astype(np.float64)
    shown = np.clip(128 + CHANGE_SCALE * change[FRAME], 0, 255).astype(np.uint8)
    spread = change.std(axis=0).mean(axis=-1)
    spread = np.clip(255 * spread / max(spread.max(), 1e-9), 0, 255).astype(np.uint8)
    return np.concatenate([out[FRAME], shown, np.repeat(spread[..., None], 3, axis=2)], axis=1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="benchmarks/results/deepmag_smoothing.jpg")
    parser.add_argument("--alpha", type=float, default=10.0)
    args = parser.parse_args()
    video = make_physio_video(0, 0, PhysioConfig(size_px=128, task="A", duration_s=20.0), "test")
    rows = []
    paper = {"smooth_cells": 0.0, "gate_sigmas": 0.0, "step": "sign", "weight_smooth_s": 0.0}
    ours = {"smooth_cells": SMOOTH_CELLS, "gate_sigmas": GATE_SIGMAS, "step": STEP,
            "weight_smooth_s": WEIGHT_SMOOTH_S}  # fmt: skip
    for options in (paper, ours):
        out = magnify_frames(
            video.frames, fps=video.fps, method="deepmag-color", alpha=args.alpha,
            band=(0.7, 2.5), **options,
        )  # fmt: skip
        rows.append(np.concatenate([video.frames[FRAME], panel(video.frames, out)], axis=1))
    cv2.imwrite(args.out, np.concatenate(rows, axis=0)[..., ::-1])
    print(f"wrote {args.out}: rows the paper's change and ours ({ours})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
