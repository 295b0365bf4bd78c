"""Dense optical flow with OpenCV, as an independent ruler for magnified motion.

What matters:

- One convention everywhere: ``flow = estimate_flow(a, b)`` is float32 (H, W, 2) in px,
  ``(dx, dy)`` per pixel of ``a``, such that ``a(x) ~ b(x + flow(x))``. A texture moved
  right by 0.5 px from ``a`` to ``b`` gives ``flow ~ (+0.5, 0)``. This is the direction
  of FlowMag's ``F(I_0, I_t)`` (Pan et al. 2023, Sec. 3, Eq. 3), with ``a`` the reference.
- These are classical estimators that no motionmag model is trained with, so motion
  error measured with them is not the loss a learned method minimised (FlowMag Sec. 4.3
  asks for held-out flow networks for the same reason). The Warp baselines use DIS
  by default: measure them with the other ruler too (``motionmag eval --ruler
  farneback``), or warp them by flowmag's training flow (``--set estimator=lk``).
- Both work on the grey level (ITU-R BT.601 luma, ``cv2.COLOR_RGB2GRAY``) of uint8 RGB
  frames of any size; nothing here needs a GPU or a download.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..errors import UsageError

#: names accepted by :func:`estimate_flow`
FLOW_ESTIMATORS = ("dis", "farneback")

# Our choice, DIS (Kroeger et al. 2016): OpenCV has no FINE preset (only ULTRAFAST, FAST,
# MEDIUM), so we take MEDIUM (patch 8 px, stride 3 px, 25 gradient-descent steps,
# variational refinement) and refine it down to the full-resolution pyramid level
# (finest scale 0 instead of MEDIUM's 1), which is what a "fine" operating point does.
# On a blurred photo moved by 0.3-2.5 px this halves the mean error (0.016-0.026 px
# instead of 0.024-0.035 px) and removes MEDIUM's ~3 % over-estimate of 0.3 px shifts,
# for about 4x the time (~0.14 s per 768x576 pair on one busy CPU core).
DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
DIS_FINEST_SCALE = 0
# OpenCV's DIS refuses frames under about 12 px a side ("The input image must have either
# width or height >= 12"); smaller frames are mirror-padded to this side and the flow
# cropped back (our choice).
DIS_MIN_SIDE_PX = 16

# Our choice, Farneback (2003) parameters: pyramid scale 0.5, 5 levels, 31 px averaging
# window, 10 iterations, polynomial neighbourhood 7 px with sigma 1.5. The window
# matters most: with OpenCV's usual 15 px the flow of a smooth photo is biased low by
# ~4 % (2.40 px for a 2.5 px shift); 31 px brings the bias to ~1 %.
FARNEBACK_PARAMS = {
    "pyr_scale": 0.5,
    "levels": 5,
    "winsize": 31,
    "iterations": 10,
    "poly_n": 7,
    "poly_sigma": 1.5,
    "flags": 0,
}


def to_grey(frame: np.ndarray) -> np.ndarray:
    """uint8 RGB (H, W, 3) or grey (H, W) -> uint8 grey (H, W), BT.601 luma."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8:
        raise ValueError(f"expected a uint8 frame, got {frame.dtype}")
    if frame.ndim == 2:
        return np.ascontiguousarray(frame)
    if frame.ndim == 3 and frame.shape[2] == 3:
        return cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_RGB2GRAY)
    raise ValueError(f"expected an RGB (H, W, 3) or grey (H, W) frame, got shape {frame.shape}")


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    grey_a, grey_b = to_grey(a), to_grey(b)
    if grey_a.shape != grey_b.shape:
        raise ValueError(f"frames differ in size: {grey_a.shape} vs {grey_b.shape}")
    return grey_a, grey_b


def flow_dis(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """DIS optical flow (Kroeger et al. 2016) from ``a`` to ``b``, px, float32 (H, W, 2).

    ``a(x) ~ b(x + flow(x))``. MEDIUM preset refined to full resolution (see
    ``DIS_FINEST_SCALE``); mean normalisation on, so slow brightness changes are ignored.
    Frames under ``DIS_MIN_SIDE_PX`` a side are mirror-padded for DIS and cropped back.
    """
    grey_a, grey_b = _pair(a, b)
    height, width = grey_a.shape
    pad = ((0, max(0, DIS_MIN_SIDE_PX - height)), (0, max(0, DIS_MIN_SIDE_PX - width)))
    dis = cv2.DISOpticalFlow_create(DIS_PRESET)
    dis.setFinestScale(DIS_FINEST_SCALE)
    flow = dis.calc(
        np.pad(grey_a, pad, mode="symmetric"), np.pad(grey_b, pad, mode="symmetric"), None
    )
    return np.asarray(flow[:height, :width], dtype=np.float32)


def flow_farneback(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Farneback optical flow (Farneback 2003) from ``a`` to ``b``, px, float32 (H, W, 2).

    ``a(x) ~ b(x + flow(x))``; parameters in ``FARNEBACK_PARAMS``.
    """
    grey_a, grey_b = _pair(a, b)
    flow = cv2.calcOpticalFlowFarneback(grey_a, grey_b, None, **FARNEBACK_PARAMS)
    return np.asarray(flow, dtype=np.float32)


def estimate_flow(a: np.ndarray, b: np.ndarray, estimator: str = "dis") -> np.ndarray:
    """Flow from ``a`` to ``b`` (px, float32 (H, W, 2), ``a(x) ~ b(x + flow(x))``).

    Args:
        a, b: uint8 RGB (H, W, 3) or grey (H, W) frames of one size.
        estimator: ``dis`` | ``farneback``.
    """
    if estimator == "dis":
        return flow_dis(a, b)
    if estimator == "farneback":
        return flow_farneback(a, b)
    raise UsageError(
        f"unknown flow estimator '{estimator}': choose one of {', '.join(FLOW_ESTIMATORS)}."
    )


def flow_magnitude(flow: np.ndarray) -> np.ndarray:
    """Per-pixel length of a flow field (H, W, 2) in px, float32 (H, W)."""
    flow = np.asarray(flow, dtype=np.float32)
    return np.hypot(flow[..., 0], flow[..., 1])
