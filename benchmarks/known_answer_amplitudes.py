"""The known-answer gain against the motion's amplitude: how much of alpha survives 8 bits?

The issues' known answer (``tests/test_learned_weights.py``, ``known_answers.py``) moves
a real photo (scikit-image's ``clock``) by a 0.3 px, 2 Hz sinusoid, rounds each frame to
8 bits, and asks static mode at alpha 10 for a measured gain of 8.5-11.5. Rounding a
smooth photo moved by a fraction of a pixel leaves most of its pixels unchanged, so part
of the motion is gone before any method sees it. This script measures that:

- the gain (least-squares slope of the measured output shift, global Lucas-Kanade as in
  the tests, against the true input shift) of each method at alpha 10, for amplitudes of
  0.1-1 px;
- the same clip read without magnification (``input``): the share of the true motion the
  8-bit frames still show;
- two captures: ``rounded`` (the tests' clip: exact shifts rounded to 8 bits, no noise)
  and ``noisy`` (Gaussian noise of 1 grey level added before the rounding, as a camera's
  sensor noise does: it dithers the rounding, so the mean of many pixels keeps the
  sub-grey-level change).

    python benchmarks/known_answer_amplitudes.py oh2018 ha2024 phase \
        --json benchmarks/results/known_answer_amplitudes.json \
        --plot benchmarks/results/known_answer_amplitudes.png

(about 12 minutes on 2 cores shared with another evaluation.)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from motionmag import magnify_frames  # noqa: E402
from test_learned_weights import ALPHA, FPS, _clip, _gain  # noqa: E402

AMPLITUDES_PX = (0.1, 0.2, 0.3, 0.5, 1.0)
CAPTURES = {"rounded": 0.0, "noisy": 1.0}  # Gaussian noise before rounding, grey levels
GOAL = (8.5, 11.5)  # the issues' static-mode goal at alpha 10, amplitude 0.3 px


def sweep(methods: list[str], amplitudes: tuple[float, ...]) -> dict:
    """{capture: {method or "input": [gain per amplitude]}}, static mode at alpha 10."""
    results: dict = {}
    for capture, noise_grey in CAPTURES.items():
        rows: dict[str, list[float]] = {"input": []}
        for amplitude in amplitudes:
            clip = _clip(amplitude, noise_grey=noise_grey)
            rows["input"].append(_gain(clip, slice(1, None), amplitude))
            for method in methods:
                out = magnify_frames(clip, fps=FPS, method=method, alpha=ALPHA, mode="static")
                rows.setdefault(method, []).append(_gain(out, slice(1, None), amplitude))
                print(f"{capture} {amplitude:g} px {method}: x{rows[method][-1]:.2f}", flush=True)
        results[capture] = rows
    return results


def plot(results: dict, amplitudes: tuple[float, ...], path: str) -> None:
    """Gain / alpha against amplitude, one panel per capture, the goal band shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(results), figsize=(10, 4), sharey=True)
    for ax, (capture, rows) in zip(axes, results.items(), strict=True):
        ax.axhspan(GOAL[0] / ALPHA, GOAL[1] / ALPHA, color="0.9", label="goal at 0.3 px")
        for method, gains in rows.items():
            scale = 1.0 if method == "input" else ALPHA
            style = "k--" if method == "input" else "o-"
            label = "input (no magnification)" if method == "input" else method
            ax.plot(amplitudes, np.array(gains) / scale, style, label=label)
        ax.axvline(0.3, color="0.6", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("motion amplitude (px)")
        ax.set_title(f"{capture} ({CAPTURES[capture]:g} grey level noise)")
        ax.set_ylim(0, 1.2)
    axes[0].set_ylabel(f"measured gain / asked (alpha {ALPHA:g})")
    axes[0].legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("methods", nargs="+", help="methods to measure, e.g. oh2018 phase")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--plot", default=None, help="write a PNG here")
    args = parser.parse_args()
    results = sweep(args.methods, AMPLITUDES_PX)
    record = {
        "benchmark": "known_answer_amplitudes",
        "command": "python benchmarks/known_answer_amplitudes.py " + shlex.join(sys.argv[1:]),
        "clip": "skimage clock 160x240, amplitude x sin(2 pi 2 Hz t), 45 frames, 30 fps",
        "alpha": ALPHA,
        "mode": "static",
        "amplitudes_px": list(AMPLITUDES_PX),
        "noise_grey": CAPTURES,
        "gain": results,
    }
    if args.json:
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")
    if args.plot:
        plot(results, AMPLITUDES_PX, args.plot)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
