"""The known answer on many held-out photos: is the tests' one photo representative?

The issues' known answer (``tests/test_learned_weights.py``, ``known_answers.py``) moves
one real photo (scikit-image's ``clock``, grey) by a 0.3 px, 2 Hz sinusoid at 30 fps,
rounds each frame to 8 bits, and asks static mode at alpha 10 for a measured gain of
8.5-11.5. A checkpoint's gain on that one photo swings by 0.5-1.5 between checkpoints of
one fine-tune (README, "Shipped weights"), so this script asks the same question of every
photo of ``../shared/data/images`` (OpenCV's sample photos and paintings; none is in the
training photo pool of ``synth/photos.py``) beside ``clock``: the same crop size (160 x
240, the centre of the photo after scaling its short side to 240 px), the same motion,
rounding and gain measurement (global Lucas-Kanade, least-squares slope against the true
shift; ``_gain`` of the tests), in colour.

    OMP_NUM_THREADS=1 python benchmarks/known_answer_photos.py oh2018 ha2024 ha2024-fast phase \
        --json benchmarks/results/known_answer_photos.json

A method may be given as ``NAME:PATH`` to measure other weights of that method (e.g. a
training checkpoint exported to safetensors); ``input`` rows are the clip itself (the
share of the true motion the 8-bit frames still show). Needs ``../shared/data/images``
(a development folder, not the product's): without it only ``clock`` is measured.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from motionmag import magnify_frames  # noqa: E402
from test_learned_weights import (  # noqa: E402
    ALPHA,
    AMPLITUDE_PX,
    FPS,
    _clip,
    _gain,
    _photo,
)

PHOTO_DIR = ROOT.parent / "shared" / "data" / "images"
CROP_HW = (160, 240)  # the tests' clock crop
GOAL = (8.5, 11.5)


def load_photo(path: Path) -> np.ndarray:
    """The centre 160 x 240 of ``path`` after scaling its short side to 240 px; float
    RGB in [0, 255]."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise SystemExit(f"cannot read {path}")
    scale = 240 / min(bgr.shape[:2])
    resized = cv2.resize(bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    top = (resized.shape[0] - CROP_HW[0]) // 2
    left = (resized.shape[1] - CROP_HW[1]) // 2
    crop = resized[top : top + CROP_HW[0], left : left + CROP_HW[1], ::-1]
    return crop.astype(np.float64)


def photos() -> dict[str, np.ndarray]:
    """``clock`` (the tests' photo, grey) and every readable photo of ``PHOTO_DIR``."""
    found = {"clock": _photo()}
    if PHOTO_DIR.is_dir():
        for path in sorted(PHOTO_DIR.iterdir()):
            found[path.stem] = load_photo(path)
    return found


def clip_of(photo: np.ndarray, amplitude_px: float = AMPLITUDE_PX) -> np.ndarray:
    """The tests' clip of ``photo``: exact horizontal shifts, rounded to 8 bits."""
    return _clip(amplitude_px, photo=photo)


def static_gain(clip: np.ndarray, spec: str) -> float:
    """Static-mode gain at alpha 10 of method ``spec`` (``NAME`` or ``NAME:WEIGHTS``)."""
    if spec == "input":
        return _gain(clip, slice(1, None))
    name, _, weights = spec.partition(":")
    options = {"weights": weights} if weights else {}
    out = magnify_frames(clip, fps=FPS, method=name, alpha=ALPHA, mode="static", **options)
    return _gain(out, slice(1, None))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("methods", nargs="+", help="methods, or NAME:WEIGHTS.safetensors")
    parser.add_argument("--json", type=Path, help="write the gains here")
    args = parser.parse_args(argv)
    specs = ["input", *args.methods]
    gains: dict[str, dict[str, float]] = {spec: {} for spec in specs}
    for photo_name, photo in photos().items():
        clip = clip_of(photo)
        for spec in specs:
            gains[spec][photo_name] = static_gain(clip, spec)
        print(photo_name, " ".join(f"{s}={gains[s][photo_name]:.2f}" for s in specs), flush=True)
    summary = {}
    for spec in specs:
        values = np.array(list(gains[spec].values()))
        summary[spec] = {
            "median": float(np.median(values)),
            "min": float(values.min()),
            "max": float(values.max()),
            "in_goal": int(np.sum((values >= GOAL[0]) & (values <= GOAL[1]))),
            "photos": len(values),
        }
        print(f"{spec}: median x{summary[spec]['median']:.2f}, range "
              f"{summary[spec]['min']:.2f}-{summary[spec]['max']:.2f}, in 8.5-11.5 on "
              f"{summary[spec]['in_goal']} of {len(values)}")  # fmt: skip
    if args.json:
        from records import write_record  # benchmarks/records.py

        write_record(
            args.json,
            indent=1,
            clip=f"{CROP_HW[0]}x{CROP_HW[1]} px, {AMPLITUDE_PX} px x sin(2 pi 2 Hz t), "
            f"{FPS:g} fps, rounded to 8 bits, static mode, alpha {ALPHA:g}",
            goal=list(GOAL),
            gains=gains,
            summary=summary,
        )
        print("wrote", args.json)


if __name__ == "__main__":
    main()
