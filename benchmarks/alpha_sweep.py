"""Where each classical method stops delivering alpha: measured / asked magnification.

A real photo (scikit-image's astronaut, 192x256, blurred with sigma 1.5 px) is
translated by 0.1 px (exact Fourier shift); each method magnifies the pair in static
mode for alpha from 2 to 200, and the output's displacement is measured with the global
Lucas-Kanade estimator of ``motionmag.eval.displacement``. Prints a table, writes JSON,
and reports for each method the smallest alpha at which measured / (alpha x 0.1 px)
falls below 0.9 (Wadhwa et al. 2013 Sec. 3.3: the phase method should hold to much
larger alpha x motion than the linear one).

    .venv/bin/python benchmarks/alpha_sweep.py --json benchmarks/results/alpha_sweep.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import motionmag as mm
from motionmag.eval.displacement import measure_shift
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift
from records import command_line  # benchmarks/records.py

ALPHAS = (2, 5, 10, 15, 20, 30, 50, 75, 100, 150, 200)
METHODS = {
    "linear": {},
    "phase": {},
    "phase half-octave": {"pyramid": "half-octave"},
    "riesz": {},
}


def sweep(shift_px: float = 0.1) -> dict[str, list[float]]:
    texture = smooth_texture(load_texture("astronaut"), (192, 256), sigma_px=1.5)
    frames = np.stack([quantize(texture), quantize(subpixel_shift(texture, shift_px, 0.0))])
    results: dict[str, list[float]] = {}
    for label, options in METHODS.items():
        method = label.split()[0]
        ratios = []
        for alpha in ALPHAS:
            out = mm.magnify_frames(frames, method=method, alpha=alpha, mode="static", **options)
            ratios.append(measure_shift(out[0], out[1])[0] / (alpha * shift_px))
        results[label] = ratios
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    results = sweep()
    print("measured / asked magnification, 0.1 px motion, static mode")
    print(f"{'alpha':>8} " + " ".join(f"{name:>18}" for name in results))
    for i, alpha in enumerate(ALPHAS):
        print(f"{alpha:>8} " + " ".join(f"{results[n][i]:>18.3f}" for n in results))
    below = {}
    for name, ratios in results.items():
        first = next((a for a, r in zip(ALPHAS, ratios, strict=True) if r < 0.9), None)
        below[name] = first
        print(f"{name}: first alpha with measured < 0.9 alpha: {first}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "command": command_line(),
            "alphas": list(ALPHAS),
            "shift_px": 0.1,
            "ratios": results,
            "first_alpha_below_0.9": below,
        }
        args.json.write_text(json.dumps(payload, indent=2))


if __name__ == "__main__":
    main()
