"""The README's `motionmag measure` example, reproducible.

Writes, into a folder (default ``runs/measure_example``): ``photo.mkv``, a photo
vibrating 0.3 px at 2 Hz along 30 degrees (30 fps, 60 frames, lossless); ``photo_x10_true.mkv``,
the same scene vibrating 3 px (the true x10 output); and ``photo_linear_x10.mkv`` and
``photo_phase_x10.mkv``, ``motionmag magnify photo.mkv --method linear|phase --alpha 10
--band 1 4``. Then runs
``motionmag measure`` on the three, as the README shows.

Then a "shape" of motion: ``shape.mkv``, the photo in three vertical strips moving up
and down at 2 Hz by 0.3, 0.1 and -0.2 px (the middle strip a third as much as the left,
the right two thirds as much and the other way, like points along a vibrating beam), and
``shape_phase_x10.mkv``, it magnified x10 by ``phase`` with ``--band 1 4``; ``motionmag
measure`` of both with one ``--roi`` per strip, and as a 6 x 2 grid with its map
(``shape_map.png``, the README's ``docs/measure_map.png``)::

    python benchmarks/measure_example.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from motionmag.cli import main as motionmag
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, vibrating_frames
from motionmag.video import VideoWriter

#: the strips of ``shape.mkv``: (first column, last column + 1, amplitude px)
STRIPS = ((0, 54, 0.3), (54, 107, 0.1), (107, 160, -0.2))


def _photo() -> np.ndarray:
    return smooth_texture(load_texture("astronaut"), (120, 160), sigma_px=1.5)


def _write(path: Path, clip: np.ndarray) -> None:
    with VideoWriter(path, 30.0, clip.shape[2], clip.shape[1], overwrite=True) as writer:
        for frame in quantize(clip):
            writer.write(frame)


def write_clip(path: Path, amplitude_px: float) -> None:
    clip, _ = vibrating_frames(_photo(), amplitude_px, 2.0, 30.0, 60, direction_deg=30.0)
    _write(path, clip)


def write_shape_clip(path: Path) -> None:
    parts = []
    for first, stop, amplitude in STRIPS:
        clip, _ = vibrating_frames(_photo(), amplitude, 2.0, 30.0, 60, direction_deg=90.0)
        parts.append(clip[:, :, first:stop])
    _write(path, np.concatenate(parts, axis=2))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/measure_example"))
    out = parser.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    write_clip(out / "photo.mkv", 0.3)
    write_clip(out / "photo_x10_true.mkv", 3.0)
    for method in ("linear", "phase"):
        target = str(out / f"photo_{method}_x10.mkv")
        options = ["--method", method, "--alpha", "10", "--band", "1", "4", "--overwrite"]
        motionmag(["magnify", str(out / "photo.mkv"), "-o", target, *options, "--quiet"])
    motionmag(
        [
            "measure",
            str(out / "photo.mkv"),
            str(out / "photo_linear_x10.mkv"),
            str(out / "photo_phase_x10.mkv"),
            str(out / "photo_x10_true.mkv"),
            "--roi",
            "10",
            "10",
            "120",
            "90",
            "--quiet",
            "--overwrite",
            "--plot",
            str(out / "motion.png"),
            "--csv",
            str(out / "motion.csv"),
        ]
    )
    write_shape_clip(out / "shape.mkv")
    target = str(out / "shape_phase_x10.mkv")
    options = ["--method", "phase", "--alpha", "10", "--band", "1", "4", "--overwrite"]
    motionmag(["magnify", str(out / "shape.mkv"), "-o", target, *options, "--quiet"])
    rois = []
    for first, stop, _ in STRIPS:  # 4 px in from each seam
        rois += ["--roi", str(first + 4), "10", str(stop - first - 8), "100"]
    motionmag(["measure", str(out / "shape.mkv"), target, *rois, "--quiet", "--overwrite"])
    grid = ["--grid", "6", "2", "--map", str(out / "shape_map.png"), "--quiet", "--overwrite"]
    motionmag(["measure", str(out / "shape.mkv"), target, *grid])


if __name__ == "__main__":
    main()
