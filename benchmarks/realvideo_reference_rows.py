"""Two reference rows of the real-video suite's built-in clip: doing nothing, and the clip
re-rendered with its motion field times alpha.

What they tell: ``identity`` (the input returned) is the error of no magnification
(alpha - 1 times the motion); ``rerendered`` is ``eval.realvideo.default_clip(alpha=...)``,
the clip drawn again with its field scaled (exact only to first order in the field's
gradient, so not a floor: a method whose output flow is alpha times the input flow at
each pixel, as Warp Bilinear's is by construction, scores lower at alpha 2-16). At alpha
64 the magnified motion reaches about 144 px on the 256 px frame and both rows are far off:
that level shows how methods fail, it does not rank them::

    python benchmarks/realvideo_reference_rows.py [--ruler farneback] [--json PATH]
"""

from __future__ import annotations

import argparse

import numpy as np

from motionmag.eval import realvideo
from records import write_record  # benchmarks/records.py


class _Rerendered:
    name = "rerendered"

    def supports(self, mode: str) -> bool:
        return mode == "static"

    def clip(self, frames: np.ndarray, alpha: float, **_kwargs) -> np.ndarray:
        size = max(frames.shape[1:3])
        return realvideo.default_clip(size, len(frames), 0, alpha=alpha)[0]


class _Identity(_Rerendered):
    name = "identity"

    def clip(self, frames: np.ndarray, alpha: float, **_kwargs) -> np.ndarray:
        return frames.copy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ruler", choices=("dis", "farneback"), default="dis")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    rows = {}
    for method in (_Identity(), _Rerendered()):
        result = realvideo.run_real_video(method, progress=False, estimator=args.ruler)
        rows[method.name] = {
            f"{level.x:g}": {
                "motion_error": level.values["motion_error"],
                "magnification_error": level.values["magnification_error"],
            }
            for level in result.levels
        }
        cells = " | ".join(
            f"{v['motion_error']:.3g} / {v['magnification_error']:.3g}"
            for v in rows[method.name].values()
        )
        print(f"| {method.name} | {cells} |")
    if args.json:
        write_record(args.json, ruler=args.ruler, rows=rows)


if __name__ == "__main__":
    main()
