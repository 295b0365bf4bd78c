"""What the DeepMag methods give above the gains their calibration measured.

``gamma_for_alpha`` turns alpha into a step by the model card's gain curve (deepmag-color:
measured up to x21.8, deepmag-motion: up to x7.5) and extrapolates along its last segment
beyond it, with a warning. This script measures the gain that extrapolation really gives
on one test-split task-A video of the physio suite (seed 0, 128 px), with the suite's own
measures: the pulse gain of the skin colour (``pulse_scores``, 10 s) and the chest's
breathing gain (``respiration_scores``, 20 s, its search reaching alpha x the chest's
range), with the output's SSIM / PSNR against the input where the measure reports them.

Found by the stop-58 review of the thesis nets and DeepMag::

    OMP_NUM_THREADS=1 python benchmarks/deepmag_alpha_range.py \\
        --json benchmarks/results/deepmag_alpha_range.json
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch

import motionmag as mm
from motionmag.eval.physio_measures import pulse_scores, respiration_scores
from motionmag.synth.physio import PhysioConfig, make_physio_video
from records import write_record  # benchmarks/records.py

#: measures kept from each score dictionary
KEPT = ("gain", "correlation", "ssim", "psnr_db")


def measure(method: str, duration_s: float, alphas: list[float]) -> list[dict]:
    """The measured gain (and what else the suite reports) at each alpha."""
    video = make_physio_video(0, seed=0, config=PhysioConfig(task="A", duration_s=duration_s),
                              split="test")  # fmt: skip
    rows = []
    for alpha in alphas:
        started = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = mm.magnify_frames(video.frames, fps=30, method=method, alpha=alpha)
        if method == "deepmag-color":
            scores = pulse_scores(video, out)
        else:
            scores = respiration_scores(video, out, alpha)
        row = {"alpha": alpha, **{k: round(float(scores[k]), 4) for k in KEPT if k in scores}}
        row["warned"] = any("above the largest gain" in str(w.message) for w in caught)
        row["seconds"] = round(time.perf_counter() - started, 1)
        print(method, row, flush=True)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", required=True, help="record to write")
    args = parser.parse_args()
    torch.set_num_threads(1)
    write_record(
        args.json,
        video="physio test split, index 0, task A, seed 0, 128 px, 30 fps",
        color=measure("deepmag-color", 10.0, [3.0, 20.0, 50.0, 100.0]),
        motion=measure("deepmag-motion", 20.0, [3.0, 8.0, 20.0, 50.0, 100.0]),
    )


if __name__ == "__main__":
    main()
