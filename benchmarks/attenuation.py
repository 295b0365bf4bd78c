"""How much motion the classical methods leave at alpha < 1, in luma and in colour.

A bundled photo (blurred by ``--sigmas`` px; 0 = as sharp as it is) is moved by a
known sub-pixel shift (exact Fourier shift, rounded to 8 bits) and magnified in static
mode at each ``--alphas``; the output's shift is measured in each YIQ channel (Y = luma,
I and Q = colour) with the package's global Lucas-Kanade (``measure_shift``), over the
input's shift in the same channel. alpha 0 should leave 0, alpha 0.5 half.

- ``linear`` scales the colour change by ``chrom_attenuation`` (0.1) when it amplifies
  (Wu et al.'s guard against amplified colour noise), and not below alpha 1, where
  there is no noise to guard against (stop 58: 0.88-0.90 of the colour motion was left
  at alpha 0).
- ``phase`` and ``riesz`` change luma only, as the papers and their code do, so the
  colour channels keep their motion, and ``phase`` leaves the high-pass residual (the
  finest detail) as it is.

Found by the stop-58 review of the classical methods::

    python benchmarks/attenuation.py --json benchmarks/results/attenuation.json
"""

from __future__ import annotations

import argparse

import numpy as np

import motionmag as mm
from motionmag.eval.displacement import measure_shift
from motionmag.representations.color import RGB_TO_YIQ
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift
from records import write_record  # benchmarks/records.py

CHANNELS = ("Y", "I", "Q")


def kept_motion(method: str, frames: np.ndarray, alpha: float) -> dict[str, float]:
    """Output shift / input shift, per YIQ channel, of a two-frame static magnification."""
    yiq = np.asarray(RGB_TO_YIQ, dtype=np.float64)
    out = mm.magnify_frames(frames, method=method, alpha=alpha, mode="static")
    before, after = frames.astype(np.float64) @ yiq.T, out.astype(np.float64) @ yiq.T
    kept = {}
    for c, name in enumerate(CHANNELS):
        moved = measure_shift(after[0][..., c], after[1][..., c])[0]
        kept[name] = round(float(moved / measure_shift(before[0][..., c], before[1][..., c])[0]), 3)
    return kept


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["linear", "phase", "riesz"])
    parser.add_argument("--photos", nargs="+", default=["coffee", "chelsea", "astronaut"])
    parser.add_argument("--sigmas", type=float, nargs="+", default=[0.0, 1.5])
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.0, 0.5])
    parser.add_argument("--shift", type=float, default=0.2, help="input shift, px")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = []
    for sigma in args.sigmas:
        for name in args.photos:
            photo = smooth_texture(load_texture(name), (160, 160), sigma_px=sigma)
            frames = quantize(np.stack([photo, subpixel_shift(photo, args.shift, 0.0)]))
            for method in args.methods:
                for alpha in args.alphas:
                    kept = kept_motion(method, frames, alpha)
                    row = {"photo": name, "blur_px": sigma, "method": method, "alpha": alpha}
                    rows.append({**row, "kept": kept})
                    print(row, kept, flush=True)
    if args.json:
        write_record(args.json, shift_px=args.shift, measure="output / input shift per YIQ "
                     "channel (eval.displacement.measure_shift)", rows=rows)  # fmt: skip


if __name__ == "__main__":
    main()
