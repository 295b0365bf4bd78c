"""How well can the pulse be *read* from the skin colour of the physio test videos?

DeepMag magnifies what its CNN predicts, so what it adds can follow the true pulse no
better than a reading of the pulse from the same pixels. This script measures readings
that are given more than the CNN (the true skin region, whole clips, temporal windows)
on the test videos of each head-motion task, against the band-passed true pulse
(Pearson r, 0.7-2.5 Hz):

- ``green``: the mean green of the skin region (what the physio suite's raw score reads);
- ``chrom``: CHROM (de Haan and Jeanne 2013), chrominance signals band-passed and combined
  with the ratio of their standard deviations (sign flipped: CHROM reads the blood volume,
  which darkens the skin; our truth is the colour change);
- ``pos``: POS (Wang et al. 2017), plane-orthogonal-to-skin projection in 1.6 s windows,
  overlap-added;
- ``cnn``: the shipped ``deepmag-color`` predictor (36 x 36 normalised frame difference, one
  frame pair at a time), its running sum band-passed, as in the model card.

    python benchmarks/pulse_ceiling.py --n 3 --json benchmarks/results/pulse_ceiling.json

(3 videos per task, 20 s, 128 px: about 3 minutes on 1 thread.)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

import numpy as np
import torch

from motionmag.deepmag.train import (
    ColorTrainConfig,
    color_sample,
    predict,
    pulse_from_derivative,
)
from motionmag.eval.physio_measures import bandpass, correlation, skin_region
from motionmag.models.registry import create_model
from motionmag.synth.physio_signals import TASKS

BAND_HZ = (0.7, 2.5)
POS_WINDOW_S = 1.6  # Wang et al. 2017


def skin_rgb(frames: np.ndarray, region: np.ndarray) -> np.ndarray:
    """(T, 3) mean colour of the skin region (H, W bool) per frame."""
    return np.stack([f[region].astype(np.float64).mean(axis=0) for f in frames])


def chrom(rgb: np.ndarray, fps: float) -> np.ndarray:
    """CHROM: X = 3R - 2G, Y = 1.5R + G - 1.5B of the normalised colour, band-passed,
    -S = (std X / std Y) Y - X."""
    n = rgb / rgb.mean(axis=0)
    x = bandpass(3 * n[:, 0] - 2 * n[:, 1], fps, BAND_HZ)
    y = bandpass(1.5 * n[:, 0] + n[:, 1] - 1.5 * n[:, 2], fps, BAND_HZ)
    return x.std() / max(y.std(), 1e-12) * y - x  # sign: see the module docstring


def pos(rgb: np.ndarray, fps: float) -> np.ndarray:
    """POS: per window, S1 = G - B, S2 = G + B - 2R of the window-normalised colour,
    h = S1 + (std S1 / std S2) S2, mean removed and overlap-added."""
    length = round(POS_WINDOW_S * fps)
    h = np.zeros(len(rgb))
    for t in range(len(rgb) - length + 1):
        c = rgb[t : t + length] / rgb[t : t + length].mean(axis=0)
        s1, s2 = c[:, 1] - c[:, 2], c[:, 1] + c[:, 2] - 2 * c[:, 0]
        p = s1 + s1.std() / max(s2.std(), 1e-12) * s2
        h[t : t + length] += p - p.mean()
    return h


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3, help="test videos per task")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per video")
    parser.add_argument("--size", type=int, default=128, help="frame side, px")
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    model = create_model("deepmag-color")
    rows = []
    for task in TASKS:
        config = ColorTrainConfig(size_px=args.size, duration_s=args.duration, tasks=task)
        for index in range(args.n):
            x, _, meta = color_sample(index, config, "test")
            video = meta["video"]
            fps = video.fps
            truth = bandpass(video.truth["pulse"], fps, BAND_HZ)
            rgb = skin_rgb(video.frames, skin_region(video.skin_mask))
            cnn = pulse_from_derivative(predict(model, x), fps)
            row = {
                "task": task,
                "index": index,
                "green": correlation(bandpass(rgb[:, 1], fps, BAND_HZ), truth),
                "chrom": correlation(chrom(rgb, fps), truth),
                "pos": correlation(bandpass(pos(rgb, fps), fps, BAND_HZ), truth),
                "cnn": correlation(cnn, truth[1:]),
            }
            rows.append(row)
            print(" ".join(f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in row.items()), flush=True)  # fmt: skip
    means = {
        task: {k: float(np.mean([r[k] for r in rows if r["task"] == task]))
               for k in ("green", "chrom", "pos", "cnn")}
        for task in TASKS
    }  # fmt: skip
    for task, m in means.items():
        print(f"task {task} mean r: " + ", ".join(f"{k} {v:.2f}" for k, v in m.items()))
    if args.json:
        record = {"command": "python " + shlex.join(sys.argv), "settings": vars(args),
                  "band_hz": BAND_HZ, "means": means, "videos": rows}  # fmt: skip
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
