"""Temporal spectrum of a region of a video: where in frequency the small motions are.

What matters: motion changes pixel intensities with signs that vary across a region, so
the *mean* intensity hides it; this averages the per-pixel power spectra instead (each
pixel's luma detrended, Hann-windowed, FFT along time; Welch-like averaging over pixels).
The region is reduced to at most 32 x 32 samples by area averaging, so memory is
``frames x 1024`` floats (75 MB for 10 minutes at 30 fps) and the video streams.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass

import cv2
import numpy as np
from scipy import signal

from ..errors import UsageError
from ..video import probe

_GRID = 32


@dataclass
class Spectrum:
    """Mean per-pixel power spectrum of a region: ``power[i]`` at ``freqs_hz[i]``."""

    freqs_hz: np.ndarray
    power: np.ndarray
    fps: float
    frames: int
    roi: tuple[int, int, int, int]

    def prominence(self) -> np.ndarray:
        """Power over its local background (a running median of 15 bins, in log power).

        Spectra of natural video fall like 1/f, so the raw maximum is almost always the
        lowest frequency; a vibration shows as a bin well above its neighbours.
        """
        from scipy.ndimage import median_filter

        log_power = np.log(self.power + 1e-20)
        background = median_filter(log_power, size=15, mode="nearest")
        return np.exp(log_power - background)

    def _peak_index(self) -> int:
        # from the first bin on (DC excluded; the series were detrended, so a drift does
        # not fill the lowest bins), the largest power x f: the 1/f fall of natural video
        # flattened, so a vibration stands out. From the third bin, as before, a breath
        # at 0.2 Hz in 10 s (bin 2) was never found
        start = min(1, len(self.freqs_hz) - 1)
        weighted = self.power[start:] * self.freqs_hz[start:]
        peak = start + int(np.argmax(weighted))
        return self._fundamental(peak, start)

    def _fundamental(self, peak: int, start: int) -> int:
        """``peak``, or the bin of its fundamental: a large motion changes intensities
        non-linearly, with harmonics, and the x f flattening let a harmonic with over half
        the fundamental's power win (8 px at 1 Hz read 2 Hz). A prominent bin near 1/2 or
        1/3 of the peak's frequency holding at least its power is the fundamental."""
        prominence = self.prominence()
        fundamentals = [
            j
            for divisor in (2, 3)
            for j in range(round(peak / divisor) - 1, round(peak / divisor) + 2)
            if start <= j < peak and self.power[j] >= self.power[peak] and prominence[j] >= 4.0
        ]
        return max(fundamentals, key=lambda j: self.power[j], default=peak)

    @property
    def peak_hz(self) -> float:
        """Frequency of the strongest change once the 1/f fall is flattened."""
        return float(self.freqs_hz[self._peak_index()])

    @property
    def has_clear_peak(self) -> bool:
        """True when that peak stands at least 4x above its local background."""
        return bool(self.prominence()[self._peak_index()] >= 4.0)

    def suggested_band(self) -> tuple[float, float]:
        """A band around the peak, +-30 % (clipped below Nyquist): a starting point."""
        peak = self.peak_hz
        return max(peak * 0.7, self.freqs_hz[1]), min(peak * 1.3, 0.49 * self.fps)


def check_roi(roi, width: int, height: int) -> tuple[int, int, int, int]:
    if roi is None:
        return 0, 0, width, height
    from ..magnify.geometry import pixel_box

    x, y, w, h = pixel_box("--roi", roi)
    if w <= 0 or h <= 0:
        raise UsageError(
            f"region {x} {y} {w} {h} has no area (W and H are its width and height): give "
            "--roi X Y W H with W and H above 0."
        )
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise UsageError(
            f"region {x} {y} {w} {h} is not inside the {width}x{height} frame: "
            "give --roi X Y W H within it."
        )
    return x, y, w, h


def region_spectrum(
    path: str | os.PathLike,
    roi: tuple[int, int, int, int] | None = None,
    fps: float | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    stabilize: str | None = None,
    quiet: bool = True,
) -> Spectrum:
    """Spectrum of the region ``roi`` = (x, y, w, h) px of the video at ``path``, of the
    frames from ``start_s`` to before ``end_s`` (s; default the whole video); a progress
    bar of frames on stderr unless ``quiet``.

    ``stabilize``: a camera motion model (``magnify/stabilize.py``): every frame is first
    registered to the first on what lies outside the region, so a shaking camera does not
    spread its power over the spectrum; a region covering more than 90 % of the frame is
    refused (:func:`~motionmag.eval.region_motion.camera_aligner`: registering on it
    would cancel its own motion)."""
    from ..magnify.trim import TimeWindow
    from .region_motion import camera_aligner, frames_with_progress, note_stabilization

    info = probe(path, fps=fps)
    x, y, w, h = check_roi(roi, info.width, info.height)
    window = TimeWindow.from_seconds(start_s, end_s, float(info.fps), info.duration_s, f"'{path}'")
    aligner = camera_aligner(stabilize, [(x, y, w, h)], info.width, info.height)
    grid_w, grid_h = min(w, _GRID), min(h, _GRID)
    samples = []
    for frame in frames_with_progress(path, fps, window, info, "spectrum", quiet):
        if aligner is not None:
            frame = aligner.warp(frame, aligner.register(frame))
        patch = frame[y : y + h, x : x + w].astype(np.float32)
        luma = patch @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        samples.append(cv2.resize(luma, (grid_w, grid_h), interpolation=cv2.INTER_AREA).ravel())
    window.check_frames(len(samples), 4, f"'{path}'", "a spectrum")
    if aligner is not None:
        note_stabilization(path, aligner)
    series = signal.detrend(np.stack(samples).astype(np.float64), axis=0)  # mean and drift
    window = np.hanning(len(series))[:, None]
    power = (np.abs(np.fft.rfft(series * window, axis=0)) ** 2).mean(axis=1)
    rate = float(info.fps)
    freqs = np.fft.rfftfreq(len(series), d=1.0 / rate)
    return Spectrum(freqs, power, rate, len(series), (x, y, w, h))


def plot_spectrum(spectrum: Spectrum, title: str = "", name: str = "") -> np.ndarray:
    """Render the spectrum as an RGB image (log power vs Hz, peak marked); ``name``: the
    video's, in the default title."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4), dpi=100)
    freqs, power = spectrum.freqs_hz[1:], spectrum.power[1:]
    ax.semilogy(freqs, power + 1e-12, color="#1f5fa8", linewidth=1.2)
    peak = spectrum.peak_hz
    ax.axvline(peak, color="#d0402b", linestyle="--", linewidth=1)
    right = peak > 0.8 * freqs[-1]  # near Nyquist: the label goes left of the line
    ax.annotate(
        f"peak {peak:.2f} Hz",
        (peak, power.max()),
        textcoords="offset points",
        xytext=(-6 if right else 6, -12),
        ha="right" if right else "left",
        color="#d0402b",
    )
    if spectrum.has_clear_peak:  # the band the command suggests, as it prints it
        low, high = spectrum.suggested_band()
        label = f"suggested --band {low:.2f} {high:.2f}"
        ax.axvspan(low, high, color="#d0402b", alpha=0.1, label=label)
        ax.legend(fontsize=8, loc="upper right")
    else:
        ax.text(0.99, 0.97, "no clear peak above the 1/f background", transform=ax.transAxes,
                ha="right", va="top", fontsize=8)  # fmt: skip
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("mean power per pixel\n(grey levels², unnormalised)")
    x, y, w, h = spectrum.roi
    ax.set_title(
        textwrap.fill(
            title
            or f"temporal spectrum of {name + ', ' if name else ''}region x={x} y={y} w={w} "
            f"h={h}, {spectrum.frames} frames at {spectrum.fps:g} fps",
            80,
        ),
        fontsize=10,
    )
    ax.grid(True, which="both", alpha=0.3)
    return figure_rgb(fig)


def figure_rgb(fig) -> np.ndarray:
    """A matplotlib figure, laid out and rendered, as uint8 RGB (H, W, 3); closes it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
    plt.close(fig)
    return image
