"""The README's `--stabilize` example, reproducible.

Writes, into a folder (default ``runs/stabilize_example``): ``shaky.mkv``, a photo whose
central disc vibrates 0.3 px up and down at 2 Hz while the whole view drifts like a
hand-held camera (a smoothed random walk of a few px; 30 fps, 180 frames,
lossless); ``plain_x10.mkv`` and ``stabilized_x10.mkv``, ``motionmag magnify shaky.mkv
--method phase --alpha 10`` without and with ``--stabilize``; and ``slices.png``
(the README's ``docs/stabilize_slices.png``), the y-t slices of the three through the
disc. Then ``motionmag measure`` of the input and the stabilized output, on the disc in
the 2 Hz band (the vibration) and on a corner of the background without a band (the
drift); the unstabilized output moves too far to be measured there::

    python benchmarks/stabilize_example.py [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from motionmag.cli import main as motionmag
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift, vibrating_frames
from motionmag.video import VideoWriter

FPS, FRAMES, HEIGHT, WIDTH = 30.0, 180, 180, 240
DISC_ROI = ("100", "70", "40", "40")  # X Y W H, inside the disc
BACKGROUND_ROI = ("12", "12", "50", "40")


def shaky_clip() -> np.ndarray:
    """The scene (see the module docstring), uint8 (T, H, W, 3)."""
    photo = smooth_texture(load_texture("astronaut"), (HEIGHT, WIDTH), sigma_px=1.0)
    yy, xx = np.mgrid[:HEIGHT, :WIDTH]
    disc = np.clip(40.0 - np.hypot(xx - WIDTH / 2, yy - HEIGHT / 2), 0.0, 1.0)
    clip, _ = vibrating_frames(photo, 0.3, 2.0, FPS, FRAMES, direction_deg=90.0, mask=disc)
    steps = np.random.default_rng(3).normal(0.0, 0.35, size=(FRAMES, 2))
    kernel = np.ones(9) / 9.0
    walk = np.cumsum(steps, axis=0)
    walk = np.stack([np.convolve(walk[:, i], kernel, mode="same") for i in range(2)], axis=1)
    walk -= walk[0]
    return quantize(
        np.stack([subpixel_shift(f, dx, dy) for f, (dx, dy) in zip(clip, walk, strict=True)])
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("runs/stabilize_example"))
    args = parser.parse_args()
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    clip = shaky_clip()
    with VideoWriter(out / "shaky.mkv", FPS, WIDTH, HEIGHT, overwrite=True) as writer:
        for frame in clip:
            writer.write(frame)
    common = ["--method", "phase", "--alpha", "10", "--overwrite", "--quiet"]
    motionmag(["magnify", str(out / "shaky.mkv"), "-o", str(out / "plain_x10.mkv"), *common])
    motionmag(["magnify", str(out / "shaky.mkv"), "-o", str(out / "stabilized_x10.mkv"),
               *common, "--stabilize"])  # fmt: skip
    videos = [str(out / name) for name in ("shaky.mkv", "plain_x10.mkv", "stabilized_x10.mkv")]
    slices = str(out / "slices.png")
    motionmag(["slice", *videos, "--x", str(WIDTH // 2), "-o", slices, "--overwrite"])
    measured = [videos[0], videos[2]]
    for roi, band in ((DISC_ROI, ["--band", "1.5", "2.5"]), (BACKGROUND_ROI, [])):
        print(f"\n--roi {' '.join(roi)} {' '.join(band)}")
        motionmag(["measure", *measured, "--roi", *roi, *band, "--quiet"])


if __name__ == "__main__":
    main()
