"""Warp Nearest and Warp Bilinear: FlowMag's Lagrangian baselines (Pan et al. 2023).

What matters:

- The method is FlowMag's (Sec. 4.3 "Baselines" and App. A6 "Implementation"): estimate
  optical flow from the reference frame to frame t, forward-warp (splat) the pixels of
  the reference by the flow scaled by the magnification factor, and fill the holes the
  splat leaves with OpenCV's nonparametric inpainting. So output_t shows the reference
  frame with every pixel x moved to ``x + alpha * F(I_ref, I_t)(x)``: output motion is
  alpha x input motion (alpha is the total factor; alpha = 1 re-draws frame t from the
  reference up to flow and splat error, alpha = 0 gives the reference).
- Choices the paper leaves open, ours: the flow is OpenCV DIS (FlowMag used RAFT; we ship
  no flow network), ``--option estimator=farneback`` swaps it, and ``estimator=lk`` uses
  the differentiable pyramidal Lucas-Kanade that ``flowmag`` is trained through
  (``flow/differentiable.py``). That last one is the paper's pairing: its Warp baselines
  used RAFT, the flow its net was trained with, and were measured with other flows
  (Table 1). DIS-warped output measured with DIS is measured with its own ruler. Holes
  are filled with ``cv2.inpaint`` Telea (Telea 2004), radius 3 px; where several source
  pixels land on one target, a depth test keeps those whose magnified displacement is within
  ``DEPTH_TOLERANCE_PX`` of the largest one there (moving things are drawn in front of
  the still background they move over), and the kept ones are averaged with their splat
  weights (bilinear weights, or 1 for nearest). In smooth motion this is plain
  normalised splatting; at occlusions it is a z-buffer with magnitude as depth.
- Modes: static (reference = frame ``--reference``, frames before it wait for it) and
  dynamic (reference = the previous frame, so each output magnifies only the motion
  since the frame before). No temporal mode: a flow is a displacement between two
  frames, not a band-passed signal.
- It splats the *reference* frame, so lighting changes and new content of frame t are
  not shown (as in the paper). Runs on the CPU (OpenCV, numpy) whatever ``--device``.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..errors import UsageError
from ..flow.opencv import FLOW_ESTIMATORS, estimate_flow
from .base import Magnifier, check_rgb_frame
from .config import check_alpha

#: flows the warp baselines can splat by: OpenCV's two, and ``lk``, flowmag's training flow
WARP_ESTIMATORS = (*FLOW_ESTIMATORS, "lk")

#: splat kernels: ``nearest`` (each source to its rounded target) | ``bilinear`` (4 targets)
SPLATS = ("nearest", "bilinear")

# Our choice: sources whose magnified displacement is within this many px of the largest
# displacement landing on a target are averaged; the others are hidden behind it.
DEPTH_TOLERANCE_PX = 1.0

# Our choice: a target whose accumulated splat weight is below this is a hole (for
# nearest any hit has weight >= 1; for bilinear a weight of 0.1 means the nearest source
# is about 0.9 px away on each axis).
HOLE_WEIGHT = 0.1


@dataclass
class WarpOptions:
    """Options of ``warp-nearest`` / ``warp-bilinear`` (``--option KEY=VALUE``)."""

    estimator: str = "dis"  # optical flow: dis | farneback (flow.opencv) | lk (flow.differentiable)
    inpaint: bool = True  # False: holes stay black (FlowMag Table A7's "None" rows)
    inpaint_radius_px: float = 3.0  # cv2.inpaint Telea neighbourhood radius


def forward_splat(
    image: np.ndarray,
    flow_px: np.ndarray,
    kernel: str = "bilinear",
    depth_tolerance_px: float = DEPTH_TOLERANCE_PX,
) -> tuple[np.ndarray, np.ndarray]:
    """Forward-warp ``image`` so that pixel x lands at ``x + flow_px(x)``.

    Args:
        image: (H, W) or (H, W, C) values (any range).
        flow_px: (H, W, 2) displacement (dx, dy) in px of each source pixel.
        kernel: ``nearest`` (the rounded target gets weight 1) or ``bilinear`` (the four
            neighbouring targets get the bilinear weights of the landing point).
        depth_tolerance_px: at each target only sources whose displacement length is
            within this of the largest one landing there count (z-buffer, depth =
            displacement length; ``inf`` averages all).

    Returns:
        ``(splatted, weight)``: float32 (H, W[, C]) weighted mean of the kept sources
        (0 where nothing landed) and float32 (H, W) accumulated weight of the kept ones.
    """
    if kernel not in SPLATS:
        raise UsageError(f"unknown splat kernel '{kernel}': choose one of {', '.join(SPLATS)}.")
    values = np.asarray(image, dtype=np.float32)
    squeeze = values.ndim == 2
    if squeeze:
        values = values[..., None]
    height, width, channels = values.shape
    flow_px = np.asarray(flow_px, dtype=np.float32)
    if flow_px.shape != (height, width, 2):
        raise ValueError(f"flow shape {flow_px.shape} does not match image {values.shape[:2]}")

    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    target_x = (xs + flow_px[..., 0]).ravel()
    target_y = (ys + flow_px[..., 1]).ravel()
    depth = np.hypot(flow_px[..., 0], flow_px[..., 1]).ravel()
    source = np.arange(height * width)

    if kernel == "nearest":
        corners = [(np.rint(target_x), np.rint(target_y), np.ones_like(target_x))]
    else:
        x0, y0 = np.floor(target_x), np.floor(target_y)
        fx, fy = target_x - x0, target_y - y0
        corners = [
            (x0, y0, (1 - fx) * (1 - fy)),
            (x0 + 1, y0, fx * (1 - fy)),
            (x0, y0 + 1, (1 - fx) * fy),
            (x0 + 1, y0 + 1, fx * fy),
        ]
    index_parts, weight_parts, source_parts = [], [], []
    for cx, cy, w in corners:
        valid = (w > 0) & (cx >= 0) & (cx <= width - 1) & (cy >= 0) & (cy <= height - 1)
        index_parts.append(cy[valid].astype(np.int64) * width + cx[valid].astype(np.int64))
        weight_parts.append(w[valid])
        source_parts.append(source[valid])
    index = np.concatenate(index_parts)
    weight = np.concatenate(weight_parts)
    src = np.concatenate(source_parts)

    size = height * width
    if np.isfinite(depth_tolerance_px):
        front = np.full(size, -np.inf, dtype=np.float32)
        np.maximum.at(front, index, depth[src])
        keep = depth[src] >= front[index] - np.float32(depth_tolerance_px)
        index, weight, src = index[keep], weight[keep], src[keep]

    total = np.bincount(index, weights=weight, minlength=size).astype(np.float32)
    flat = values.reshape(size, channels)
    splatted = np.empty((size, channels), dtype=np.float32)
    safe = np.where(total > 0, total, 1.0)
    for c in range(channels):
        accumulated = np.bincount(index, weights=weight * flat[src, c], minlength=size)
        splatted[:, c] = accumulated / safe
    splatted = splatted.reshape(height, width, channels)
    return (splatted[..., 0] if squeeze else splatted), total.reshape(height, width)


def fill_holes(image: np.ndarray, holes: np.ndarray, radius_px: float = 3.0) -> np.ndarray:
    """Inpaint the ``holes`` (H, W) bool of a uint8 (H, W, 3) image with ``cv2.inpaint``
    (Telea 2004, the fast-marching nonparametric method), ``radius_px`` neighbourhood."""
    if not holes.any():
        return image
    if holes.all():  # nothing to inpaint from
        return image
    mask = holes.astype(np.uint8) * 255
    return cv2.inpaint(np.ascontiguousarray(image), mask, float(radius_px), cv2.INPAINT_TELEA)


def warp_magnify(
    reference: np.ndarray,
    frame: np.ndarray,
    alpha: float,
    splat: str = "bilinear",
    options: WarpOptions | None = None,
) -> np.ndarray:
    """One FlowMag warp-baseline frame: ``reference`` splatted by ``alpha x F(ref, frame)``.

    Args:
        reference, frame: uint8 RGB (H, W, 3).
        alpha: total factor (output motion = alpha x input motion), >= 0.
        splat: ``nearest`` | ``bilinear``.
        options: flow estimator and inpainting (:class:`WarpOptions`).

    Returns:
        uint8 RGB (H, W, 3), holes inpainted (unless ``options.inpaint`` is False).
    """
    options = options or WarpOptions()
    flow = _flow(reference, frame, options.estimator)
    splatted, weight = forward_splat(reference, float(alpha) * flow, kernel=splat)
    out = np.clip(np.rint(splatted), 0, 255).astype(np.uint8)
    holes = weight < HOLE_WEIGHT
    if options.inpaint:
        out = fill_holes(out, holes, options.inpaint_radius_px)
    else:
        out[holes] = 0
    return out


def _flow(reference: np.ndarray, frame: np.ndarray, estimator: str) -> np.ndarray:
    """Flow from ``reference`` to ``frame`` (px, (H, W, 2)) by one of ``WARP_ESTIMATORS``."""
    # Layering note: OpenCV's flows (also the evaluation's ruler) need only cv2, imported
    # here anyway; the torch estimator is imported lazily so that magnify stays light.
    if estimator == "lk":
        from ..flow.differentiable import flow_torch

        return flow_torch(reference, frame)
    return estimate_flow(reference, frame, estimator)


class WarpMagnifier(Magnifier):
    """Warp Nearest / Warp Bilinear over a frame stream (static or dynamic mode).

    Args:
        alpha: total magnification factor (>= 0).
        splat: ``nearest`` | ``bilinear``.
        mode: ``static`` (against frame ``reference``) | ``dynamic`` (previous frame).
        reference: static mode's reference frame index; earlier frames wait for it.
        options: :class:`WarpOptions`.
    """

    def __init__(
        self,
        alpha: float,
        splat: str = "bilinear",
        mode: str = "static",
        reference: int = 0,
        options: WarpOptions | None = None,
    ) -> None:
        if splat not in SPLATS:
            raise UsageError(f"unknown splat kernel '{splat}': choose one of {', '.join(SPLATS)}.")
        if mode not in ("static", "dynamic"):
            raise UsageError(f"warp methods have no {mode} mode: choose static or dynamic.")
        if reference < 0:
            raise UsageError(f"reference frame {reference} is negative: give an index >= 0.")
        self.alpha = check_alpha(alpha)
        self.splat = splat
        self.mode = mode
        self.reference = int(reference) if mode == "static" else 0
        self.options = options or WarpOptions()
        if self.options.estimator not in WARP_ESTIMATORS:
            raise UsageError(
                f"unknown flow estimator '{self.options.estimator}': choose one of "
                f"{', '.join(WARP_ESTIMATORS)}."
            )
        self.latency_frames = self.reference
        self._ref: np.ndarray | None = None
        self._held: list[np.ndarray] = []
        self._seen = 0

    def _magnify(self, reference: np.ndarray, frame: np.ndarray) -> np.ndarray:
        if frame is reference:  # the reference itself: zero motion, nothing to warp
            return reference.copy()
        return warp_magnify(reference, frame, self.alpha, self.splat, self.options)

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        frame = check_rgb_frame(frame).copy()
        if self.mode == "dynamic":
            previous = self._ref if self._ref is not None else frame
            self._ref = frame
            return [self._magnify(previous, frame)]
        index = self._seen
        self._seen += 1
        if self._ref is None:
            self._held.append(frame)
            if index < self.reference:
                return []
            self._ref = frame
            held, self._held = self._held, []
            return [self._magnify(self._ref, f) for f in held]
        return [self._magnify(self._ref, frame)]

    def flush(self) -> list[np.ndarray]:
        if self._held:
            raise UsageError(
                f"reference frame {self.reference} is beyond the end of the video "
                f"({self._seen} frames): choose a smaller --reference."
            )
        return []
