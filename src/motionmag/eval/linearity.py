"""Linearity of the magnification (EVALUATION.md section 2; Ha et al. 2024, Fig. 2).

What matters:

- The input is a smooth, textured real photograph (a random crop of the bundled photo
  pool, Gaussian-blurred, flat crops rejected) translating as ``amplitude * sin(2 pi f
  t)`` along a random direction; frames are exact Fourier shifts of one larger
  texture, cropped (no border artefacts), and dithered to uint8 so sub-level changes
  survive on average.
- For each alpha the output's displacement along that direction is measured frame by
  frame with an independent estimator (``displacement.measure_shift``, global
  Lucas-Kanade, run coarse-to-fine here so that magnified swings of many pixels are
  within reach) against output frame 0, the zero-phase frame. ``measured_px`` is its
  peak-to-peak, ``expected_px`` = alpha x the input's true peak-to-peak, and ``ratio``
  = measured / expected: 1 is a perfectly linear magnifier. Peak-to-peak has no sign,
  so ``correlation``, the output's displacement against the input's true one frame by
  frame, tells an output moving the wrong way (-1, ratio 1) or out of step (ours).
- Static mode (reference = frame 0) is used when the method has it: output frame t
  should be frame 0 moved by alpha x d(t). Otherwise temporal mode with a band around
  the sinusoid's frequency, measured on the last two periods of a six-period clip
  (the filter has settled) against input frame 0, the rest position.
  ``settings["mode"]`` says which.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import cv2
import numpy as np
from tqdm import tqdm

from ..errors import UsageError
from ..levels import dither
from ..synth.vibration import smooth_texture, subpixel_shift
from .displacement import measure_shift
from .pairs import EVAL_SEED_BASE, default_photos
from .results import Level, SuiteResult, finite_stats

#: total factors of the sweep (Ha et al. 2024 Fig. 2 spans 2..100)
LINEARITY_ALPHAS = tuple(float(a) for a in np.geomspace(2.0, 100.0, 7))

#: amplitude of the input sinusoid (px); EVALUATION.md allows 0.05-0.5 (our choice: 0.1)
AMPLITUDE_PX = 0.1

FPS = 30.0
#: 8 frames per period (our choice): frames 2 and 6 of each period sit on the peaks,
#: so the sampled peak-to-peak is exactly 2 x amplitude
FREQUENCY_HZ = FPS / 8
STATIC_FRAMES = 8  # one period (static output frame t depends on frames 0 and t only)
TEMPORAL_FRAMES = 48  # six periods; the last two are measured (the filter has settled)
TEMPORAL_MEASURED = 16

#: Gaussian blur of the texture (px, our choice): smooth, but real-photo structure
TEXTURE_SIGMA_PX = 1.5

#: the texture is made this much larger on each side than the frame (px) so that any
#: shift up to it is a true translation of the crop, with no mirrored border
TEXTURE_MARGIN_PX = 64

#: least median grey-level gradient (levels per px) of a texture (our choice). On flat
#: photos (moon, retina, rocket: median 0.2-0.7) a 0.1 px shift changes pixels by
#: hundredths of a level and any method's uint8 output rounds the magnified change
#: away at small alpha: that would measure the rounding, not the magnification.
MIN_MEDIAN_GRADIENT = 3.0
_MAX_DRAWS = 100

_TEXTURE_TAG = 3  # stream tag of the texture generator (our choice; pairs use 1, 2)


def texture(index: int, seed: int = 0, size_px: int = 128) -> tuple[np.ndarray, float]:
    """Texture ``index`` of set ``seed``: float64 RGB (S + 2 margin, S + 2 margin, 3), 0-255.

    A random square crop (half to all of the shorter side) of a random bundled photo,
    resized and blurred by ``TEXTURE_SIGMA_PX``; crops flatter than
    ``MIN_MEDIAN_GRADIENT`` are drawn again (up to ``_MAX_DRAWS`` times, then the most
    textured one is kept). Returns the texture and the motion direction (radians,
    0 = +x, pi/2 = +y).
    """
    rng = np.random.default_rng([EVAL_SEED_BASE + seed, index, _TEXTURE_TAG])
    photos = default_photos()
    full = size_px + 2 * TEXTURE_MARGIN_PX
    direction = float(rng.uniform(0.0, 2 * math.pi))
    best, best_gradient = None, -1.0
    for _ in range(_MAX_DRAWS):
        photo = photos.get(int(rng.integers(len(photos))))
        side = int(min(photo.shape[:2]) * rng.uniform(0.5, 1.0))
        y0 = int(rng.integers(photo.shape[0] - side + 1))
        x0 = int(rng.integers(photo.shape[1] - side + 1))
        crop = photo[y0 : y0 + side, x0 : x0 + side]
        image = smooth_texture(crop, (full, full), TEXTURE_SIGMA_PX)
        gradient = float(np.median(np.hypot(*np.gradient(image.mean(axis=2)))))
        if gradient > best_gradient:
            best, best_gradient = image, gradient
        if gradient >= MIN_MEDIAN_GRADIENT:
            break
    return best, direction


def displacement_px(frames: int, amplitude_px: float = AMPLITUDE_PX) -> np.ndarray:
    """Signed displacement along the direction (px) of each frame: ``A sin(2 pi f t)``."""
    t = np.arange(frames) / FPS
    return amplitude_px * np.sin(2 * np.pi * FREQUENCY_HZ * t)


def linearity_clip(
    index: int,
    seed: int = 0,
    size_px: int = 128,
    frames: int = STATIC_FRAMES,
    scale: float = 1.0,
    amplitude_px: float = AMPLITUDE_PX,
) -> tuple[np.ndarray, np.ndarray, float]:
    """The input clip of texture ``index`` (``scale`` = 1), or its ideal magnification.

    Frame t is the texture shifted by ``scale * displacement_px(frames)[t]`` along the
    direction, cropped to (size_px, size_px) and dithered to uint8 (the dithering
    noise depends on ``(seed, index)`` and t only).

    Returns:
        ``(clip, displacement, direction)``: uint8 (T, S, S, 3), the unscaled signed
        displacement (T,) px, and the direction in radians.
    """
    if scale * amplitude_px + 8 > TEXTURE_MARGIN_PX:
        raise UsageError(
            f"a shift of {scale * amplitude_px:g} px does not fit the "
            f"{TEXTURE_MARGIN_PX} px texture margin: use a smaller amplitude or alpha."
        )
    image, direction = texture(index, seed, size_px)
    d = displacement_px(frames, amplitude_px)
    rng = np.random.default_rng([EVAL_SEED_BASE + seed, index, _TEXTURE_TAG, 1])
    crop = slice(TEXTURE_MARGIN_PX, TEXTURE_MARGIN_PX + size_px)
    clip = np.empty((frames, size_px, size_px, 3), np.uint8)
    for t, amount in enumerate(scale * d):
        moved = subpixel_shift(image, amount * math.cos(direction), amount * math.sin(direction))
        clip[t] = dither(moved[crop, crop], rng.random((size_px, size_px, 3)))
    return clip, d, direction


def _grey(image: np.ndarray) -> np.ndarray:
    return np.asarray(image, np.float64).mean(axis=2)


def _reduce(image: np.ndarray, sigma_px: float, factor: int) -> np.ndarray:
    """Blur by ``sigma_px`` (full-resolution px) and area-average down by ``factor``."""
    blurred = cv2.GaussianBlur(image, (0, 0), sigma_px)
    if factor == 1:
        return blurred
    size = (image.shape[1] // factor, image.shape[0] // factor)
    return cv2.resize(blurred, size, interpolation=cv2.INTER_AREA)


#: coarse-to-fine stages of ``track_shift``: (blur sigma in px, down-sampling factor)
_STAGES = ((8.0, 4), (3.0, 2), (0.0, 1))


def track_shift(reference: np.ndarray, moved: np.ndarray, border_px: int) -> np.ndarray:
    """(dx, dy) px of ``moved`` relative to ``reference``, coarse to fine.

    Lucas-Kanade (``measure_shift``) first on images blurred by sigma 8 px at 1/4
    resolution, then 3 px at 1/2 (a wide basin, for swings of 10+ px), each stage
    starting from the previous estimate (``moved`` is shifted back by it exactly),
    then on the images themselves for the sub-pixel precision.
    """
    ref, mov = _grey(reference), _grey(moved)
    d = np.zeros(2)
    for sigma, factor in _STAGES:
        back = subpixel_shift(mov, -d[0], -d[1]) if d.any() else mov
        r = _reduce(ref, sigma, factor) if sigma else ref
        m = _reduce(back, sigma, factor) if sigma else back
        border = math.ceil((border_px + np.abs(d).max()) / factor)
        step = measure_shift(r, m, border_px=border)
        d = d + factor * np.asarray(step)
    return d


def _mode(method) -> str:
    if method.supports("static"):
        return "static"
    if method.supports("temporal"):
        return "temporal"
    raise UsageError(
        f"Method '{method.name}' has neither a static nor a temporal mode, "
        "so the linearity test does not apply to it."
    )


def run_linearity(
    method,
    n: int = 4,
    seed: int = 0,
    size_px: int = 128,
    progress: bool = True,
    levels: Sequence[float] | None = None,
    amplitude_px: float = AMPLITUDE_PX,
) -> SuiteResult:
    """Linearity suite: measured / expected peak-to-peak output motion vs alpha (2-100).

    Args:
        method: anything with ``name``, ``supports`` and ``clip`` (``MethodUnderTest``).
        n: textures (each with its own photo crop and direction).
        seed: evaluation set.
        size_px: frame side (px).
        progress: tqdm bar on stderr.
        levels: alphas to test (default ``LINEARITY_ALPHAS``, 7 log-spaced in 2..100).
        amplitude_px: input sinusoid amplitude (px).

    Returns:
        SuiteResult with ``ratio`` (primary), ``measured_px``, ``expected_px``,
        ``input_px`` (the input's measured peak-to-peak: a check of the estimator) and
        ``correlation`` (of the output's displacement with the true one: -1 moves the
        wrong way).
    """
    mode = _mode(method)
    if n < 1:
        raise UsageError(f"n must be at least 1 texture, not {n}.")
    alphas = LINEARITY_ALPHAS if levels is None else tuple(float(a) for a in levels)
    # the tracker ignores a border as wide as the largest output motion (plus 8 px) on each
    # side, and needs 16 px of texture between them (ours)
    smallest = 2 * (8 + math.ceil(max(alphas) * amplitude_px)) + 16
    if size_px < smallest:
        raise UsageError(
            f"--size {size_px} is too small for the linearity suite at alpha up to "
            f"{max(alphas):g} ({amplitude_px:g} px moves {max(alphas) * amplitude_px:g} px): "
            f"use --size {smallest} or more (below 128, the default, the tracker can still "
            "lose a method's output at the largest alphas: linear and phase at 72 px, "
            "riesz at 88)."
        )
    frames = STATIC_FRAMES if mode == "static" else TEMPORAL_FRAMES
    band = None
    if mode == "temporal":  # half an octave each side of the frequency (our choice)
        band = (FREQUENCY_HZ / math.sqrt(2), FREQUENCY_HZ * math.sqrt(2))
    measured_frames = (
        range(frames) if mode == "static" else range(frames - TEMPORAL_MEASURED, frames)
    )
    metrics = ("ratio", "measured_px", "expected_px", "input_px", "correlation")
    scores = np.zeros((len(alphas), n, len(metrics)))
    bar = tqdm(
        total=n * len(alphas),
        desc=f"linearity {method.name}",
        unit="clip",
        file=sys.stderr,
        disable=not progress,
    )
    lost: set[float] = set()  # alphas at which the tracker lost the output
    with bar:
        for index in range(n):
            clip, d, direction = linearity_clip(index, seed, size_px, frames, 1.0, amplitude_px)
            unit = np.array([math.cos(direction), math.sin(direction)])
            truth = d[list(measured_frames)]
            true_p2p = float(np.ptp(truth))
            seen = [track_shift(clip[0], clip[t], 8) @ unit for t in measured_frames]
            input_p2p = float(np.ptp(seen))
            for level, alpha in enumerate(alphas):
                kwargs = {"mode": mode, "fps": FPS}
                if band is not None:
                    kwargs["band"] = band
                out = np.asarray(method.clip(clip, alpha, **kwargs))
                # static: against output frame 0 (d = 0); temporal: against the input's
                # frame 0, the rest position the filtered output oscillates around
                reference = out[0] if mode == "static" else clip[0]
                border = 8 + math.ceil(alpha * amplitude_px)
                try:
                    along = [track_shift(reference, out[t], border) @ unit for t in measured_frames]
                    measured = float(np.ptp(along))
                    correlation = (
                        float(np.corrcoef(along, truth)[0, 1]) if np.std(along) > 0 else 0.0
                    )
                except np.linalg.LinAlgError:  # the tracked region left the frame: that
                    # alpha unscored (NaN), not the whole suite skipped (review, stop 54)
                    measured = correlation = math.nan
                    lost.add(alpha)
                expected = alpha * true_p2p
                ratio = measured / expected
                scores[level, index] = (ratio, measured, expected, input_p2p, correlation)
                bar.update(1)
    result_levels = [
        Level(
            x=alpha,
            values={m: finite_stats(scores[i, :, k])[0] for k, m in enumerate(metrics)},
            n=int(np.isfinite(scores[i, :, 0]).sum()),
            spread={m: finite_stats(scores[i, :, k])[1] for k, m in enumerate(metrics)},
        )
        for i, alpha in enumerate(alphas)
    ]
    ratios = [level.values["ratio"] for level in result_levels]
    notes = (
        [
            f"the tracker lost {method.name}'s output at alpha "
            f"{', '.join(f'{a:g}' for a in sorted(lost))} in {size_px} px frames (the "
            "tracked region left the frame): unscored there; a larger --size (128, the "
            "default) keeps it in."
        ]
        if lost
        else []
    )
    correlations = [level.values["correlation"] for level in result_levels]
    against = [a for a, c in zip(alphas, correlations, strict=True) if c < 0]
    if against:
        notes.append(
            f"{method.name}'s output moves against the input's motion at alpha "
            f"{', '.join(f'{a:g}' for a in against)} (correlation below 0): its ratio there "
            "measures the size of a motion the wrong way round."
        )
    # an unscored alpha makes the aggregates NaN: over the others they would flatter the
    # method against one scored at every alpha (review, stop 54)
    return SuiteResult(
        suite="linearity",
        method=method.name,
        x_name="alpha",
        x_log=True,
        primary="ratio",
        floor=None,
        levels=result_levels,
        settings={
            "n": n,
            "seed": seed,
            "size_px": size_px,
            "levels": list(alphas),
            "mode": mode,
            "band_hz": list(band) if band else None,
            "frames": frames,
            "measured_frames": [measured_frames.start, measured_frames.stop],
            "fps": FPS,
            "frequency_hz": FREQUENCY_HZ,
            "amplitude_px": amplitude_px,
            "texture_sigma_px": TEXTURE_SIGMA_PX,
            "estimator": "coarse-to-fine global Lucas-Kanade (measure_shift), along the motion",
            "unscored_alphas": sorted(lost),
        },
        summary={
            "mean_ratio": float(np.mean(ratios)),
            "ratio_at_lowest_alpha": ratios[0],
            "ratio_at_highest_alpha": ratios[-1],
            "max_abs_ratio_error": float(np.max(np.abs(np.asarray(ratios) - 1.0))),
            "min_correlation": float(np.min(correlations)),
        },
        notes=notes,
    )
