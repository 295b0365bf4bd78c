"""FlowMag's gain above its training range (alpha > 16: recursive passes of alpha^(1/k)).

A bundled photo (blurred by 1 px) is moved by ``out_px / alpha`` (exact Fourier shift,
rounded to 8 bits), magnified by ``flowmag`` in static mode, and the output's global
shift is measured twice: OpenCV phase correlation (fine for shifts of many px) and the
package's Lucas-Kanade (``eval.displacement.measure_shift``); gain = measured output
shift / the shift asked for::

    python benchmarks/flowmag_large_alpha.py --json benchmarks/results/flowmag_large_alpha.json
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

import motionmag as mm
from motionmag.eval.displacement import measure_shift
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift
from records import write_record  # benchmarks/records.py


def phase_correlation_dx(a: np.ndarray, b: np.ndarray) -> float:
    """x shift of ``b`` relative to ``a`` (px) by OpenCV's phase correlation (grey, Hann)."""
    grey = [cv2.cvtColor(f, cv2.COLOR_RGB2GRAY).astype(np.float64) for f in (a, b)]
    window = cv2.createHanningWindow(grey[0].shape[::-1], cv2.CV_64F)
    (dx, _dy), _ = cv2.phaseCorrelate(grey[0], grey[1], window)
    return float(dx)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", nargs="+", default=["astronaut", "coffee", "chelsea"])
    parser.add_argument("--alphas", type=float, nargs="+", default=[16.0, 64.0, 256.0])
    parser.add_argument("--out-px", type=float, nargs="+", default=[2.0, 4.0, 8.0])
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    for name in args.photos:
        photo = smooth_texture(load_texture(name), (128, 160), sigma_px=1.0)
        for alpha in args.alphas:
            for out_px in args.out_px:
                shift = out_px / alpha
                frames = quantize(np.stack([photo, subpixel_shift(photo, shift, 0.0)]))
                out = mm.magnify_frames(frames, method="flowmag", alpha=alpha, mode="static")
                row = {"photo": name, "alpha": alpha, "out_px": out_px,
                       "gain_phase_correlation": phase_correlation_dx(out[0], out[1]) / shift,
                       "gain_lucas_kanade": measure_shift(out[0], out[1])[0] / shift}  # fmt: skip
                rows.append(row)
                print(f"{name:10s} alpha {alpha:5g} out {out_px:g} px  gain "
                      f"{row['gain_phase_correlation']:6.1f} (phase corr.) "
                      f"{row['gain_lucas_kanade']:6.1f} (LK)", flush=True)  # fmt: skip
    if args.json:
        write_record(args.json, rows=rows)


if __name__ == "__main__":
    main()
