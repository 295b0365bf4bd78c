"""How far a region of a video moves, frame by frame, in px: motion made measurable.

What matters:

- The region's translation relative to a reference frame is measured with the same
  independent estimator every "alpha is alpha" check rests on: coarse-to-fine global
  Lucas-Kanade with exact Fourier re-warping (``linearity.track_shift``, built on
  ``displacement.measure_shift``; about 1e-3 px on smooth textures, swings of 10+ px).
  One (dx, dy) per frame: a rigid translation of the region, so choose a region that
  moves as one piece (a beam, a patch of skin, a window of a building).
- The summary is read along the motion's principal axis (the first principal component
  of (dx, dy)): its spectral peak (``rig.peak_frequency_hz``), the amplitude of the
  least-squares sinusoid at that frequency (``rig.sinusoid_amplitude``), RMS and
  peak-to-peak. ``band`` band-passes the series first (zero-phase Butterworth), to
  measure a vibration on a drifting camera.
- Two videos of one scene (an input and its magnified output) are compared by the gain
  of the least-squares fit ``out ~ gain x in`` of their displacements along the first
  video's axis: the magnification the method achieved on this region.
- Our choice: regions larger than ``MAX_SIDE_PX`` are area-averaged down by a whole
  factor before measuring (the displacement is scaled back), so a full 1080p frame costs
  about as much as a 320 px region; frames stream, only the series is kept.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
from tqdm import tqdm

from ..atomic import write_text
from ..errors import InputError, UsageError
from ..video import VideoReader, probe
from .linearity import track_shift
from .rig import peak_frequency_hz, sinusoid_amplitude
from .spectrum import check_roi, figure_rgb

#: longest side (px) measured at full resolution; larger regions are reduced (our choice)
MAX_SIDE_PX = 320
#: px ignored at each border of the region (Fourier re-warping's mirror seam)
BORDER_PX = 4


@dataclass
class RegionMotion:
    """The translation of a region, per frame: ``dx[t], dy[t]`` px (image x right, y
    down) of frame t relative to frame ``reference``."""

    path: str
    fps: float
    roi: tuple[int, int, int, int]
    reference: int
    dx: np.ndarray
    dy: np.ndarray
    band: tuple[float, float] | None = None

    def series(self) -> np.ndarray:
        """(T, 2) displacement in px, mean removed, band-passed when ``band`` is set."""
        return self._series

    @cached_property
    def _series(self) -> np.ndarray:  # band-passed once, however often it is read
        xy = np.stack([self.dx, self.dy], axis=1).astype(np.float64)
        xy -= xy.mean(axis=0)
        if self.band is not None:
            from scipy import signal

            from ..temporal.iir import butterworth_sos, filtfilt_padlen

            sos = butterworth_sos(self.band[0], self.band[1], self.fps, 2)
            padlen = filtfilt_padlen(sos)
            if len(xy) <= padlen:
                raise UsageError(
                    f"{len(xy)} frames are too few to band-pass the motion: give at least "
                    f"{padlen + 1} frames, or leave out --band."
                )
            xy = signal.sosfiltfilt(sos, xy, axis=0)
        return xy

    def axis(self) -> np.ndarray:
        """Unit vector (x, y) of the principal direction of motion, x >= 0."""
        return self._axis

    @cached_property
    def _axis(self) -> np.ndarray:
        xy = self.series()
        _, _, vt = np.linalg.svd(xy, full_matrices=False)
        direction = vt[0]
        return (
            -direction
            if direction[0] < 0 or (direction[0] == 0 and direction[1] < 0)
            else direction
        )

    def along(self, axis: np.ndarray | None = None) -> np.ndarray:
        """(T,) displacement in px along ``axis`` (default: this motion's own)."""
        return self.series() @ (self.axis() if axis is None else axis)

    def summary(self) -> dict:
        """Peak frequency (Hz), its sinusoid's amplitude, RMS and peak-to-peak (px), and
        the direction of motion (degrees from +x, y down), along the principal axis."""
        axis = self.axis()
        along = self.along(axis)
        peak = peak_frequency_hz(along, self.fps)
        return {
            "frames": len(along),
            "fps": self.fps,
            "roi": list(self.roi),
            "direction_deg": math.degrees(math.atan2(axis[1], axis[0])),
            "peak_hz": peak,
            "amplitude_px": sinusoid_amplitude(along, self.fps, peak),
            "rms_px": float(np.sqrt(np.mean(along**2))),
            "peak_to_peak_px": float(np.ptp(along)),
        }


def compare(first: RegionMotion, other: RegionMotion) -> dict:
    """How ``other`` moves relative to ``first`` (the same scene, e.g. input and output),
    along ``first``'s axis: ``amplitude_ratio`` of their sinusoids at ``first``'s peak
    frequency (what a viewer sees as the magnification), ``gain`` of the least-squares fit
    ``other ~ gain x first`` (in phase only: a causal temporal filter's lag lowers it) and
    their ``correlation``."""
    if len(first.dx) != len(other.dx):
        raise UsageError(
            f"'{other.path}' has {len(other.dx)} frames and '{first.path}' {len(first.dx)}: "
            "compare videos of the same length (an input and its magnified output)."
        )
    axis = first.axis()
    a, b = first.along(axis), other.along(axis)
    power = float(a @ a)
    if power == 0.0:
        raise InputError(
            f"the region does not move in '{first.path}': there is nothing to compare."
        )
    spread = float(np.sqrt(power * (b @ b)))
    peak = peak_frequency_hz(a, first.fps)
    return {
        "amplitude_ratio": sinusoid_amplitude(b, first.fps, peak)
        / sinusoid_amplitude(a, first.fps, peak),
        "gain": float(a @ b) / power,
        "correlation": float(a @ b) / spread if spread > 0 else 0.0,
    }


def _grey_region(frame: np.ndarray, roi: tuple[int, int, int, int], factor: int) -> np.ndarray:
    x, y, w, h = roi
    patch = frame[y : y + h, x : x + w].astype(np.float32)
    luma = patch @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if factor > 1:
        luma = cv2.resize(luma, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    return luma.astype(np.float64)[..., None]  # (H, W, 1): track_shift averages channels


def _shift(base: np.ndarray, region: np.ndarray, factor: int, index: int) -> np.ndarray:
    """(dx, dy) px of one region against the reference, or an InputError when the motion
    is too large for the region (the estimate leaves the region or cannot be solved)."""
    height, width = base.shape[:2]
    try:
        shift = track_shift(base, region, BORDER_PX)
    except np.linalg.LinAlgError:
        shift = np.array([np.inf, np.inf])
    if not np.all(np.isfinite(shift)) or np.abs(shift).max() > min(height, width) / 4:
        raise InputError(
            f"frame {index} has moved too far from the reference frame to be measured in a "
            f"{width * factor}x{height * factor} px region (more than a quarter of it): "
            "give a larger --roi or a --reference closer in time."
        )
    return factor * shift


def region_motion(
    path: str | os.PathLike,
    roi: tuple[int, int, int, int] | None = None,
    reference: int = 0,
    fps: float | None = None,
    band: tuple[float, float] | None = None,
    quiet: bool = True,
) -> RegionMotion:
    """Measure the translation of region ``roi`` = (x, y, w, h) px of the video at
    ``path``, per frame, relative to frame ``reference`` (see the module docstring)."""
    info = probe(path, fps=fps)
    roi = check_roi(roi, info.width, info.height)
    factor = max(1, math.ceil(max(roi[2], roi[3]) / MAX_SIDE_PX))
    if min(roi[2], roi[3]) // factor < 4 * BORDER_PX:
        raise UsageError(
            f"region {roi[2]}x{roi[3]} px is too small to measure motion in: give --roi at "
            f"least {4 * BORDER_PX * factor} px on each side."
        )
    if reference < 0:
        raise UsageError(f"reference frame {reference} is negative: give 0 or more.")
    waiting: list[np.ndarray] = []  # the frames before the reference, kept until it comes
    shifts: list[np.ndarray] = []
    base = None
    with (
        VideoReader(path, fps=fps) as reader,
        tqdm(
            total=info.expected_frames,
            disable=quiet,
            unit="frame",
            desc=f"measure {os.path.basename(os.fspath(path))}",
        ) as bar,
    ):
        for frame in reader:
            region = _grey_region(frame, roi, factor)
            if base is None:
                waiting.append(region)
                if len(waiting) <= reference:
                    continue
                base = region
                shifts = [_shift(base, r, factor, i) for i, r in enumerate(waiting)]
                bar.update(len(waiting))
                waiting = []
                continue
            shifts.append(_shift(base, region, factor, len(shifts)))
            bar.update(1)
    if base is None:
        raise UsageError(
            f"reference frame {reference} is beyond the end of '{path}' ({len(waiting)} "
            "frames): choose a smaller --reference."
        )
    if len(shifts) < 4:
        raise InputError(
            f"'{path}' has {len(shifts)} frame(s): measuring motion needs at least four."
        )
    dx, dy = np.asarray(shifts, dtype=np.float64).T
    return RegionMotion(os.fspath(path), float(info.fps), roi, reference, dx, dy, band)


def write_motion_csv(path: str | os.PathLike, motions: list[RegionMotion]) -> None:
    """Per-frame displacements of every video as CSV (video, frame, time_s, dx_px, dy_px),
    written atomically."""
    lines = ["video,frame,time_s,dx_px,dy_px"]
    for motion in motions:
        for t, (dx, dy) in enumerate(zip(motion.dx, motion.dy, strict=True)):
            lines.append(f"{motion.path},{t},{t / motion.fps:.6f},{dx:.6f},{dy:.6f}")
    write_text(path, "\n".join(lines) + "\n")


def amplitude_spectrum(series: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Single-sided amplitude spectrum of a displacement series: (Hz, px), Hann-windowed
    and scaled by the window's coherent gain, so a sinusoid of amplitude A centred on a
    bin reads A there."""
    series = np.asarray(series, np.float64)
    window = np.hanning(len(series))
    amplitude = 2.0 * np.abs(np.fft.rfft((series - series.mean()) * window)) / window.sum()
    return np.fft.rfftfreq(len(series), d=1.0 / float(fps)), amplitude


def plot_region_motion(motions: list[RegionMotion]) -> np.ndarray:
    """Displacement along the first video's axis against time (left) and its amplitude
    spectrum (right), one line per video, as an RGB image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    axis = motions[0].axis()
    fig, (ax, spectrum_ax) = plt.subplots(
        1, 2, figsize=(12, 4), dpi=100, gridspec_kw={"width_ratios": [3, 2]}
    )
    for motion in motions:
        along = motion.along(axis)
        t = np.arange(len(along)) / motion.fps
        label = os.path.basename(motion.path)
        ax.plot(t, along, linewidth=1.2, label=label)
        freqs, amplitude = amplitude_spectrum(along, motion.fps)
        spectrum_ax.semilogy(freqs[1:], amplitude[1:] + 1e-6, linewidth=1.2, label=label)
    angle = math.degrees(math.atan2(axis[1], axis[0]))
    ax.set_xlabel("time (s)")
    ax.set_ylabel(f"displacement along {angle:.0f} deg (px)")
    x, y, w, h = motions[0].roi
    band = motions[0].band
    ax.set_title(
        f"region x={x} y={y} w={w} h={h}" + (f", band {band[0]:g}-{band[1]:g} Hz" if band else "")
    )
    spectrum_ax.set_xlabel("frequency (Hz)")
    spectrum_ax.set_ylabel("amplitude (px)")
    spectrum_ax.set_title("amplitude spectrum (Hann window)")
    for axes in (ax, spectrum_ax):
        axes.grid(True, which="both", alpha=0.3)
        axes.legend(fontsize=8)
    return figure_rgb(fig)
