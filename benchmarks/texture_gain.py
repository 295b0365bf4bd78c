"""Static gain of the classical methods on a smooth and on finely textured photos.

The unit tests' photo (``astronaut`` blurred by sigma 3 px, tests/test_linear.py) is
smooth; real footage is often sharper. This moves bundled photos (blurred by ``--sigmas``
px) by a known sub-pixel shift (exact Fourier shift, rounded to 8 bits; alpha x shift <= 1
px) and measures the output's shift with the package's global Lucas-Kanade
(``eval.displacement.measure_shift``) over alpha x the input's measured shift::

    python benchmarks/texture_gain.py --json benchmarks/results/texture_gain.json

``--set KEY=VALUE`` passes a method option (e.g. ``sigma_px=2``, the amplitude-weighted
phase smoothing of ``phase`` and ``riesz``)::

    python benchmarks/texture_gain.py --methods phase riesz --set sigma_px=2 \
        --json benchmarks/results/texture_gain_sigma2.json
"""

from __future__ import annotations

import argparse

import numpy as np

import motionmag as mm
from motionmag.eval.displacement import measure_shift
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift
from records import write_record  # benchmarks/records.py


def gain(method: str, photo: np.ndarray, alpha: float, shift_px: float, **options) -> float:
    """Measured output shift / (alpha x the measured input shift), 8-bit frames (the
    input's own measured shift, so what rounding hid is not counted against the method)."""
    frames = quantize(np.stack([photo, subpixel_shift(photo, shift_px, 0.0)]))
    out = mm.magnify_frames(frames, method=method, alpha=alpha, mode="static", **options)
    return float(measure_shift(out[0], out[1])[0] / (alpha * measure_shift(*frames)[0]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", nargs="+", default=["linear", "phase", "riesz"])
    parser.add_argument("--photos", nargs="+", default=["astronaut", "coffee", "chelsea"])
    parser.add_argument("--sigmas", type=float, nargs="+", default=[3.0, 1.0])
    parser.add_argument("--alphas", type=float, nargs="+", default=[2.0, 3.0])
    parser.add_argument("--shift", type=float, default=0.3, help="input shift, px")
    parser.add_argument("--set", nargs="+", default=[], metavar="KEY=VALUE",
                        help="method options, numbers as floats")  # fmt: skip
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    options = {key: float(value) for key, value in (item.split("=", 1) for item in args.set)}
    rows = []
    print(f"measured output shift / (alpha x input shift), input shifted {args.shift:g} px; "
          f"one column per alpha ({', '.join(f'{a:g}' for a in args.alphas)})")  # fmt: skip
    for sigma in args.sigmas:
        for name in args.photos:
            photo = smooth_texture(load_texture(name), (128, 160), sigma_px=sigma)
            for method in args.methods:
                gains = [gain(method, photo, a, args.shift, **options) for a in args.alphas]
                rows.append({"photo": name, "blur_px": sigma, "method": method,
                             "alphas": args.alphas, "gain_over_alpha": gains})  # fmt: skip
                print(f"{name:10s} blur {sigma:g}  {method:7s} "
                      + " ".join(f"{g:.2f}" for g in gains), flush=True)  # fmt: skip
    if args.json:
        write_record(args.json, shift_px=args.shift, options=options, rows=rows)


if __name__ == "__main__":
    main()
