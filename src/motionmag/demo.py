"""``motionmag demo``: a sample clip with a known sub-pixel vibration, magnified and measured.

What matters: it needs nothing but the installed package (the texture is a photo that
ships with scikit-image), it shows the result three ways (a magnified video, input and
output side by side, and an x-t slice where the vibration becomes a visible wave), and
it *measures* the magnification it achieved against the known input motion, so a user
sees at once that alpha means alpha. The input clip is written losslessly (FFV1 .mkv):
an H.264 encoder, even at crf 18, treats a 0.06 px vibration as a still block and erases
it, which is worth knowing before magnifying one's own compressed videos.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UsageError
from .eval.displacement import measure_shift
from .magnify.api import magnify
from .synth.textures import load_texture
from .synth.vibration import quantize, smooth_texture, vibrating_frames
from .video import VideoReader, VideoWriter, save_png, slice_figure

FPS = 30.0
FREQUENCY_HZ = 3.0
AMPLITUDE_PX = 0.06
ALPHA = 20.0
BAND_HZ = (2.0, 4.0)
#: a square (x, y, w, h) px inside the vibrating ellipse of ``_scene``'s 320x240 frame
DEMO_ROI = (120, 70, 80, 80)


@dataclass
class DemoResult:
    folder: Path
    input: Path
    magnified: Path
    side_by_side: Path
    slice: Path
    measured_alpha: float


def _scene(width: int = 320, height: int = 240) -> tuple[np.ndarray, np.ndarray]:
    """A photo background and an elliptical 'membrane' region that will vibrate."""
    texture = smooth_texture(load_texture("astronaut"), (height, width), sigma_px=2.5)
    yy, xx = np.mgrid[:height, :width]
    inside = ((xx - width * 0.5) / (width * 0.22)) ** 2 + (
        (yy - height * 0.45) / (height * 0.3)
    ) ** 2
    mask = np.clip((1.0 - inside) * 8.0, 0.0, 1.0)  # soft edge a few pixels wide
    return texture, mask


DEMO_FILES = ("input.mkv", "magnified.mp4", "side_by_side.mp4", "slice.png")


def run_demo(
    folder: str | Path = "motionmag-demo", quiet: bool = False, overwrite: bool = False
) -> DemoResult:
    """Build the clip, magnify it, write the pictures; return where they are. The folder
    is made if its parent exists; files of an earlier demo in it are replaced only with
    ``overwrite``."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"'{folder}' is a file: give a folder for the demo with -o.")
    if not folder.parent.is_dir():
        raise UsageError(f"folder '{folder.parent}' does not exist: create it first.")
    there = [name for name in DEMO_FILES if (folder / name).exists()]
    if there and not overwrite:
        them = "them" if len(there) > 1 else "it"
        raise UsageError(
            f"'{folder}' already holds {', '.join(there)}: pass --overwrite to replace {them}, "
            "or give another folder with -o."
        )
    made = not folder.exists()
    folder.mkdir(exist_ok=True)
    before = {name: (folder / name).stat().st_mtime_ns for name in there}
    try:
        return _run_demo(folder, quiet)
    except BaseException:  # a failure or a stop: what this run wrote is not kept
        for name in DEMO_FILES:
            path = folder / name
            if path.exists() and before.get(name) != path.stat().st_mtime_ns:
                path.unlink()  # new, or replaced by this run (an earlier demo's stays)
        if made and not any(folder.iterdir()):
            folder.rmdir()
        raise


def _run_demo(folder: Path, quiet: bool) -> DemoResult:
    """The demo's work in ``folder`` (checked and made by :func:`run_demo`)."""
    texture, mask = _scene()
    clip, truth = vibrating_frames(
        texture, AMPLITUDE_PX, FREQUENCY_HZ, FPS, frames=90, direction_deg=0.0, mask=mask
    )
    frames = quantize(clip)
    # the input is lossless on purpose: H.264 (even at crf 18) erases a 0.06 px motion
    paths = {name: folder / f"{name}.mp4" for name in ("magnified", "side_by_side")}
    paths["input"] = folder / "input.mkv"
    with VideoWriter(paths["input"], FPS, frames.shape[2], frames.shape[1], overwrite=True) as w:
        for frame in frames:
            w.write(frame)
    common = dict(method="linear", alpha=ALPHA, band=BAND_HZ, filter="fir", overwrite=True)
    magnify(paths["input"], paths["magnified"], quiet=quiet, **common)
    magnify(paths["input"], paths["side_by_side"], side_by_side=True, quiet=True, **common)

    # measure the vibration inside the region, input vs output, on the written files
    still = quantize(texture)
    region = (mask > 0.99).astype(float)
    with VideoReader(paths["magnified"]) as reader:
        out_shift = np.array([measure_shift(still, f, mask=region)[0] for f in reader])
    steady = slice(30, 75)  # away from the filter's edges
    measured = float(np.ptp(out_shift[steady]) / np.ptp(truth[steady]))

    slice_png = folder / "slice.png"
    row = int(0.45 * frames.shape[1])
    save_png(
        slice_png,
        slice_figure(
            [paths["input"], paths["magnified"]],
            y=row,
            labels=["input", f"linear x{ALPHA:g}"],
            caption=True,
        ),
    )
    return DemoResult(
        folder, paths["input"], paths["magnified"], paths["side_by_side"], slice_png, measured
    )
