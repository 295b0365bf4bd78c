"""What DeepMag's ``N`` and ``gamma`` mean as a gain: measured, fitted, stored with the model.

What matters: gradient ascent has no magnification factor, only an iteration count N and
a step gamma (Sec. 3.1, Eq. 4). The paper tunes them by eye ("moderate magnification,
equivalent to EVM", Sec. 5.1). To give ``alpha`` (the library's total factor: output
pulse amplitude = alpha x input pulse amplitude) a meaning we *measure* the gain on
synthetic TRAIN-split videos with a known pulse:

- the pulse amplitude of a video is the least-squares slope of the relative change of
  the mean skin green (pixels on skin in every frame, eroded by 1 px; band-passed
  0.7-2.5 Hz, zero-phase) on the band-passed true
  pulse ``p(t)``; the gain is output slope / input slope (same mask, same filter), so
  sensor noise and head motion, uncorrelated with ``p``, do not bias it;
- gains are measured for several ``N * gamma`` (N = 20, the paper's gamma x 0.5, 1, 2, 4
  as in its Fig. 6); the mean gain per ``N * gamma`` is the ``curve`` that
  :func:`.magnify.gamma_for_alpha` inverts piecewise linearly from (0, 1), and the least
  squares ``gain = 1 + k N gamma`` is stored too (a one-number summary; the measured curve
  is not a straight line through 1: it rises faster at small steps). Both go into the
  model card's ``"calibration"`` with every measured point.
- **The gain is a property of the video as much as of N and gamma**: with L1
  normalisation every frame pair moves by the same total amount whatever its pulse, so
  a video with a weaker or noisier pulse is magnified by a larger factor (the spread
  between videos at one ``N * gamma`` is stored as ``min``/``max``). Using the curve for
  an N other than the measured one assumes the gain depends on ``N * gamma`` only.

The motion path (:func:`calibrate_motion`) is calibrated the same way around the paper's
respiration step (N = 20, gamma = 3.6e-3 rad x 0.25, 0.5, 1, 2 by default: the paper's
step already gives a gain of about 4-5 on our videos, so the range is shifted down one
octave from Fig. 6 to cover alpha 2-8; our choice; the shipped card adds 0.125 since the
phase-change smoothing raised the gains), with the method's defaults (the phase change
smoothed, :data:`.motion.SMOOTH_PX`), on 20 s TRAIN videos (our choice: 50 s of CPU per
point at 30 s, the evaluation's length): the gain there is the chest's vertical
displacement, output slope / input slope on the true displacement. That measure is the
evaluation suite's own (:func:`motionmag.eval.physio_measures.respiration_scores`),
passed in by the caller (``measure``) so that this module does not import ``eval`` (the
layers point down).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
from scipy import signal

from .magnify import (
    DITHER_SEED,
    GATE_SIGMAS,
    PULSE_BAND_HZ,
    SMOOTH_CELLS,
    STEP,
    WEIGHT_SMOOTH_S,
    magnify_color_details,
)
from .motion import (
    MOTION_GAMMA,
    MOTION_N_ITER,
    RESPIRATION_BAND_HZ,
    SizedPredictor,
    magnify_motion,
    scale_for_size,
)
from .representations import to_uint8


def skin_region(skin_mask: np.ndarray) -> np.ndarray:
    """Pixels on skin in every frame, eroded by 1 px: bool (H, W) from (T, H, W)."""
    always = np.asarray(skin_mask).all(axis=0).astype(np.uint8)
    return cv2.erode(always, np.ones((3, 3), np.uint8)).astype(bool)


def pulse_amplitude(
    frames: np.ndarray, region: np.ndarray, pulse: np.ndarray, fps: float, channel: int = 1
) -> float:
    """Slope of the band-passed relative skin colour on the band-passed true pulse.

    Args:
        frames: (T, H, W, 3) uint8 or float (any units: the change is relative).
        region: bool (H, W) the pixels to average.
        pulse: (T,) the true pulse ``p(t)``.
        fps: frame rate.
        channel: 0, 1, 2 for R, G, B.

    Returns:
        relative colour change per unit of ``p`` (the input's is ``pulse_gain_rgb[channel]``).
    """
    mean = np.asarray(frames)[:, region, channel].astype(np.float64).mean(axis=1)
    sos = signal.butter(3, PULSE_BAND_HZ, btype="bandpass", fs=fps, output="sos")
    colour = signal.sosfiltfilt(sos, mean / mean.mean() - 1.0)
    truth = signal.sosfiltfilt(sos, pulse - pulse.mean())
    return float(np.dot(colour, truth) / np.dot(truth, truth))


def measure_gain(video, model, n_iter: int, gamma: float, **options) -> dict:
    """Gain of the pulse amplitude (green, skin region) of one physio video magnified."""
    out = magnify_color_details(video.frames, video.fps, model, n_iter, gamma, **options)
    region = skin_region(video.skin_mask)
    pulse = video.truth["pulse"]
    before = pulse_amplitude(video.frames, region, pulse, video.fps)
    magnified = to_uint8(out["frames"], dither_seed=DITHER_SEED)  # as the method writes it
    after = pulse_amplitude(magnified, region, pulse, video.fps)
    return {"n_gamma": n_iter * gamma, "before": before, "after": after, "gain": after / before}


def fit_gain(n_gamma: np.ndarray, gain: np.ndarray) -> float:
    """``k`` of ``gain = 1 + k * N gamma`` (least squares, through gain 1 at 0)."""
    n_gamma, gain = np.asarray(n_gamma, float), np.asarray(gain, float)
    return float(np.dot(n_gamma, gain - 1.0) / np.dot(n_gamma, n_gamma))


def gain_curve(points: list[dict]) -> list[dict]:
    """Mean, min and max gain per measured ``n_gamma`` (ascending), from calibration points."""
    curve = []
    for n_gamma in sorted({round(p["n_gamma"], 12) for p in points}):
        gains = [p["gain"] for p in points if round(p["n_gamma"], 12) == n_gamma]
        curve.append(
            {"n_gamma": n_gamma, "gain": float(np.mean(gains)), "min": min(gains),
             "max": max(gains), "videos": len(gains)}
        )  # fmt: skip
    return curve


def calibrate_color(
    model,
    config,
    indices: tuple[int, ...] = (10000, 10001, 10002, 10003),
    multipliers: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0),
    n_iter: int = 20,
    gamma: float = 6e-5,
    log=print,
    smooth_cells: float = SMOOTH_CELLS,
    gate_sigmas: float = GATE_SIGMAS,
    step: str = STEP,
    weight_smooth_s: float = WEIGHT_SMOOTH_S,
) -> dict:
    """Measure the gain at ``n_iter`` and ``gamma x multipliers`` on TRAIN videos; fit k.

    ``config`` is a :class:`~.train.ColorTrainConfig` (size, duration, seed, tasks of the
    videos). The default indices lie beyond the shipped runs' videos (fresh videos of the
    train split; a run of more than 10,000 training videos would have seen them); the
    multipliers are the paper's Fig. 6 steps (0.5, 1, 2, 4 gamma).
    ``smooth_cells`` is the blur of the change, ``gate_sigmas`` the noise gate of the
    step, ``step`` and ``weight_smooth_s`` the step itself (:func:`.magnify.gradient_ascent`)
    the gain is measured with (the method's defaults); all are recorded in the entry.
    Returns the model card's ``"calibration"`` entry.
    """
    from ..synth.physio import make_physio_video

    points = []
    for index in indices:
        task = config.tasks[index % len(config.tasks)]
        video = make_physio_video(index, config.seed, config.physio_config(task), "train")
        for m in multipliers:
            point = measure_gain(
                video, model, n_iter, gamma * m, smooth_cells=smooth_cells,
                gate_sigmas=gate_sigmas, step=step, weight_smooth_s=weight_smooth_s,
            )  # fmt: skip
            point.update(index=index, task=task, n_iter=n_iter, gamma=gamma * m)
            points.append(point)
            log(f"calibration video {index} ({task}) gamma {gamma * m:.2e}: {point['gain']:.2f}")
    entry = calibration_entry(
        points,
        n_iter,
        gain="green pulse amplitude in the skin region (skin in every frame, eroded 1 px), "
        "output / input, by regression on the band-passed true pulse",
        measured_on=f"train split videos {list(indices)}, seed {config.seed}, "
        f"{config.size_px} px, {config.duration_s} s",
    )
    settings = {"smooth_cells": float(smooth_cells), "gate_sigmas": float(gate_sigmas),
                "step": str(step), "weight_smooth_s": float(weight_smooth_s)}  # fmt: skip
    return {**settings, **entry}


#: the colour path's options a calibration depends on, each with the paper's setting of
#: it, which an entry without the option was measured with (no blur, no gate, sgn step)
CALIBRATED_OPTIONS = {"smooth_cells": 0.0, "gate_sigmas": 0.0, "step": "sign",
                      "weight_smooth_s": 0.0}  # fmt: skip


def _setting(value) -> float | str:
    return value if isinstance(value, str) else float(value)


def _measured_with(entry: dict) -> tuple[float | str, ...]:
    return tuple(_setting(entry.get(option, paper)) for option, paper in CALIBRATED_OPTIONS.items())


def calibration_for(
    card: dict | None,
    smooth_cells: float | None,
    gate_sigmas: float = 0.0,
    step: str = "sign",
    weight_smooth_s: float = 0.0,
) -> dict | None:
    """The colour calibration of a model card measured with ``smooth_cells``,
    ``gate_sigmas``, ``step`` and ``weight_smooth_s``, or None.

    A card keeps its current calibration under ``"calibration"`` and earlier ones,
    measured with other options, under ``"calibrations"``; an entry without one of
    :data:`CALIBRATED_OPTIONS` was measured with the paper's setting of it.
    ``smooth_cells=None`` (a method without that option) asks for the current one.
    """
    card = card or {}
    if smooth_cells is None:
        return card.get("calibration")
    wanted = tuple(map(_setting, (smooth_cells, gate_sigmas, step, weight_smooth_s)))
    entries = [card["calibration"]] if "calibration" in card else []
    for entry in [*entries, *card.get("calibrations", [])]:
        if _measured_with(entry) == wanted:
            return entry
    return None


def keep_calibration(card: dict, entry: dict) -> dict:
    """``card`` with ``entry`` as its calibration; the previous one moves to
    ``"calibrations"`` unless it was measured with the same options (replaced)."""
    options = _measured_with(entry)
    earlier = [card["calibration"]] if "calibration" in card else []
    kept = [
        old for old in [*earlier, *card.get("calibrations", [])] if _measured_with(old) != options
    ]
    card = {**card, "calibration": entry}
    if kept:
        card["calibrations"] = kept
    else:
        card.pop("calibrations", None)
    return card


def calibration_entry(points: list[dict], n_iter: int, gain: str, measured_on: str) -> dict:
    """The model card's ``"calibration"`` from measured points (``n_gamma``, ``gain``, ...):
    the fitted slope, the mean curve and every point, with what the gain is and where it
    was measured."""
    k = fit_gain([p["n_gamma"] for p in points], [p["gain"] for p in points])
    curve = gain_curve(points)
    peak = int(np.argmax([p["gain"] for p in curve]))
    entry = {
        "n_iter": n_iter,
        "gain_slope_per_n_gamma": k,
        "fit": "gain = 1 + k * N * gamma (least squares through gain 1 at gamma 0)",
        "curve": curve[: peak + 1],
        "use": "alpha -> N * gamma by piecewise-linear interpolation of curve (from (0, 1); "
        "beyond the last point along the last segment)",
        "gain": gain,
        "measured_on": measured_on,
        "points": points,
    }
    if peak < len(curve) - 1:
        # larger steps gave *less* gain (the motion path's phase change then wraps and is
        # clipped, Eq. 22): the curve ends at its peak and alpha above it is refused
        entry["beyond_peak"] = curve[peak + 1 :]
        entry["max_gain"] = curve[peak]["gain"]
        entry["use"] = (
            "alpha -> N * gamma by piecewise-linear interpolation of curve (from (0, 1)); "
            "alpha above max_gain is refused (larger steps measured less gain: beyond_peak)"
        )
    return entry


def calibration_problem(entry: dict) -> str | None:
    """A sentence when a calibration entry cannot map alpha to a step (its curve never
    rises above gain 1, or does not rise at all: an undertrained CNN), else None."""
    gains = [point["gain"] for point in entry.get("curve", [])]
    if gains and max(gains) > 1.0 and gains == sorted(gains):
        return None
    measured = ", ".join(f"{g:.2f}" for g in gains) or "none"
    return (
        f"the alpha calibration measured gains {measured} over its steps, which do not rise "
        "steadily above 1, so magnify cannot give the alpha asked with these weights: train "
        "longer (more --rounds) before shipping them."
    )


#: the respiration gain's measure: (PhysioVideo, uint8 output frames) -> a dict with
#: ``gain``, ``slope_input`` and ``slope_output`` (eval.physio_measures.respiration_scores)
MotionMeasure = Callable[[object, np.ndarray], dict]


def calibrate_motion(
    model,
    config,
    measure: MotionMeasure,
    indices: tuple[int, ...] = (10000, 10001, 10002, 10003),
    multipliers: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0),
    n_iter: int = MOTION_N_ITER,
    gamma: float = MOTION_GAMMA,
    duration_s: float = 20.0,
    log=print,
) -> dict:
    """Measure the breathing gain at ``n_iter`` and ``gamma x multipliers`` on TRAIN videos.

    Args:
        model: the motion net (frozen); wrapped in :class:`.motion.SizedPredictor`.
        config: a :class:`~.train_motion.MotionTrainConfig` (size, seed, tasks, net size).
        measure: the gain's measure (:data:`MotionMeasure`).
        indices: train videos beyond any training run's (video i has task tasks[i % 4]).
        multipliers: steps as multiples of ``gamma`` (module docstring).
        n_iter, gamma: N and the paper's respiration step (rad).
        duration_s: video length in s.

    Returns the model card's ``"calibration"`` entry (as :func:`calibrate_color`).
    """
    from ..synth.physio import make_physio_video

    duration = float(duration_s)
    predictor = SizedPredictor(model, config.net_size_px)
    points = []
    for index in indices:
        task = config.tasks[index % len(config.tasks)]
        video = make_physio_video(index, config.seed, config.physio_config(task, duration), "train")
        height, width = video.frames.shape[1:3]
        scale = scale_for_size(height, width, config.net_size_px, config.orientations)
        for m in multipliers:
            out = magnify_motion(
                video.frames, video.fps, predictor, n_iter=n_iter, gamma=gamma * m,
                band=RESPIRATION_BAND_HZ, scale=scale, orientations=config.orientations,
            )  # fmt: skip
            scores = measure(video, out)
            point = {
                "n_gamma": n_iter * gamma * m,
                "before": scores["slope_input"],
                "after": scores["slope_output"],
                "gain": scores["gain"],
                "index": index,
                "task": task,
                "n_iter": n_iter,
                "gamma": gamma * m,
            }
            points.append(point)
            log(f"calibration video {index} ({task}) gamma {gamma * m:.2e}: {point['gain']:.2f}")
    return calibration_entry(
        points,
        n_iter,
        gain="vertical chest displacement (clothing in every frame, eroded), output / input, "
        "by regression on the band-passed (0.16-0.5 Hz) true displacement "
        "(eval.physio_measures.respiration_scores)",
        measured_on=f"train split videos {list(indices)}, seed {config.seed}, "
        f"{config.size_px} px, {duration} s",
    )
