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
- Several regions of one video (:func:`region_motions`, one pass over the frames) are
  compared the same way, with the phase between them at the first region's peak: the
  relative amplitude and phase of points along a vibrating structure (its operating
  deflection shape: a beam's mode, two ends of a bridge span moving against each other).
- Our choice: regions larger than ``MAX_SIDE_PX`` are area-averaged down by a whole
  factor before measuring (the displacement is scaled back), so a full 1080p frame costs
  about as much as a 320 px region; frames stream, only the series is kept.
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np
from tqdm import tqdm

from ..atomic import write_text
from ..errors import InputError, MotionmagError, UsageError
from ..magnify.config import as_band
from ..magnify.trim import TimeWindow
from ..output_paths import require_path
from ..temporal.iir import check_band
from ..video import VideoInfo, VideoReader, probe
from ..video.probe import RATE_TOLERANCE
from ..video.reader import gap_advice, rate_mismatch, uneven_spacing
from .linearity import track_shift
from .rig import lowest_peak_hz, peak_frequency_hz, sinusoid_amplitude, sinusoid_fit
from .spectrum import check_roi, figure_rgb

#: longest side (px) measured at full resolution; larger regions are reduced (our choice)
MAX_SIDE_PX = 320
#: px ignored at each border of the region (Fourier re-warping's mirror seam)
BORDER_PX = 4
#: the smallest region side, px: the tracker's coarsest stage works at a quarter of the
#: resolution, inside the border, and on sides of 16-22 px its equations were singular
#: (read as "moved too far"; review, stop 54); from 24 px every test place tracked
MIN_REGION_PX = 24


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
    start_s: float = 0.0  # the video time of dx[0] (measure --start), s

    @property
    def failed(self) -> bool:
        """True when the motion could not be measured (``region_motions(skip_failed=True)``)."""
        return not bool(np.all(np.isfinite(self.dx)))

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
        return one_sign_per_line(vt[0])

    def along(self, axis: np.ndarray | None = None) -> np.ndarray:
        """(T,) displacement in px along ``axis`` (default: this motion's own)."""
        return self.series() @ (self.axis() if axis is None else axis)

    def summary(self, freq_hz: float | None = None) -> dict:
        """Peak frequency (Hz), the amplitude of the sinusoid at ``freq_hz`` (default: the
        peak), RMS and peak-to-peak (px), and the direction of motion (degrees from +x, y
        down), along the principal axis."""
        axis = self.axis()
        along = self.along(axis)
        check_frequency(freq_hz, self.fps, "freq_hz")  # a Python call's (the CLI checks first)
        peak = peak_frequency_hz(along, self.fps)
        read_hz = peak if freq_hz is None else float(freq_hz)
        return {
            "frames": len(along),
            "fps": self.fps,
            "roi": list(self.roi),
            "direction_deg": math.degrees(math.atan2(axis[1], axis[0])),
            "peak_hz": peak,
            "freq_hz": read_hz,
            "amplitude_px": sinusoid_amplitude(along, self.fps, read_hz),
            "rms_px": float(np.sqrt(np.mean(along**2))),
            "peak_to_peak_px": float(np.ptp(along)),
        }


#: a region whose motion along its axis has an RMS below this (px) does not move
#: measurably, and nothing is compared to it (ours: phase correlation reads real
#: texture to about 0.002-0.01 px; a ratio to less is a ratio to rounding error)
STILL_PX = 1e-3
#: the tracker's noise on real texture (px, ours, as above): a motion of lower RMS whose
#: sinusoid at its peak is below STILL_PX is noise spread over every frequency
TRACKER_NOISE_PX = 1e-2
#: |x| of a unit direction below which a motion counts as vertical (sin 1 deg)
VERTICAL_TOLERANCE = math.sin(math.radians(1.0))


def one_sign_per_line(direction: np.ndarray) -> np.ndarray:
    """The unit (x, y) ``direction`` or its opposite, one per line of motion: x >= 0 (-90
    to 90 deg), and within 1 deg of vertical, y down (90 deg). The same vertical motion
    read -90 in one clip and 90 in another, and the grid's cells -90 where a region read
    90."""
    vertical = abs(direction[0]) < VERTICAL_TOLERANCE
    flip = direction[1] < 0 if vertical else direction[0] < 0
    return -direction if flip else direction


def compare(first: RegionMotion, other: RegionMotion, freq_hz: float | None = None) -> dict:
    """How ``other`` moves relative to ``first`` (the same scene, e.g. input and output,
    or two regions of one video), along ``first``'s axis: ``amplitude_ratio`` of their
    sinusoids at ``first``'s peak frequency (what a viewer sees as the magnification),
    ``phase_deg`` of ``other``'s sinusoid behind ``first``'s there (-179.5 to 180.5
    degrees; about 180: they move against each other), ``gain`` of the least-squares fit ``other ~
    gain x first`` (in phase only: a causal temporal filter's lag lowers it) and their
    ``correlation``. ``freq_hz`` reads the sinusoids there instead of at the peak; the
    result's ``freq_hz`` is where they were read, and ``sinusoid_share`` how much of
    ``first``'s motion the sinusoid at the peak holds (:data:`SINUSOID_SHARE_MIN`; None
    with ``freq_hz``: a small component chosen beside a large one holds little of it by
    design)."""
    for name, motion in (("first", first), ("other", other)):
        if not isinstance(motion, RegionMotion):
            raise UsageError(
                f"{name} is a {type(motion).__name__}, not a measured motion: pass what "
                "measure() returned for each video."
            )
    check_frequency(freq_hz, first.fps)
    check_same_rate(first.path, first.fps, other.path, other.fps)
    if len(first.dx) != len(other.dx):
        shorter = min((first, other), key=lambda motion: len(motion.dx))
        end_s = shorter.start_s + len(shorter.dx) / float(shorter.fps)
        raise UsageError(
            f"'{other.path}' has {len(other.dx)} frames and '{first.path}' {len(first.dx)}: "
            "compare videos of the same length (an input and its magnified output), or "
            f"measure both up to --end {end_s:.6g}, where '{shorter.path}' ends."
        )
    axis = first.axis()
    a, b = first.along(axis), other.along(axis)
    power = float(a @ a)
    if _still(first, freq_hz):
        raise InputError(
            f"the region does not move measurably in '{first.path}' (below {STILL_PX:g} "
            "px), so there is no ratio to give: choose a region that moves there."
        )
    spread = float(np.sqrt(power * (b @ b)))
    peak = peak_frequency_hz(a, first.fps) if freq_hz is None else float(freq_hz)
    (amplitude_a, phase_a), (amplitude_b, phase_b) = (
        sinusoid_fit(a, first.fps, peak),
        sinusoid_fit(b, first.fps, peak),
    )
    lag_deg = math.degrees(math.remainder(phase_b - phase_a, 2 * math.pi))
    return {
        "amplitude_ratio": amplitude_b / amplitude_a,
        "phase_deg": lag_deg + 360.0 if lag_deg <= -179.5 else lag_deg,  # prints as 180
        "gain": float(a @ b) / power,
        "correlation": float(a @ b) / spread if spread > 0 else 0.0,
        "freq_hz": peak,
        # the sinusoid's RMS over the motion's: about 1 for a vibration, near 0 where no
        # sinusoid at the peak describes it (fewer than two cycles in the clip)
        "sinusoid_share": (
            amplitude_a / math.sqrt(2.0 * power / len(a)) if freq_hz is None else None
        ),
        # the sinusoids' amplitudes there, px: below STILL_PX a ratio (or a phase) is one
        # of noise (--freq 6 where the input moved 0.0001 px read x119)
        "amplitude_first_px": amplitude_a,
        "amplitude_other_px": amplitude_b,
    }


#: below this :func:`compare` ``sinusoid_share`` the amplitude ratio is a ratio of
#: noise (one cycle of 0.3 and 3 px read x0.34): the in-phase gain is given instead (ours)
SINUSOID_SHARE_MIN = 0.3


def ratio_text(comparison: dict) -> str:
    """ "x8.25" (the amplitude ratio), or, where no sinusoid at the peak describes the
    first motion (:data:`SINUSOID_SHARE_MIN`), the in-phase gain."""
    if _by_gain(comparison):
        return f"x{comparison['gain']:.2f}"
    return f"x{comparison['amplitude_ratio']:.2f}"


def _by_gain(comparison: dict) -> bool:
    share = comparison["sinusoid_share"]
    return share is not None and share < SINUSOID_SHARE_MIN


def _gain_words(comparison: dict) -> str:
    """ "in-phase gain x9.98", or "the in-phase gain" where it is the ratio given."""
    return (
        "the in-phase gain" if _by_gain(comparison) else f"in-phase gain x{comparison['gain']:.2f}"
    )


def _sinusoid_note(comparison: dict, indent: str) -> list[str]:
    """A line saying why the gain stands for the ratio, or that the first motion's
    sinusoid at the ``--freq`` asked for is too faint for a ratio; or none."""
    if comparison.get("still"):
        return []
    faint = comparison["amplitude_first_px"] < STILL_PX
    if faint and comparison["sinusoid_share"] is None:  # read at --freq, the ratio given
        return [
            f"{indent}  (at {comparison['freq_hz']:.3g} Hz the first moves only "
            f"{comparison['amplitude_first_px']:.2g} px, below what can be measured "
            f"({STILL_PX:g} px): that ratio is one of noise; read a frequency where it moves)"
        ]
    if not _by_gain(comparison):
        return []
    return [
        f"{indent}  (the sinusoid at {comparison['freq_hz']:.3g} Hz holds "
        f"{comparison['sinusoid_share']:.0%} of the motion, so its amplitude ratio, "
        f"x{comparison['amplitude_ratio']:.2f}, says little: fewer than two cycles in the "
        "clip? --freq reads another frequency)"
    ]


def check_same_rate(first: str, first_fps: float, other: str, other_fps: float) -> None:
    """UsageError unless two videos run at one rate: the same frames at 30 and 25 fps
    read 2.0 and 1.67 Hz, and were compared (x1.00) at the first one's frequency."""
    if not math.isclose(float(first_fps), float(other_fps), rel_tol=RATE_TOLERANCE):
        raise UsageError(
            f"'{other}' runs at {float(other_fps):.6g} fps and '{first}' at "
            f"{float(first_fps):.6g}: "
            "compare videos of one rate (an input and its magnified output), or give --fps "
            "to read both at one."
        )


def axis_near(direction_deg: float, reference_deg: float) -> float:
    """``direction_deg`` or the same axis read the other way (+-180 degrees), whichever
    lies within 90 degrees of ``reference_deg``: an input read at 90 deg and its output at
    -88 deg move along nearly the same line, and print as 90 and 92."""
    turned = direction_deg + 180.0 if direction_deg < reference_deg else direction_deg - 180.0
    return (
        turned
        if abs(turned - reference_deg) < abs(direction_deg - reference_deg)
        else direction_deg
    )


def _compare_or_still(first: RegionMotion, other: RegionMotion, freq_hz: float | None) -> dict:
    """:func:`compare`, or ``{"still": True}`` when ``first`` does not move measurably (a
    still region in a report of several: the others are still worth reporting)."""
    return {"still": True} if _still(first, freq_hz) else compare(first, other, freq_hz)


def _still(motion: RegionMotion, freq_hz: float | None = None) -> bool:
    """True when the region does not move measurably: its motion along its axis has an
    RMS below :data:`STILL_PX`, or, read at its own peak (no ``freq_hz``), an RMS within
    the tracker's noise (:data:`TRACKER_NOISE_PX`) with the sinusoid at the peak below
    :data:`STILL_PX`. A still photo with camera noise tracks at an RMS of 0.001-0.003 px
    spread over every frequency, and read x12 against a magnified copy of itself (review,
    stop 59); a real motion of one cycle in the window holds little at its peak too, but
    its RMS is far above the noise. At ``--freq`` a faint sinusoid is told by
    :func:`_sinusoid_note` instead."""
    along = motion.along(motion.axis())
    if not len(along):
        return True
    rms = float(np.sqrt(np.mean(along**2)))
    if rms < STILL_PX:
        return True
    if freq_hz is not None or rms >= TRACKER_NOISE_PX:
        return False
    amplitude, _ = sinusoid_fit(along, motion.fps, peak_frequency_hz(along, motion.fps))
    return amplitude < STILL_PX


def check_frequency(freq_hz: float | None, fps: float, name: str = "--freq") -> None:
    """UsageError unless ``freq_hz`` (when given) is a number between 0 and the Nyquist
    frequency; ``name``: the flag or keyword the sentence names."""
    if freq_hz is None:
        return
    said = f"{name} {freq_hz!r}" if name.startswith("--") else f"{name}={freq_hz!r}"
    try:
        freq_hz = float(freq_hz)
    except (TypeError, ValueError):
        raise UsageError(f"{said} is not a number: give a frequency in Hz, e.g. 2.") from None
    if not 0 < freq_hz < fps / 2:
        said = f"{name} {freq_hz:g}" if name.startswith("--") else f"{name}={freq_hz:g}"
        raise UsageError(
            f"{said} Hz is not between 0 and the Nyquist frequency of a {fps:g} "
            f"fps video ({fps / 2:g} Hz): give a frequency the video can hold."
        )


def describe_regions(
    per_video: list[list[RegionMotion]], freq_hz: float | None = None
) -> tuple[list[dict], str]:
    """The report of ``measure``'s regions: ``per_video[v][r]`` is video v's motion in
    region r. Every region's summary per video; each region after the first against
    region 1 of the same video (the shape of the motion); each video after the first
    against the first (the magnification achieved). Returns (the JSON ``regions`` list,
    the text)."""
    several = len(per_video[0]) > 1
    indent = "  " if several else ""
    regions, lines = [], []
    for r in range(len(per_video[0])):
        motions = [videos[r] for videos in per_video]
        x, y, w, h = motions[0].roi
        name = f"region {r + 1}: " if several else "region "
        lines.append(f"{name}x={x} y={y} w={w} h={h}, reference frame {motions[0].reference}")
        entries = []
        for v, motion in enumerate(motions):
            check_frequency(freq_hz, motion.fps)
            summary = motion.summary(freq_hz)
            if v > 0:  # one axis, two signs: read it the way the first video's reads
                first_deg = entries[0]["direction_deg"]
                summary["direction_deg"] = axis_near(summary["direction_deg"], first_deg)
            entries.append({"video": motion.path, **summary})
            lines.append(
                f"{indent}{motion.path}: {summary['amplitude_px']:.4f} px at "
                f"{summary['freq_hz']:.3f} Hz along {round(summary['direction_deg']) or 0:d} deg"
                f" (RMS {summary['rms_px']:.4f} px, peak to peak "
                f"{summary['peak_to_peak_px']:.4f} px; {summary['frames']} frames at "
                f"{summary['fps']:g} fps)"
            )
            if _still(motion, freq_hz):
                lines.append(
                    f"{indent}  (below what can be measured, {STILL_PX:g} px: the region does "
                    "not move measurably)"
                )
            floor_hz = lowest_peak_hz(summary["frames"], summary["fps"])
            if freq_hz is None and motion.band is None and summary["peak_hz"] <= 1.05 * floor_hz:
                lines.append(
                    f"{indent}  (the peak is at the lowest frequency this clip can show, "
                    f"{floor_hz:.3g} Hz, two cycles in its length: it may be a drift, not a "
                    "vibration; --band LOW HIGH reads a band, a longer clip lower ones)"
                )
            if r > 0:
                shape = _compare_or_still(per_video[v][0], motion, freq_hz)
                entries[-1]["relative_to_region_1"] = shape
                if shape.get("still"):
                    lines.append("    region 1 does not move measurably: no ratio to it")
                elif shape["amplitude_other_px"] < STILL_PX:  # no phase to speak of
                    lines.append(
                        f"    does not move measurably at {shape['freq_hz']:.3g} Hz "
                        f"({ratio_text(shape)} of region 1; correlation "
                        f"{shape['correlation']:.3f})"
                    )
                else:
                    lines.append(
                        f"    moves {ratio_text(shape)} as much as region 1"
                        f"{' (the in-phase gain)' if _by_gain(shape) else ''}, "
                        f"{round(shape['phase_deg']) or 0:d} deg behind it (correlation "
                        f"{shape['correlation']:.3f})"
                    )
                lines += _sinusoid_note(shape, "  ")
        for entry, motion in zip(entries[1:], motions[1:], strict=True):
            comparison = _compare_or_still(motions[0], motion, freq_hz)
            entry["relative_to_first"] = comparison
            lines.append(
                f"{indent}{motion.path}: the region does not move measurably in "
                f"{motions[0].path} (below {STILL_PX:g} px), so no ratio to it"
                if comparison.get("still")
                else f"{indent}{motion.path} moves {ratio_text(comparison)} as much "
                f"as {motions[0].path} ({_gain_words(comparison)}, correlation "
                f"{comparison['correlation']:.3f})"
            )
            lines += _sinusoid_note(comparison, indent)
        regions.append({"roi": [x, y, w, h], "videos": entries})
    return regions, "\n".join(lines)


def _grey_region(frame: np.ndarray, roi: tuple[int, int, int, int], factor: int) -> np.ndarray:
    """The region's luma, area-averaged ``factor`` times smaller: cut to a multiple of
    ``factor`` first, so a shift measured there is exactly ``factor`` times smaller (a
    343 px wide region shrunk to 171 px read 0.3 % low)."""
    x, y, w, h = roi
    if factor > 1:
        w, h = w // factor * factor, h // factor * factor
    patch = frame[y : y + h, x : x + w].astype(np.float32)
    luma = patch @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if factor > 1:
        luma = cv2.resize(luma, (w // factor, h // factor), interpolation=cv2.INTER_AREA)
    return luma.astype(np.float64)[..., None]  # (H, W, 1): track_shift averages channels


def _shift(base: np.ndarray, region: np.ndarray, factor: int, index: int, path: str) -> np.ndarray:
    """(dx, dy) px of one region against the reference, or an InputError naming the video
    ``path`` when the motion is too large for the region (the estimate leaves the region
    or cannot be solved)."""
    height, width = base.shape[:2]
    try:
        shift = track_shift(base, region, BORDER_PX)
    except np.linalg.LinAlgError:
        shift = np.array([np.inf, np.inf])
    if not np.all(np.isfinite(shift)) or np.abs(shift).max() > min(height, width) / 4:
        if float(np.ptp(base)) < 1.0:  # a uniform reference: nothing to follow
            raise InputError(
                f"the {width * factor}x{height * factor} px region of '{path}' has no texture "
                "to track (its pixels vary by less than one grey level in the reference "
                "frame): choose a region with detail (--roi)."
            )
        raise InputError(
            f"frame {index} of '{path}' has moved too far from the reference frame to be "
            "measured in a "
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
    start: float | None = None,
    end: float | None = None,
    stabilize: str | None = None,
) -> RegionMotion:
    """Measure the translation of region ``roi`` = (x, y, w, h) px of the video at
    ``path`` (default: the whole frame), per frame, relative to frame ``reference`` (see
    the module docstring); ``start`` / ``end`` (s) measure a time window only, as in
    ``magnify``; ``band`` (Hz) band-passes the series; ``stabilize``: a camera motion
    model, see :func:`region_motions`. The Python API's ``mm.measure``."""
    return region_motions(
        path, [roi], reference, fps, band, quiet, start_s=start, end_s=end,
        stabilize=stabilize,
    )[0]  # fmt: skip


def frames_with_progress(
    path: str | os.PathLike,
    fps: float | None,
    window: TimeWindow,
    info: VideoInfo,
    verb: str,
    quiet: bool,
) -> Iterator[np.ndarray]:
    """The frames of ``window`` of the video at ``path``, with a progress bar of frames
    on stderr (``VERB FILE``) unless ``quiet``."""
    with (
        VideoReader(path, fps=fps) as reader,
        tqdm(
            total=window.count(info.expected_frames),
            disable=quiet,
            unit="frame",
            desc=f"{verb} {os.path.basename(os.fspath(path))}",
        ) as bar,
    ):
        for frame in reader.frames(window.first, window.stop, window.seconds):
            bar.update(1)
            yield frame
    name = os.path.basename(os.fspath(path))
    intervals_s, rate = reader.frame_interval_range_s, float(info.fps)
    # under --fps the spacing is meant to differ (a high-speed camera's rate on a file
    # stored at 30 fps): only a file's own stated rate is checked against it
    real = None if fps is not None else rate_mismatch(intervals_s, reader.mean_interval_s, rate)
    if uneven_spacing(intervals_s):
        low, high = intervals_s
        print(
            f"motionmag: note: frames of '{name}' are not evenly spaced in time ({1000 * low:.0f} "
            f"to {1000 * high:.0f} ms apart): {verb} assumes {rate:g} fps throughout, so "
            f"frequencies and times are approximate{gap_advice(intervals_s)}; re-encode at a "
            "constant rate first (ffmpeg -fps_mode cfr).",
            file=sys.stderr,
        )
    elif real is not None:
        print(
            f"motionmag: note: frames of '{name}' are {1000 * reader.mean_interval_s:.1f} ms "
            f"apart ({real:.4g} fps) but the file states {rate:g} fps, which {verb} reads them "
            f"at, so frequencies are {rate / real:.3g}x and times "
            f"{real / rate:.3g}x the true ones; pass --fps {real:.4g}.",
            file=sys.stderr,
        )


def region_motions(
    path: str | os.PathLike,
    rois: list[tuple[int, int, int, int] | None],
    reference: int = 0,
    fps: float | None = None,
    band: tuple[float, float] | None = None,
    quiet: bool = True,
    skip_failed: bool = False,
    start_s: float | None = None,
    end_s: float | None = None,
    stabilize: str | None = None,
) -> list[RegionMotion]:
    """:func:`region_motion` of several regions of one video, in one pass over its frames.

    ``stabilize``: a global motion model (``magnify/stabilize.py``): every frame is first
    registered to the window's first frame on what lies outside the regions (the whole
    frame when they cover more than 90 % of it) and warped there, so a region's motion is
    measured against the scene and not the camera.

    ``start_s`` / ``end_s``: only the frames from ``start_s`` to before ``end_s`` (s, as
    ``magnify --start/--end``: a start far in seeks); ``reference`` counts from the first
    of them.

    ``skip_failed``: a region whose motion becomes too large to measure is not an error;
    it is no longer measured and its ``dx``, ``dy`` are NaN throughout (``failed``), so
    one person walking through a grid cell does not stop the map of the others."""
    require_path(path, "video", "measure frames in memory by writing them to a file first")
    if isinstance(reference, bool) or not isinstance(reference, (int, np.integer)):
        raise UsageError(
            f"reference frame {reference!r} is not a whole number: give a frame index, e.g. 0."
        )
    info = probe(path, fps=fps)
    band = as_band(band)
    if band is not None:
        check_band(*band, float(info.fps))
    regions = [check_roi(roi, info.width, info.height) for roi in rois]
    factors = [max(1, math.ceil(max(w, h) / MAX_SIDE_PX)) for _, _, w, h in regions]
    for (_, _, w, h), factor in zip(regions, factors, strict=True):
        if min(w, h) // factor >= MIN_REGION_PX:
            continue
        if (w, h) == (info.width, info.height):  # the whole frame: the video is too small
            raise InputError(
                f"the frames of '{path}' are {w}x{h} px, too small to measure motion in: "
                f"it needs at least {MIN_REGION_PX} px on each side."
            )
        raise UsageError(
            f"region {w}x{h} px is too small to measure motion in: give --roi at "
            f"least {MIN_REGION_PX * factor} px on each side."
        )
    if reference < 0:
        raise UsageError(f"reference frame {reference} is negative: give 0 or more.")
    window = TimeWindow.from_seconds(start_s, end_s, float(info.fps), info.duration_s, f"'{path}'")
    aligner = camera_aligner(stabilize, regions, info.width, info.height)
    waiting: list[list[np.ndarray]] = []  # the frames before the reference, kept until it comes
    # regions that failed (None: raise instead)
    failed: list[bool] | None = [False] * len(regions) if skip_failed else None
    shifts: list[list[np.ndarray]] = []  # per frame, one (dx, dy) per region
    bases = None
    for frame in frames_with_progress(path, fps, window, info, "measure", quiet):
        if aligner is not None:
            frame = aligner.warp(frame, aligner.register(frame))
        cut = [_grey_region(frame, r, f) for r, f in zip(regions, factors, strict=True)]
        if bases is None:
            waiting.append(cut)
            if len(waiting) <= reference:
                continue
            bases = cut
            if failed is not None and all(float(np.ptp(b)) < 1.0 for b in bases):
                raise InputError(  # a grid of uniform cells: not "moved too far" in each
                    f"'{path}' has no texture to track in any cell (the reference frame "
                    "varies by less than one grey level there): choose a region with detail "
                    "(--roi)."
                )
            shifts = [
                _shifts(bases, c, factors, i, failed, str(path)) for i, c in enumerate(waiting)
            ]
            waiting = []
            continue
        shifts.append(_shifts(bases, cut, factors, len(shifts), failed, str(path)))
    if bases is None:
        raise UsageError(
            f"reference frame {reference} is beyond the end of '{path}' ({len(waiting)} "
            "frames): choose a smaller --reference."
        )
    window.check_frames(len(shifts), 4, f"'{path}'", "measuring motion")
    if aligner is not None:
        note_stabilization(path, aligner)
    per_region = np.asarray(shifts, dtype=np.float64)  # (T, regions, 2)
    if failed is not None:
        per_region[:, failed] = np.nan
    motions = [
        RegionMotion(
            os.fspath(path),
            float(info.fps),
            roi,
            reference,
            *per_region[:, k].T,
            band,
            window.start_s,
        )
        for k, roi in enumerate(regions)
    ]
    if band is not None:
        lasts_s = len(per_region) / float(info.fps)
        if band[1] * lasts_s < 1.0:  # not one cycle of the band's highest frequency fits
            raise UsageError(
                f"the band {band[0]:g}-{band[1]:g} Hz holds no full cycle in the "
                f"{lasts_s:.3g} s measured: give a band above {1 / lasts_s:.2g} Hz, or "
                "measure a longer stretch."
            )
        for motion in motions:
            motion.series()  # too few frames for the band: said now, not at the first reading
    return motions


def note_stabilization(path: str | os.PathLike, aligner) -> None:
    """The stabilization's report as a warning naming the video (a ``note:`` on the
    command line): how far the camera moved, frames not registered, a registration
    that may have followed a moving part. measure and spectrum kept it to themselves."""
    import warnings

    warnings.warn(f"'{os.fspath(path)}': {aligner.report.note()}", stacklevel=3)


def camera_aligner(
    model: str | None, regions: list[tuple[int, int, int, int]], width: int, height: int
):
    """A :class:`~motionmag.magnify.stabilize.FrameAligner` of ``model`` that registers
    on what lies outside ``regions`` (the whole frame when they cover more than 90 % of
    it together, as a grid's cells do), or None without a model. A single region that
    covers more than 90 % is a UsageError: registering on it would cancel its motion."""
    if model is None:
        return None
    from ..magnify.stabilize import FrameAligner

    weights = np.ones((height, width), np.float32)
    for x, y, w, h in regions:
        weights[y : y + h, x : x + w] = 0.0
    aligner = FrameAligner(model, weights if weights.mean() >= 0.1 else None)  # checks model
    for _, _, w, h in regions:
        if w * h > 0.9 * width * height:  # registering on it would cancel its own motion
            raise UsageError(
                f"--stabilize registers the camera on what lies outside the region, and a "
                f"{w}x{h} px region leaves under 10 % of the {width}x{height} frame: give a "
                "--roi with still background around it."
            )
    return aligner


def _shifts(
    bases: list[np.ndarray],
    cut: list[np.ndarray],
    factors: list[int],
    index: int,
    failed: list[bool] | None,
    path: str,
) -> list[np.ndarray]:
    """(dx, dy) of every region in one frame; with ``failed`` (a flag per region) a
    region whose motion cannot be measured is flagged and skipped from then on."""
    if failed is None:
        return [_shift(b, c, f, index, path) for b, c, f in zip(bases, cut, factors, strict=True)]
    out = []
    for k, (b, c, f) in enumerate(zip(bases, cut, factors, strict=True)):
        if not failed[k]:
            try:
                out.append(_shift(b, c, f, index, path))
                continue
            except InputError:
                failed[k] = True
        out.append(np.full(2, np.nan))
    return out


def write_motion_csv(path: str | os.PathLike, motions: list[RegionMotion]) -> None:
    """Per-frame displacements of every video and region as CSV (video, region: 1 for the
    first region given, frame, time_s, dx_px, dy_px: as measured, against the reference
    frame), written atomically. Under a band, two more columns, band_dx_px and band_dy_px:
    the band-passed, mean-removed series that the printed numbers and the plot are of."""
    numbers = {roi: k + 1 for k, roi in enumerate(dict.fromkeys(m.roi for m in motions))}
    banded = any(m.band is not None for m in motions)
    lines = ["video,region,frame,time_s,dx_px,dy_px" + (",band_dx_px,band_dy_px" if banded else "")]
    for motion in motions:
        region = numbers[motion.roi]
        series = motion.series() if banded else None
        for t, (dx, dy) in enumerate(zip(motion.dx, motion.dy, strict=True)):
            time_s = motion.start_s + t / motion.fps
            line = f"{motion.path},{region},{t},{time_s:.6f},{dx:.6f},{dy:.6f}"
            if series is not None:
                line += f",{series[t, 0]:.6f},{series[t, 1]:.6f}"
            lines.append(line)
    write_text(path, "\n".join(lines) + "\n")


def amplitude_spectrum(series: np.ndarray, fps: float) -> tuple[np.ndarray, np.ndarray]:
    """Single-sided amplitude spectrum of a displacement series: (Hz, px), Hann-windowed
    and scaled by the window's coherent gain, so a sinusoid of amplitude A centred on a
    bin reads A there."""
    series = np.asarray(series, np.float64)
    window = np.hanning(len(series))
    amplitude = 2.0 * np.abs(np.fft.rfft((series - series.mean()) * window)) / window.sum()
    return np.fft.rfftfreq(len(series), d=1.0 / float(fps)), amplitude


def _short_name(name: str, most: int = 60) -> str:
    """``name`` with its middle cut out beyond ``most`` characters (a file name has no
    spaces to wrap at; its start and its end, e.g. "_x20.mkv", say most)."""
    if len(name) <= most:
        return name
    keep = (most - 3) // 2
    return name[:keep] + "..." + name[-keep:]


def _gain_text(group: list[RegionMotion]) -> str:
    """ "moves x8.25 as much as the first" (each later video's ratio, as the command
    prints it) for the plot's title, or "" when the first video's region does not move
    measurably or a comparison fails."""
    parts = []
    for motion in group[1:]:
        try:
            comparison = _compare_or_still(group[0], motion, None)
        except MotionmagError:
            return ""
        if comparison.get("still"):
            return ""
        parts.append(ratio_text(comparison))
    return "moves " + ", ".join(parts) + " as much as the first" if parts else ""


def plot_region_motion(motions: list[RegionMotion]) -> np.ndarray:
    """Per region (a row each, in the order given): the displacement along the axis of
    its first video's motion against time (left) and its amplitude spectrum (right), one
    line per video, as an RGB image."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[tuple, list[RegionMotion]] = {}
    for motion in motions:
        groups.setdefault(motion.roi, []).append(motion)
    fig, axes = plt.subplots(
        len(groups),
        2,
        figsize=(12, 4 * len(groups)),
        dpi=100,
        gridspec_kw={"width_ratios": [3, 2]},
        squeeze=False,
    )
    for number, ((x, y, w, h), group) in enumerate(groups.items(), start=1):
        ax, spectrum_ax = axes[number - 1]
        axis = group[0].axis()
        for motion in group:
            along = motion.along(axis)
            t = motion.start_s + np.arange(len(along)) / motion.fps
            label = os.path.basename(motion.path)
            ax.plot(t, along, linewidth=1.2, label=label)
            freqs, amplitude = amplitude_spectrum(along, motion.fps)
            spectrum_ax.semilogy(freqs[1:], amplitude[1:] + 1e-6, linewidth=1.2, label=label)
        angle = math.degrees(math.atan2(axis[1], axis[0]))
        ax.set_xlabel("time (s)")
        # never "-0"; angles from +x towards +y, and image y points down
        ax.set_ylabel(
            f"displacement along {round(angle) or 0:d} deg (px)\n(from +x towards +y, y down)"
        )
        band = group[0].band
        name = f"region {number}: " if len(groups) > 1 else "region "
        ax.set_title(
            f"{name}x={x} y={y} w={w} h={h}"
            + (f", band {band[0]:g}-{band[1]:g} Hz" if band else "")
        )
        spectrum_ax.set_xlabel("frequency (Hz)")
        spectrum_ax.set_ylabel("amplitude (px)")
        spectrum_ax.set_title("amplitude spectrum (Hann window)")
        if len(group) > 1:  # the gain the command prints, on the picture too
            gain = _gain_text(group)
            if gain:
                ax.set_title(ax.get_title() + f"; {gain}")
        for each in (ax, spectrum_ax):
            each.grid(True, which="both", alpha=0.3)
        # names (long ones shortened) in a legend beneath the plots, never over the data
        ax.legend(
            [_short_name(os.path.basename(m.path)) for m in group],
            fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=min(2, len(group)),
            frameon=False,
        )  # fmt: skip
    return figure_rgb(fig)
