"""What a magnified physiological video is scored on: the target signal and the artifacts.

What matters (Chen and McDuff 2018, "DeepMag", Sec. 5 and Table 1; METHODS.md section 4):

- **The signal: gain and correlation against the exact truth.** The pulse is read as the
  relative change of the mean skin green (``colour_trace``: pixels on skin in every
  frame, eroded by 1 px, :func:`~motionmag.deepmag.calibration.skin_region`); the
  breathing as the vertical shift of the chest against frame 0 (``chest_trace``: pixels
  on clothing in every frame, eroded, integer search then Lucas-Kanade). Both traces and
  the truth (``pulse``; ``chest_shift_px[:, 1]``) are band-passed in the method's band
  (zero-phase Butterworth, scipy order 3, as DeepMag's Eq. 16 and its calibration);
  ``gain`` = least-squares slope of the output's trace on the truth / the input's slope
  (so noise and head motion, uncorrelated with the truth, do not bias it: the measure
  of :mod:`motionmag.deepmag.calibration`, which is where alpha got its meaning), and
  ``correlation`` = Pearson correlation of the output's trace with the truth
  (``correlation_input`` the same for the input: what magnification should not lose).
  Artifacts in the band (amplified head motion) lower the correlation, not the gain.
- **The pulse also motion-compensated** (:func:`compensated_trace`, our measure): under
  large head motion the mean skin colour changes with shading far more than with the
  pulse (task D: input correlation about 0.1), so even a perfect x3 magnification reads
  only about 0.4 there. Subtracting a noise-free, pulse-free render of the same scene
  (the generator knows the motion) leaves the pulse, the noise and what the method added
  (input correlation 0.96-0.97 on every task): the measure the issue's "correlation >= 0.8
  on task D" can be met on.
- **The artifacts: PSNR and SSIM against the input** (paper Table 1: "artifacts had a
  much more significant impact on their values than the magnified physiology"); SSIM
  per frame then averaged, PSNR from the clip's MSE (:func:`~.metrics.psnr_db`), and
  ``ssim_away``: SSIM only where the window centre is more than ``AWAY_MARGIN_PX`` from
  any pixel of the target region in any frame (our measure: a method that magnifies
  only the target leaves these pixels alone, SSIM 1).
"""

from __future__ import annotations

import math

import cv2
import numpy as np
from scipy import signal

from ..deepmag.calibration import skin_region
from .displacement import measure_shift
from .metrics import SSIM_WINDOW, psnr_db, ssim_maps

#: the paper's bands (Sec. 5, "all the compared methods used the same filter bands")
PULSE_BAND_HZ = (0.7, 2.5)
RESPIRATION_BAND_HZ = (0.16, 0.5)

#: scipy's order of the measurement band-pass (6 poles, zero-phase), as DeepMag's Eq. 16
MEASURE_ORDER = 3

#: our choice: "away from the target" = farther than this from it (px). DeepMag's change
#: is up-sampled bicubically from 36 x 36 (2 small pixels = 7 px at 128 px) and an SSIM
#: window reaches 5 px.
AWAY_MARGIN_PX = 8


def bandpass(trace: np.ndarray, fps: float, band: tuple[float, float]) -> np.ndarray:
    """Zero-phase Butterworth band-pass (scipy order 3, forwards and backwards) of (T,)."""
    sos = signal.butter(MEASURE_ORDER, band, btype="bandpass", fs=fps, output="sos")
    trace = np.asarray(trace, np.float64)
    return signal.sosfiltfilt(sos, trace - trace.mean())


def slope(trace: np.ndarray, truth: np.ndarray) -> float:
    """Least-squares slope of ``trace`` on ``truth`` (no intercept: both zero-mean)."""
    truth = np.asarray(truth, np.float64)
    return float(np.dot(trace, truth) / np.dot(truth, truth))


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Pearson correlation of two (T,) signals; 0 when either is constant."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if np.std(a) == 0 or np.std(b) == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])


def signal_scores(
    trace_in: np.ndarray,
    trace_out: np.ndarray,
    truth: np.ndarray,
    fps: float,
    band: tuple[float, float],
) -> dict[str, float]:
    """Gain and correlation of a magnified trace against the truth (module docstring).

    Args:
        trace_in, trace_out: (T,) the quantity measured on the input and on the output
            (any units, the same for both).
        truth: (T,) the true signal (any units).
        fps: frames per second.
        band: (low, high) Hz, the measurement band-pass.

    Returns:
        ``gain`` (output slope / input slope on the truth; 3 for a trace scaled by 3),
        ``correlation`` and ``correlation_input`` (Pearson, band-passed, with the truth),
        ``slope_input`` and ``slope_output`` (trace units per truth unit).
    """
    truth_f = bandpass(truth, fps, band)
    filtered_in = bandpass(trace_in, fps, band)
    filtered_out = bandpass(trace_out, fps, band)
    before, after = slope(filtered_in, truth_f), slope(filtered_out, truth_f)
    return {
        "gain": after / before if before != 0 else float("nan"),
        "correlation": correlation(filtered_out, truth_f),
        "correlation_input": correlation(filtered_in, truth_f),
        "slope_input": before,
        "slope_output": after,
    }


def colour_trace(frames: np.ndarray, region: np.ndarray, channel: int = 1) -> np.ndarray:
    """Relative change of the mean colour of ``region``: (T,), ``mean / mean(mean) - 1``.

    Args:
        frames: (T, H, W, 3) uint8 or float (units cancel).
        region: bool (H, W).
        channel: 0, 1, 2 for R, G, B (green carries the pulse most, 0.77 of 0.33:0.77:0.53).
    """
    mean = np.asarray(frames)[:, region, channel].astype(np.float64).mean(axis=1)
    return mean / mean.mean() - 1.0


def _grey(frame: np.ndarray) -> np.ndarray:
    frame = np.asarray(frame, np.float64)
    return frame.mean(axis=2) if frame.ndim == 3 else frame


def chest_trace(frames: np.ndarray, region: np.ndarray, max_shift_px: float = 2.0) -> np.ndarray:
    """Vertical shift (px, positive = down, image rows) of ``region`` in each frame vs frame 0.

    Integer search over ``+-(ceil(max_shift_px) + 1)`` rows (least mean squared difference
    on the region), then global Lucas-Kanade (:func:`.displacement.measure_shift`, 4
    Gauss-Newton steps) weighted by the region. The sign matches the truth's
    ``chest_shift_px[:, 1]`` (inhaling moves the chest up: negative).
    """
    frames = np.asarray(frames)
    region = np.asarray(region, bool)
    reach = math.ceil(max_shift_px) + 1
    reference = _grey(frames[0])
    out = np.zeros(len(frames))
    for k in range(1, len(frames)):
        moved = _grey(frames[k])
        errors = [
            np.mean((np.roll(moved, -s, axis=0)[region] - reference[region]) ** 2)
            for s in range(-reach, reach + 1)
        ]
        step = int(np.argmin(errors)) - reach
        aligned = np.roll(moved, -step, axis=0) if step else moved
        _, dy = measure_shift(reference, aligned, mask=region.astype(np.float64), iterations=4)
        out[k] = step + dy
    return out


def chest_region(chest_mask: np.ndarray, erode_px: int = 3) -> np.ndarray:
    """Pixels on the moving clothing in every frame, eroded by ``erode_px``: bool (H, W)."""
    always = np.asarray(chest_mask).all(axis=0).astype(np.uint8)
    kernel = np.ones((2 * erode_px + 1, 2 * erode_px + 1), np.uint8)
    return cv2.erode(always, kernel).astype(bool)


def away_region(target_mask: np.ndarray, margin_px: int = AWAY_MARGIN_PX) -> np.ndarray:
    """Pixels farther than ``margin_px`` from the target in every frame: bool (H, W).

    Args:
        target_mask: bool (T, H, W) or (H, W), where the target (skin, chest) is.
    """
    mask = np.asarray(target_mask, bool)
    anywhere = (mask.any(axis=0) if mask.ndim == 3 else mask).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin_px + 1, 2 * margin_px + 1))
    return ~cv2.dilate(anywhere, kernel).astype(bool)


def quality_scores(
    frames_in: np.ndarray, frames_out: np.ndarray, away: np.ndarray | None = None
) -> dict[str, float]:
    """PSNR (dB) and SSIM of the output against the input, and SSIM over ``away``.

    Args:
        frames_in, frames_out: uint8 (T, H, W, 3).
        away: bool (H, W) pixels whose SSIM windows count for ``ssim_away`` (NaN when
            None or when no window centre lies in it).

    Returns:
        ``psnr_db`` (clip MSE), ``ssim`` (mean over frames of the frame's SSIM, EVALUATION.md
        settings) and ``ssim_away``.
    """
    maps = ssim_maps(frames_out, frames_in)
    scores = {"psnr_db": psnr_db(frames_out, frames_in), "ssim": float(maps.mean())}
    scores["ssim_away"] = float("nan")
    if away is not None:
        half = SSIM_WINDOW // 2
        centres = np.asarray(away, bool)[half:-half, half:-half]
        if centres.any():
            scores["ssim_away"] = float(maps[:, centres].mean())
    return scores


def compensated_trace(
    frames: np.ndarray, pulse_free: np.ndarray, skin_mask: np.ndarray, channel: int = 1
) -> np.ndarray:
    """The colour change on the skin that the scene's motion does not explain: (T,).

    ``sum(frames - pulse_free) / sum(pulse_free)`` over the pixels on skin in frame t
    (``skin_mask[t]``), where ``pulse_free`` is the noise-free render of the same scene
    with the pulse switched off (``synth.physio.render_physio(pulse_scale=0)``). The
    moving head's shading and texture cancel exactly, so what is left is the pulse
    (relative change, ``pulse_gain_rgb[channel] * p(t)`` for the input), the sensor noise
    and whatever a method added.

    Args:
        frames: (T, H, W, 3) uint8 or float in grey levels.
        pulse_free: (T, H, W, 3) float, grey levels.
        skin_mask: bool (T, H, W).
        channel: 0, 1, 2 for R, G, B.
    """
    trace = np.empty(len(frames))
    for t, mask in enumerate(np.asarray(skin_mask, bool)):
        reference = pulse_free[t][mask, channel].astype(np.float64)
        observed = np.asarray(frames[t])[mask, channel].astype(np.float64)
        trace[t] = (observed - reference).sum() / max(reference.sum(), 1e-9)
    return trace


def pulse_scores(
    video,
    frames_out: np.ndarray,
    band: tuple[float, float] = PULSE_BAND_HZ,
    pulse_free: np.ndarray | None = None,
    ideal: np.ndarray | None = None,
):
    """Every score of a magnified physio video (``synth.physio.PhysioVideo``) for the pulse.

    Signal in the skin region (green), artifacts everywhere and away from the skin.

    Args:
        video: the input ``PhysioVideo``.
        frames_out: uint8 (T, H, W, 3) the method's output.
        band: measurement band-pass, Hz.
        pulse_free: optional noise-free render of the same scene without the pulse
            (float (T, H, W, 3)): adds ``gain_compensated``, ``correlation_compensated``
            and ``correlation_compensated_input``, the same scores on
            :func:`compensated_trace` (our measure: the mean skin colour of a moving head
            carries more shading change than pulse, so on task D even a perfect x3 pulse
            reads a correlation of about 0.4 there; the compensated trace reads 0.99).
        ideal: optional uint8 render of the same scene with the pulse x alpha (noise
            identical): adds ``correlation_ideal``, what a perfect magnifier scores on the
            mean skin colour.
    """
    region = skin_region(video.skin_mask)
    trace_in = colour_trace(video.frames, region)
    truth, fps = video.truth["pulse"], video.fps
    scores = signal_scores(trace_in, colour_trace(frames_out, region), truth, fps, band)
    if pulse_free is not None:
        compensated = signal_scores(
            compensated_trace(video.frames, pulse_free, video.skin_mask),
            compensated_trace(frames_out, pulse_free, video.skin_mask),
            truth, fps, band,
        )  # fmt: skip
        scores["gain_compensated"] = compensated["gain"]
        scores["correlation_compensated"] = compensated["correlation"]
        scores["correlation_compensated_input"] = compensated["correlation_input"]
    if ideal is not None:
        perfect = signal_scores(trace_in, colour_trace(ideal, region), truth, fps, band)
        scores["correlation_ideal"] = perfect["correlation"]
    scores.update(quality_scores(video.frames, frames_out, away_region(video.skin_mask)))
    return scores


def respiration_scores(
    video, frames_out: np.ndarray, alpha: float, band: tuple[float, float] = RESPIRATION_BAND_HZ
):
    """Every score of a magnified physio video for the breathing (chest region, vertical).

    The chest region is eroded by the largest expected output motion (alpha x the
    chest's range) + 2 px, at most a quarter of its height, so the background never
    enters the comparison window.
    """
    shift = video.truth["chest_shift_px"][:, 1]
    reach = float(alpha) * float(np.ptp(shift))
    rows = np.flatnonzero(np.asarray(video.chest_mask).all(axis=0).any(axis=1))
    height = int(np.ptp(rows)) + 1 if len(rows) else 0
    erode = int(min(math.ceil(reach) + 2, max(height // 4, 1)))
    region = chest_region(video.chest_mask, erode)
    scores = signal_scores(
        chest_trace(video.frames, region, float(np.ptp(shift))),
        chest_trace(frames_out, region, reach),
        shift,
        video.fps,
        band,
    )
    scores.update(quality_scores(video.frames, frames_out, away_region(video.chest_mask)))
    return scores
