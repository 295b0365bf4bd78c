"""Real video without ground truth (EVALUATION.md section 4, FlowMag Sec. 4.3).

What matters:

- No magnified ground truth exists for a real video, so optical flow is the ruler
  (Pan et al. 2023, Sec. 4.3): with ``F`` a flow estimator the method was not trained
  with (OpenCV DIS by default, Farneback with ``estimator="farneback"``), ``I_0`` the
  reference, ``I_t`` the input and ``O_t`` the output frame t, per pixel x:

  * ``motion_error`` = mean ‖F(I_0, O_t)(x) - alpha F(I_0, I_t)(x)‖ (end-point error, px);
  * ``magnification_error`` = mean |‖F(I_0, O_t)‖ / (‖F(I_0, I_t)‖ + 1e-4) - alpha| over
    the pixels whose input motion is at least ``MOVING_PX``;
  * ``background_change`` = mean |Y(O_t) - Y(I_t)| (grey levels, 0-255, BT.601 luma Y)
    over the still background (:func:`still_mask`): pixels whose input flow is below
    ``STILL_PX`` and whose grey level did not change in the input, away from where the
    moving content is in I_t or would be in a correct O_t (a good magnifier leaves
    them alone; a noisy one adds flicker there). Real motion slower than ``STILL_PX``
    counts as background, so at large alpha even an ideal output scores above 0 there
    (0.02 grey levels at alpha 2, 0.5 at alpha 64 on the default clip).

  Each is averaged over pixels, then over the frames t = 1 .. T-1; ``spread`` is the
  standard deviation over frames. Two more for comparison with FlowMag's released
  evaluation code (``metrics.py``): ``motion_error_l1`` (mean absolute difference per
  flow component, their ``nn.L1Loss``) and ``magnification_error_all`` (the ratio error
  over every pixel, no threshold).
- Threshold of the magnification error, our choice: neither the paper nor its code
  restricts the ratio to moving pixels, but where the input barely moves the ratio is
  flow noise divided by ~1e-4 and swamps the mean (FlowMag Table A5 reports values
  above 200), so the primary version keeps pixels with ‖F(I_0, I_t)‖ >= 0.5 px, where
  DIS is accurate to ~0.03 px (~6 % of the motion).
- Mode: static with reference frame 0 when the method has it (the FlowMag protocol);
  otherwise dynamic, measured against the previous frame (``F(I_{t-1}, .)``).
- The default clip needs no download: a bundled scikit-image photo deformed by a smooth,
  non-rigid motion field of up to 3 px inside an elliptical region, the rest exactly
  still (synthetic, said so in ``settings`` and ``notes``). A path reads the first
  ``max_frames`` frames of a real video (e.g. vtest.avi).
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Sequence

import cv2
import numpy as np
from tqdm import tqdm

from ..errors import InputError, UsageError
from ..flow.opencv import FLOW_ESTIMATORS, estimate_flow, flow_magnitude
from .results import Level, SuiteResult, finite_stats

#: the alphas of the suite (FlowMag Fig. 7 spans 1-64)
REAL_VIDEO_ALPHAS = (2.0, 4.0, 10.0, 16.0, 64.0)

#: FlowMag's denominator guard in the magnification error (their ``dist_src + 0.0001``)
RATIO_EPS = 1e-4

# Our choice: pixels with input motion >= this count for ``magnification_error`` (px).
MOVING_PX = 0.5

# Our choice: pixels with input motion below this are still background (px). DIS on the
# static background of vtest.avi (MPEG-4 noise) reads a median of 0.08-0.16 px and a
# 75th percentile of ~0.3 px; a person walking reads several px.
STILL_PX = 0.25

# Our choice: a pixel whose (1 px blurred) grey level changes by more than this from the
# reference to frame t is not still background, whatever the flow says (grey levels,
# 0-255; vtest.avi's compression noise is ~3).
STILL_GREY = 10.0

# Our choice: the region the magnified motion reaches is grown by this much (px) before
# it is taken out of the still background (splat gaps, flow blur at edges).
REACH_MARGIN_PX = 3

#: default synthetic clip: long side (px), frames per second, largest motion (px)
DEFAULT_SIZE_PX = 256
DEFAULT_FPS = 30.0
DEFAULT_MAX_MOTION_PX = 3.0

METRICS = (
    "motion_error",
    "magnification_error",
    "background_change",
    "motion_error_l1",
    "magnification_error_all",
)


# -- clips -----------------------------------------------------------------------------


def _smooth_field(rng: np.random.Generator, shape: tuple[int, int], sigma_px: float):
    """Gaussian-filtered white noise scaled to a largest absolute value of 1."""
    field = cv2.GaussianBlur(rng.standard_normal(shape).astype(np.float32), (0, 0), sigma_px)
    return field / max(float(np.abs(field).max()), 1e-12)


def default_clip(
    size_px: int = DEFAULT_SIZE_PX,
    frames: int = 30,
    seed: int = 0,
    fps: float = DEFAULT_FPS,
    max_motion_px: float = DEFAULT_MAX_MOTION_PX,
    alpha: float = 1.0,
) -> tuple[np.ndarray, dict]:
    """The suite's default clip: a real photo with smooth non-rigid motion and a still part.

    A bundled scikit-image photo (chosen by ``seed``), centre-cropped to 4:3, resized so
    the long side is ``size_px`` and blurred by 1 px (so it is well sampled). Frame t is
    ``I_t(y) = I_0(y - d(y, t))`` (bicubic ``cv2.remap``), with
    ``d(y, t) = E(y) sum_k A_k sin(2 pi f_k t / fps) u_k(y)``: two smooth random vector
    fields ``u_k`` (Gaussian-filtered noise, sigma = size / 8), ``f = (1.0, 2.3) Hz``,
    ``A = (0.75, 0.25) x max_motion_px``, and an envelope E that is 1 inside an ellipse
    on the left of the frame, falls off smoothly and is exactly 0 on the right third, so
    that part is still. Frame 0 has d = 0. The constants are our choice. ``alpha``
    renders the same clip with d scaled by alpha: the magnified clip to first order in
    the motion gradient (the field is applied at the output pixel), an oracle for tests
    and the suite's reference row, not a floor (see the README).

    Returns:
        ``(clip, info)``: uint8 (T, H, W, 3) and a dict describing it (photo, motion).
    """
    from ..synth.photos import PhotoPool
    from ..synth.vibration import smooth_texture

    if frames < 2:
        raise UsageError(f"the clip needs at least 2 frames, not {frames}.")
    rng = np.random.default_rng([int(seed), 4])  # stream tag 4: our choice
    pool = PhotoPool()
    photo_index = int(rng.integers(len(pool)))
    photo = pool.get(photo_index)
    height, width = round(size_px * 3 / 4), int(size_px)
    ph, pw = photo.shape[:2]
    crop_w = min(pw, round(ph * 4 / 3))
    crop_h = min(ph, round(crop_w * 3 / 4))
    top, left = (ph - crop_h) // 2, (pw - crop_w) // 2
    image = smooth_texture(photo[top : top + crop_h, left : left + crop_w], (height, width), 1.0)
    image = image.astype(np.float32)

    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ex, ey = (xs - 0.36 * width) / (0.28 * width), (ys - 0.5 * height) / (0.4 * height)
    inside = ex**2 + ey**2
    envelope = cv2.GaussianBlur((inside <= 1).astype(np.float32), (0, 0), 0.02 * width)
    envelope[envelope < 1e-3] = 0.0
    envelope[:, int(2 * width / 3) :] = 0.0
    sigma = max(height, width) / 8
    modes = []
    for _ in range(2):  # a common direction plus a smooth non-rigid part, |u| <= 1
        angle = rng.uniform(0, 2 * math.pi)
        ux = 0.6 * math.cos(angle) + 0.4 * _smooth_field(rng, (height, width), sigma)
        uy = 0.6 * math.sin(angle) + 0.4 * _smooth_field(rng, (height, width), sigma)
        modes.append((ux, uy))
    amplitudes = (0.75 * max_motion_px, 0.25 * max_motion_px)
    frequencies_hz = (1.0, 2.3)
    clip = np.empty((frames, height, width, 3), dtype=np.uint8)
    for t in range(frames):
        dx = np.zeros((height, width), np.float32)
        dy = np.zeros((height, width), np.float32)
        for (ux, uy), a, f in zip(modes, amplitudes, frequencies_hz, strict=True):
            s = a * math.sin(2 * math.pi * f * t / fps)
            dx += s * ux
            dy += s * uy
        dx *= alpha * envelope
        dy *= alpha * envelope
        warped = cv2.remap(
            image, xs - dx, ys - dy, cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT_101
        )
        clip[t] = np.clip(np.rint(warped), 0, 255).astype(np.uint8)
    info = {
        "clip": "synthetic",
        "photo": pool.names[photo_index],
        "size": [width, height],
        "max_motion_px": max_motion_px,
        "motion": "non-rigid: 2 smooth random fields at 1.0 and 2.3 Hz in an ellipse",
        "still_region": "right third of the frame (zero motion)",
        "fps": fps,
    }
    return clip, info


def _resize_long_side(clip: np.ndarray, size_px: int) -> np.ndarray:
    height, width = clip.shape[1:3]
    scale = size_px / max(height, width)
    if scale == 1:
        return clip
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, (new_w, new_h), interpolation=interpolation) for f in clip])


def load_clip(
    video: str | os.PathLike | np.ndarray,
    frames: int,
    size_px: int | None = None,
) -> tuple[np.ndarray, float, dict]:
    """The first ``frames`` frames of ``video`` (a path, or a uint8 (T, H, W, 3) array).

    Resized (area filter) so the long side is ``size_px`` when given. Returns
    ``(clip uint8 (T, H, W, 3), fps, info)``; arrays are taken as 30 fps.
    """
    if isinstance(video, np.ndarray):
        clip = np.asarray(video)
        if clip.ndim != 4 or clip.shape[-1] != 3 or clip.dtype != np.uint8:
            raise InputError(
                f"the video array is {clip.dtype} {clip.shape}: give uint8 frames shaped "
                "(T, H, W, 3)."
            )
        clip, fps, info = clip[:frames], DEFAULT_FPS, {"clip": "array"}
    else:
        from ..video import VideoReader

        taken = []
        with VideoReader(video) as reader:
            fps = float(reader.info.fps)
            for frame in reader:
                taken.append(frame)
                if len(taken) >= frames:
                    break
        if not taken:
            raise InputError(f"video '{video}' has no frames.")
        clip = np.stack(taken)
        info = {"clip": os.path.basename(os.fspath(video)), "path": os.fspath(video)}
    if len(clip) < 2:
        raise InputError(f"the real-video suite needs at least 2 frames, got {len(clip)}.")
    if size_px is not None:
        clip = _resize_long_side(clip, int(size_px))
    info["size"] = [int(clip.shape[2]), int(clip.shape[1])]
    return np.ascontiguousarray(clip), fps, info


# -- per-frame metrics -------------------------------------------------------------------


def _luma(frame: np.ndarray) -> np.ndarray:
    """BT.601 luma Y of a uint8 RGB frame, float32 grey levels (0-255)."""
    rgb = np.asarray(frame, dtype=np.float32)
    return rgb @ np.array([0.299, 0.587, 0.114], dtype=np.float32)


def still_mask(
    flow_in: np.ndarray,
    alpha: float,
    reference: np.ndarray | None = None,
    frame: np.ndarray | None = None,
) -> np.ndarray:
    """Still background of one frame: bool (H, W).

    Pixels whose input motion ‖F(I_0, I_t)‖ is below ``STILL_PX`` and, when the frames
    are given, whose grey level did not change by more than ``STILL_GREY`` from I_0 to
    I_t (after a 1 px Gaussian blur; this catches what the flow misses, e.g. a person
    walking into a place that was background in I_0, where DIS reads ~0). From those,
    the places where moved content is, in the input or in a correct output, are taken
    out: each moving pixel x marks ``round(x + F(x))`` and ``round(x + alpha F(x))``,
    each changed pixel itself, all grown by ``REACH_MARGIN_PX``. There the output
    legitimately differs from the input (moved content covers or uncovers background).
    """
    magnitude = flow_magnitude(flow_in)
    moving = magnitude >= STILL_PX
    height, width = magnitude.shape
    reach = moving.copy()
    if reference is not None and frame is not None:
        before = cv2.GaussianBlur(_luma(reference), (0, 0), 1.0)
        after = cv2.GaussianBlur(_luma(frame), (0, 0), 1.0)
        reach |= np.abs(after - before) > STILL_GREY
    ys, xs = np.nonzero(moving)
    for factor in {1.0, float(alpha)}:  # where moving content is in I_t, and in O_t
        tx = np.rint(xs + factor * flow_in[ys, xs, 0]).astype(np.int64)
        ty = np.rint(ys + factor * flow_in[ys, xs, 1]).astype(np.int64)
        inside = (tx >= 0) & (tx < width) & (ty >= 0) & (ty < height)
        reach[ty[inside], tx[inside]] = True
    size = 2 * REACH_MARGIN_PX + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    reach = cv2.dilate(reach.astype(np.uint8), kernel).astype(bool)
    return ~reach


def frame_metrics(
    flow_in: np.ndarray,
    flow_out: np.ndarray,
    alpha: float,
    frame: np.ndarray,
    output: np.ndarray,
    reference: np.ndarray | None = None,
) -> dict[str, float]:
    """The section-4 metrics of one frame (see the module docstring); NaN when a mask
    (moving pixels, still background) is empty.

    Args:
        flow_in: F(I_0, I_t), px (H, W, 2).
        flow_out: F(I_0, O_t), px (H, W, 2).
        alpha: total factor asked for.
        frame, output: I_t and O_t, uint8 RGB (H, W, 3).
        reference: I_0 (uint8 RGB), to find the still background (see :func:`still_mask`).
    """
    target = float(alpha) * flow_in
    diff = flow_out - target
    mag_in = flow_magnitude(flow_in)
    ratio_error = np.abs(flow_magnitude(flow_out) / (mag_in + RATIO_EPS) - float(alpha))
    moving = mag_in >= MOVING_PX
    still = still_mask(flow_in, alpha, reference, frame)
    change = np.abs(_luma(output) - _luma(frame))
    return {
        "motion_error": float(np.mean(np.hypot(diff[..., 0], diff[..., 1]))),
        "magnification_error": float(ratio_error[moving].mean()) if moving.any() else math.nan,
        "background_change": float(change[still].mean()) if still.any() else math.nan,
        "motion_error_l1": float(np.mean(np.abs(diff))),
        "magnification_error_all": float(ratio_error.mean()),
    }


def _mode(method) -> str:
    if method.supports("static"):
        return "static"
    if method.supports("dynamic"):
        return "dynamic"
    raise UsageError(
        f"method '{method.name}' has neither a static nor a dynamic mode, so the "
        "real-video suite (flow between a reference and each frame) does not apply to it."
    )


def _references(clip: np.ndarray, mode: str) -> list[np.ndarray]:
    """The frame each frame t >= 1 is measured against: I_0 (static) or I_{t-1}."""
    return [clip[0] if mode == "static" else clip[t - 1] for t in range(1, len(clip))]


def still_background_change(
    method,
    frames: np.ndarray,
    alpha: float,
    estimator: str = "dis",
    fps: float = DEFAULT_FPS,
) -> float:
    """Mean |Y(O_t) - Y(I_t)| (grey levels) over the still background of ``frames``.

    Runs ``method`` (static mode against frame 0 when it has one, else dynamic) on the
    uint8 clip (T, H, W, 3) at ``alpha``; the background of frame t is :func:`still_mask`
    of its input flow. NaN when no frame has still background.
    """
    frames = np.asarray(frames, np.uint8)
    mode = _mode(method)
    out = np.asarray(method.clip(frames, alpha, mode=mode, fps=fps, reference=0))
    values = []
    for t, reference in enumerate(_references(frames, mode), start=1):
        flow_in = estimate_flow(reference, frames[t], estimator)
        still = still_mask(flow_in, alpha, reference, frames[t])
        if still.any():
            values.append(float(np.abs(_luma(out[t]) - _luma(frames[t]))[still].mean()))
    return float(np.mean(values)) if values else math.nan


# -- the suite ---------------------------------------------------------------------------


def _rerendered_scores(
    clip: np.ndarray,
    references: list[np.ndarray],
    flows_in: list[np.ndarray],
    alphas: Sequence[float],
    size_px: int | None,
    seed: int,
    estimator: str,
) -> dict[float, dict[str, float]]:
    """Motion and magnification error of the default clip drawn again with its motion
    field times alpha (``default_clip(alpha=)``), the README's reference row, in every
    run: exact only to first order in the field's gradient, it is not a floor (the
    metric's target, alpha times the input's flow, is what a warp along that flow
    draws), but it shows where the ruler gives out (14.1 px at alpha 64, the unchanged
    input 18.9; review, stop 54)."""
    scores = {}
    for alpha in alphas:
        truth, _ = default_clip(size_px or DEFAULT_SIZE_PX, len(clip), seed, alpha=alpha)
        rows = [
            frame_metrics(flows_in[t - 1], estimate_flow(r, truth[t], estimator), alpha,
                          clip[t], truth[t], r)
            for t, r in enumerate(references, start=1)
        ]  # fmt: skip
        scores[alpha] = {
            m: finite_stats([row[m] for row in rows])[0]
            for m in ("motion_error", "magnification_error")
        }
    return scores


def run_real_video(
    method,
    n: int | None = None,
    seed: int = 0,
    size_px: int | None = None,
    progress: bool = True,
    video: str | os.PathLike | np.ndarray | None = None,
    alphas: Sequence[float] = REAL_VIDEO_ALPHAS,
    estimator: str = "dis",
    max_frames: int = 30,
) -> SuiteResult:
    """Real-video suite: motion error, magnification error, background change vs alpha.

    Args:
        method: anything with ``name``, ``supports`` and ``clip`` (``MethodUnderTest``).
        n: frame pairs (I_ref, I_t) per level; the clip is ``n + 1`` frames (default
            ``max_frames``; a video shorter than that gives fewer).
        seed: picks the photo and motion of the default clip (unused with ``video``).
        size_px: long side of the frames (px): the default clip's size (default 256),
            or a video is resized to it (default: its own size).
        progress: tqdm bar on stderr.
        video: a video path or uint8 (T, H, W, 3) array; None: the synthetic default
            clip (no download).
        alphas: total factors to test (one level each).
        estimator: ``dis`` | ``farneback`` (the flow ruler; :mod:`motionmag.flow.opencv`).
        max_frames: frames taken from the start of the video when ``n`` is None.

    Returns:
        SuiteResult ``real-video``, x = alpha, primary ``motion_error`` (px, lower is
        better), no floor; per level also ``magnification_error``, ``background_change``
        and FlowMag's code variants ``motion_error_l1``, ``magnification_error_all``.
    """
    if estimator not in FLOW_ESTIMATORS:
        raise UsageError(
            f"unknown flow estimator '{estimator}': choose one of {', '.join(FLOW_ESTIMATORS)}."
        )
    if n is not None and n < 1:
        raise UsageError(f"n must be at least 1 frame pair, not {n}.")
    mode = _mode(method)
    frames = (n + 1) if n is not None else int(max_frames)
    notes: list[str] = []
    if video is None:
        clip, info = default_clip(size_px or DEFAULT_SIZE_PX, frames, seed)
        fps = DEFAULT_FPS
        notes.append(
            "Default clip is synthetic (a real photo with a smooth non-rigid motion field "
            "up to 3 px and a still third); give a video (--video, video=) for a real recording."
        )
    else:
        clip, fps, info = load_clip(video, frames, size_px)
    alphas = tuple(float(a) for a in alphas)
    if method.name.startswith("warp-"):
        from ..magnify.warp import WarpOptions

        splat_by = str(method.options.get("estimator", WarpOptions.estimator))
        if splat_by == estimator:
            notes.append(
                f"'{method.name}' splats by {estimator} flow, the ruler's own, so it is "
                "measured with its own flow (the protocol's ruler is one no method used): "
                "give another --ruler, or --set estimator=lk (FlowMag's training flow)."
            )
    if mode == "dynamic":
        notes.append(
            f"'{method.name}' has no static mode: run in dynamic mode, each frame measured "
            "against the previous input frame."
        )
    if n is not None and len(clip) < n + 1:
        notes.append(f"the video has {len(clip)} frames: {len(clip) - 1} pairs, not {n}.")
    references = _references(clip, mode)
    flows_in = [estimate_flow(r, clip[t], estimator) for t, r in enumerate(references, start=1)]

    per_level: list[dict[str, list[float]]] = []
    bar = tqdm(
        total=len(alphas),
        desc=f"real-video {method.name}",
        unit="alpha",
        file=sys.stderr,
        disable=not progress,
    )
    with bar:
        for alpha in alphas:
            out = np.asarray(method.clip(clip, alpha, mode=mode, fps=fps, reference=0))
            if out.shape != clip.shape:
                raise ValueError(f"'{method.name}' returned shape {out.shape}, not {clip.shape}")
            values: dict[str, list[float]] = {m: [] for m in METRICS}
            for t, reference in enumerate(references, start=1):
                flow_out = estimate_flow(reference, out[t], estimator)
                row = frame_metrics(flows_in[t - 1], flow_out, alpha, clip[t], out[t], reference)
                for m in METRICS:
                    values[m].append(row[m])
            per_level.append(values)
            bar.update(1)

    levels = []
    for alpha, values in zip(alphas, per_level, strict=True):
        stats = {m: finite_stats(values[m]) for m in METRICS}
        levels.append(
            Level(
                x=alpha,
                values={m: s[0] for m, s in stats.items()},
                n=len(references),
                spread={m: s[1] for m, s in stats.items()},
            )
        )
    if video is None:  # a reference row: the clip drawn again with its motion x alpha
        rerendered = _rerendered_scores(
            clip, references, flows_in, alphas, size_px, seed, estimator
        )
        notes.append(
            "for reference, the clip drawn again with its motion field times alpha scores "
            "motion error "
            + " / ".join(f"{rerendered[a]['motion_error']:.3g}" for a in alphas)
            + " px at alpha "
            + " / ".join(f"{a:g}" for a in alphas)
            + " (exact to first order only, so not a floor: a warp along the input's flow "
            "scores below it; at the largest alphas the ruler measures nothing well)."
        )
    input_motion = [float(flow_magnitude(f).mean()) for f in flows_in]
    moving = [float((flow_magnitude(f) >= MOVING_PX).mean()) for f in flows_in]
    summary = {
        f"mean_{m}": finite_stats([lv.values[m] for lv in levels])[0]
        for m in ("motion_error", "magnification_error", "background_change")
    }
    if not any(math.isfinite(lv.values["magnification_error"]) for lv in levels):
        short = (
            f" in its {len(clip)} frames (n sets the clip's length, n + 1 frames, and the "
            "default clip's motion builds up over its first 30)"
            if n is not None and video is None
            else " (sub-pixel motion)"
        )
        notes.append(
            f"no magnification error: it counts pixels whose input motion is at least "
            f"{MOVING_PX:g} px, and no pixel of this clip moves that much{short}."
        )
    return SuiteResult(
        suite="real-video",
        method=method.name,
        x_name="magnification factor alpha",
        x_log=True,
        primary="motion_error",
        floor=None,
        levels=levels,
        table=list(METRICS),
        plots=["motion_error", "magnification_error", "background_change"],
        settings={
            **info,
            "frames": len(clip),
            "pairs": len(references),
            "fps": fps,
            "mode": mode,
            "reference": "frame 0" if mode == "static" else "previous frame",
            "alphas": list(alphas),
            "estimator": estimator,
            "seed": seed,
            "moving_px": MOVING_PX,
            "still_px": STILL_PX,
            "still_grey": STILL_GREY,
            "reach_margin_px": REACH_MARGIN_PX,
            "input_motion_px_mean": float(np.mean(input_motion)),
            **({"rerendered": {f"{a:g}": rerendered[a] for a in alphas}} if video is None else {}),
            "moving_fraction": float(np.mean(moving)),
        },
        summary=summary,
        notes=notes,
    )
