"""What the learned nets' colour match (``--set color_match``) changes.

The networks trained here shift colours wherever they run, motion or not (a stop-59
review: a lawn turned olive, +11 / -18 / +7 levels of R / G / B in a frame with no
motion; a sky turned lavender). ``color_match`` (on by default) gives each output its
input frame's colour distribution, mean and covariance, by one linear map
(``magnify.learned.match_colours``). This measures, on shipped photographs moved by the
known-answer clip's 0.3 px, 2 Hz sinusoid (45 frames, 30 fps; 240 x 160, area averaged)
and on the grey ``clock`` photo of the known answer, in static mode at alpha 10, with
the colour match off and on:

- the static gain (``test_learned_weights._gain``: least-squares slope of the output's
  phase-correlation shift against the input's, every 4th frame);
- SSIM to the true magnified clip (the photo moved by 10 x the shift);
- the reference frame's mean colour bias (RGB levels) and mean absolute difference
  against the input (it has no motion: ideally 0);

and its cost: ``ha2024-fast`` frames per second at 640 x 360 (24 random frames, static
mode, fp32, the best of 3 rounds), with and without it, side by side in one run.

    OMP_NUM_THREADS=2 python benchmarks/colour_match.py \\
        --json benchmarks/results/colour_match.json
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import cv2
import numpy as np

from flowmag_checks import AMPLITUDE_PX, FPS, _clip, gain, mean_ssim  # benchmarks/
from motionmag import magnify_frames
from records import write_record  # benchmarks/records.py

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ("home.jpg", "fruits.jpg", "baboon.jpg", "clock")
METHODS = ("oh2018", "ha2024", "ha2024-fast")
ALPHA = 10.0


def photo(name: str) -> np.ndarray:
    """``clock``: the known answer's grey photo (``test_learned_weights._photo``); else a
    shipped photograph (the circle benchmark's, ``eval/backgrounds``, 384 px
    squares): its middle 384 x 256 px, area-averaged to 240 x 160, RGB float."""
    if name == "clock":
        from test_learned_weights import _photo

        return _photo()
    image = cv2.imread(str(ROOT / "src/motionmag/eval/backgrounds" / name))
    if image is None:
        raise SystemExit(f"no shipped photo {name}")
    small = cv2.resize(image[64:320, :, ::-1], (240, 160), interpolation=cv2.INTER_AREA)
    return small.astype(np.float64)


def measure(name: str) -> list[dict]:
    picture = photo(name)
    clip = _clip(AMPLITUDE_PX, photo=picture)
    truth = _clip(ALPHA * AMPLITUDE_PX, photo=picture)
    rows = []
    for method in METHODS:
        for matched in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = magnify_frames(clip, fps=FPS, method=method, alpha=ALPHA,
                                     mode="static", color_match=matched)  # fmt: skip
            still = out[0].astype(np.float64) - clip[0]
            row = {
                "method": method,
                "color_match": matched,
                "static_gain": round(gain(out), 3),
                "ssim_to_truth": round(mean_ssim(out, truth), 4),
                "reference_frame_rgb_bias": np.round(still.reshape(-1, 3).mean(0), 2).tolist(),
                "reference_frame_mad": round(float(np.abs(still).mean()), 2),
            }
            print(name, row, flush=True)
            rows.append(row)
    return rows


def speed(rounds: int = 3, frames: int = 24) -> dict:
    """``ha2024-fast`` fps at 640 x 360 with the colour match off and on."""
    clip = np.random.default_rng(0).integers(0, 256, (frames, 360, 640, 3), dtype=np.uint8)
    best = {False: float("inf"), True: float("inf")}
    for _ in range(rounds):
        for matched in best:  # alternated, so both see the same machine
            started = time.perf_counter()
            magnify_frames(clip, method="ha2024-fast", alpha=ALPHA, mode="static",
                           color_match=matched)  # fmt: skip
            best[matched] = min(best[matched], time.perf_counter() - started)
    return {"fps_off": round(frames / best[False], 2), "fps_on": round(frames / best[True], 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="record to write")
    args = parser.parse_args()
    inputs = {}
    for name in PHOTOS:
        picture = photo(name)
        clip, truth = _clip(AMPLITUDE_PX, photo=picture), _clip(ALPHA * AMPLITUDE_PX, photo=picture)
        inputs[name] = round(mean_ssim(clip, truth), 4)
    write_record(
        args.json,
        clip=f"shipped photo (240 x 160) or clock (240 x 160, grey), {AMPLITUDE_PX} px x "
        f"sin(2 pi 2 Hz t), 45 frames, {FPS} fps, static mode, alpha {ALPHA:g}",
        input_ssim_to_truth=inputs,
        **{name: measure(name) for name in PHOTOS},
        speed_640x360=speed(),
    )


if __name__ == "__main__":
    main()
