"""The README's `motionmag measure` example, reproducible.

Writes, into a folder (default ``runs/measure_example``): ``photo.mkv``, a photo
vibrating 0.3 px at 2 Hz along 30 degrees (30 fps, 60 frames, lossless); ``photo_x10_true.mkv``,
the same scene vibrating 3 px (the true x10 output); and ``photo_linear_x10.mkv`` and
``photo_phase_x10.mkv``, ``motionmag magnify photo.mkv --method linear|phase --alpha 10
--band 1 4``. Then runs
``motionmag measure`` on the three, as the README shows::

    python benchmarks/measure_example.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from motionmag.cli import main as motionmag
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, vibrating_frames
from motionmag.video import VideoWriter


def write_clip(path: Path, amplitude_px: float) -> None:
    image = smooth_texture(load_texture("astronaut"), (120, 160), sigma_px=1.5)
    clip, _ = vibrating_frames(image, amplitude_px, 2.0, 30.0, 60, direction_deg=30.0)
    with VideoWriter(path, 30.0, clip.shape[2], clip.shape[1], overwrite=True) as writer:
        for frame in quantize(clip):
            writer.write(frame)


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


if __name__ == "__main__":
    main()
