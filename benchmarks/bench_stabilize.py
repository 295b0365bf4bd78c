"""`--stabilize`: registration error on a known camera shake, with and without the dense
refinement, and the time it adds per frame (registration, and the two Lanczos warps:
into the first frame's coordinates and back), at 640x360 and 1920x1080, 2 threads::

    python benchmarks/bench_stabilize.py [--frames 12] \
        [--json benchmarks/results/bench_stabilize.json]

The shake: uniform in +-3 px per frame (seed 0), applied exactly (Fourier shift) to
scikit-image's ``astronaut`` resized to the frame, rounded to uint8; for the rotating
models also a rotation of up to 1 degree (cubic resampling). Error: the largest
distance, over the frame's four corners 20 px in, between where the found and the true
transform put them (px).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import cv2
import numpy as np
from skimage import data

from motionmag.magnify import stabilize
from motionmag.synth.vibration import quantize, subpixel_shift
from records import command_line  # benchmarks/records.py


def shaken_frames(width: int, height: int, frames: int, rotate: bool) -> tuple[list, list]:
    """Frames (uint8 RGB) and their true 3x3 maps onto the first frame's coordinates."""
    photo = cv2.resize(data.astronaut(), (width, height), interpolation=cv2.INTER_AREA)
    rng = np.random.default_rng(0)
    out, truths = [], []
    for k in range(frames):
        dx, dy = rng.uniform(-3, 3, 2) if k else (0.0, 0.0)
        angle = rng.uniform(-1, 1) if (k and rotate) else 0.0
        if rotate:
            matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
            matrix[:, 2] += (dx, dy)
            frame = cv2.warpAffine(
                photo.astype(np.float32), matrix, (width, height),
                flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT,
            )  # fmt: skip
        else:
            matrix = np.array([[1.0, 0, dx], [0, 1.0, dy]])
            frame = subpixel_shift(photo.astype(np.float64), dx, dy)
        out.append(quantize(frame))
        truths.append(np.linalg.inv(np.vstack([matrix, [0, 0, 1.0]])))
    return out, truths


def corner_error(found: np.ndarray, truth: np.ndarray, width: int, height: int) -> float:
    corners = np.array([[[20.0, 20.0]], [[width - 20.0, 20.0]], [[20.0, height - 20.0]],
                        [[width - 20.0, height - 20.0]]])  # fmt: skip
    moved = cv2.perspectiveTransform(corners, found) - cv2.perspectiveTransform(corners, truth)
    return float(np.linalg.norm(moved, axis=2).max())


def run(model: str, width: int, height: int, frames: int, refine: bool) -> dict:
    saved = stabilize.REFINE_ITERATIONS
    stabilize.REFINE_ITERATIONS = saved if refine else 0
    try:
        clip, truths = shaken_frames(width, height, frames, rotate=model != "translation")
        aligner = stabilize.FrameAligner(model)
        aligner.register(clip[0])
        errors, register_s, warp_s = [], [], []
        for frame, truth in zip(clip[1:], truths[1:], strict=True):
            start = time.perf_counter()
            matrix = aligner.register(frame)
            register_s.append(time.perf_counter() - start)
            start = time.perf_counter()
            stabilize.FrameAligner.warp(stabilize.FrameAligner.warp(frame, matrix), matrix, True)
            warp_s.append(time.perf_counter() - start)
            errors.append(corner_error(matrix, truth, width, height))
    finally:
        stabilize.REFINE_ITERATIONS = saved
    return {
        "model": model,
        "size": f"{width}x{height}",
        "refined": refine,
        "error_px_max": round(max(errors), 4),
        "error_px_mean": round(float(np.mean(errors)), 4),
        "register_ms": round(statistics.median(register_s) * 1000, 1),
        "two_warps_ms": round(statistics.median(warp_s) * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    cv2.setNumThreads(2)
    rows = []
    for width, height in ((640, 360), (1920, 1080)):
        for model in stabilize.MODELS:
            for refine in (False, True) if model != "homography" else (False,):
                rows.append(run(model, width, height, args.frames, refine))
                print(rows[-1], flush=True)
    if args.json:
        record = {"command": command_line(), "rows": rows}
        args.json.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
