"""FlowMag on fine texture: gain above the training range and test-time adaptation.

``benchmarks/flowmag_checks.py`` measures the shipped ``flowmag`` weights on the known-
answer photo (scikit-image's ``clock``, large smooth shapes). A stop-59 review found two
things that photo does not show, on a fine texture (a baboon's fur): alpha just above 16
(two passes of sqrt(alpha)) magnified less than alpha 16, large outputs turned round, and
``--tta 3`` raised the motion error at alpha 8. This script measures both on
scikit-image's own fine textures (``gravel``, ``grass``; 160 x 240 crops, grey) and
any photographs given (``--photo``), moved
by the known-answer clip's 0.3 px, 2 Hz sinusoid (45 frames, 30 fps), in static mode:

- **gain** (least-squares slope of the output's phase-correlation shift against the
  input's, every 4th frame, ``flowmag_checks.gain``) at alpha 4-64, beside ``phase``;
- **SSIM to the true magnified clip** (the photo moved by alpha x the shift) at alpha 4
  and 8, before and after ``--tta 3``, beside the unmagnified input's.

    OMP_NUM_THREADS=1 python benchmarks/flowmag_fine_texture.py \\
        --photo ../shared/data/images/baboon.jpg \\
        --json benchmarks/results/flowmag_fine_texture.json
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from flowmag_checks import AMPLITUDE_PX, FPS, _clip, gain, mean_ssim  # benchmarks/
from motionmag import magnify_frames
from records import write_record  # benchmarks/records.py

TEXTURES = ("gravel", "grass")
GAIN_ALPHAS = (4.0, 10.0, 16.0, 16.01, 20.0, 32.0, 64.0)
TTA_ALPHAS = (4.0, 8.0)
TTA_EPOCHS = 3


def texture(name: str) -> np.ndarray:
    """scikit-image's ``name`` texture, its top-left 160 x 240 px, grey as RGB float; or
    the photograph at path ``name``, shrunk to 240 x 160 px by area averaging."""
    if Path(name).is_file():
        import cv2

        photo = cv2.imread(name)[..., ::-1]
        return cv2.resize(photo, (240, 160), interpolation=cv2.INTER_AREA).astype(np.float64)
    from skimage import data

    grey = getattr(data, name)()[:160, :240].astype(np.float64)
    return np.repeat(grey[..., None], 3, axis=2)


def magnified(clip: np.ndarray, method: str, alpha: float, **options) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the notes are the point of the measurement
        return magnify_frames(clip, fps=FPS, method=method, alpha=alpha, mode="static", **options)


def measure(name: str) -> dict:
    photo = texture(name)
    clip = _clip(AMPLITUDE_PX, photo=photo)
    gains = []
    for alpha in GAIN_ALPHAS:
        row = {
            "alpha": alpha,
            "flowmag": round(gain(magnified(clip, "flowmag", alpha)), 2),
            "phase": round(gain(magnified(clip, "phase", alpha)), 2),
        }
        print(name, row, flush=True)
        gains.append(row)
    adaptation = []
    for alpha in TTA_ALPHAS:
        truth = _clip(alpha * AMPLITUDE_PX, photo=photo)
        started = time.perf_counter()
        adapted = magnified(clip, "flowmag", alpha, tta_epochs=TTA_EPOCHS, tta_progress=False)
        row = {
            "alpha": alpha,
            "ssim_to_truth": {
                "flowmag": round(mean_ssim(magnified(clip, "flowmag", alpha), truth), 4),
                f"flowmag_tta{TTA_EPOCHS}": round(mean_ssim(adapted, truth), 4),
                "input": round(mean_ssim(clip, truth), 4),
            },
            "gain_tta": round(gain(adapted), 2),
            "tta_seconds": round(time.perf_counter() - started, 1),
        }
        print(name, row, flush=True)
        adaptation.append(row)
    return {"gain": gains, "tta": adaptation}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="record to write")
    parser.add_argument(
        "--photo",
        action="append",
        default=[],
        help="a photograph to measure too (e.g. ../shared/data/images/baboon.jpg; repeat)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    write_record(
        args.json,
        clip=f"scikit-image texture (160 x 240 grey) or photo (240 x 160), {AMPLITUDE_PX} "
        f"px x sin(2 pi 2 Hz t), 45 frames, {FPS} fps, static mode, reference frame 0",
        weights="shipped flowmag",
        **{name: measure(name) for name in (*TEXTURES, *args.photo)},
    )


if __name__ == "__main__":
    main()
