"""DeepMag's colour representation: the normalised frame difference and its exact inverse.

What matters (Chen and McDuff 2018, Sec. 3.2, Eq. 12-18):

- **Spatial averaging first (Eq. 12).** Every frame is down-sampled to ``L x L`` px
  (``L = 36``) with bicubic interpolation, which averages the camera noise away. We use
  torch's bicubic with ``antialias=True`` (a bicubic kernel widened by the shrink factor,
  as MATLAB's ``imresize`` and PIL do): without the anti-aliasing, a bicubic
  *interpolation* only reads 4 x 4 input pixels per output pixel and averages almost no
  noise when shrinking by 3-4x, which defeats the purpose of the step (our choice; the
  paper only says "bicubic"). The aspect ratio is not kept: any H x W becomes L x L.
- **The representation (Eq. 15)** ``X(t) = (C(t+1) - C(t)) / (C(t+1) + C(t))`` per down-sampled
  pixel and channel, ``t = 0 .. T-2``; it is independent of the colour's scale, so the
  units of the frames do not matter (we use [0, 1]).
- **Its inverse (Eq. 17)** ``C~(t+1) = (1 + X~(t)) / (1 - X~(t)) * C~(t)``, ``C~(0) = C(0)``:
  a running product, exact for the unmodified ``X`` up to float rounding (computed in float64).
- **Reconstruction (Eq. 18)** ``C~_k(t) = C_k(t) - U(C_l(t)) + U(C~_l(t))``: only the *change* of
  the small frames is up-sampled (bicubic, ``align_corners=False``) and added to the
  full-resolution frames, so the detail of the original video is kept exactly.

Guards (ours): the small frames are floored at :data:`FLOOR` (a quarter grey level;
bicubic undershoots below 0 next to bright edges on black, and Eq. 15 needs positive
colours), so ``|X| < 1`` always; a sum below :data:`EPS` would give ``X = 0``, and ``X~``
is clipped to ``|X~| <= 1 - EPS`` before Eq. 17 so the ratio stays finite and positive.
The floor is applied to both ``C_l`` and ``C~_l`` of Eq. 18, so it changes no output pixel
by itself.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..levels import to_levels

#: side of the down-sampled frames the colour CNN sees (paper Sec. 3.2 and 5.1)
SIZE_PX = 36

#: lowest value of a down-sampled colour, in [0, 1] units (ours)
FLOOR = 1e-3

#: smallest denominator / distance from |X| = 1 that the representation allows (ours)
EPS = 1e-6


def _to_nchw(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 or float -> float64 tensor (T, 3, H, W), uint8 scaled to [0, 1]."""
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3:
        raise ValueError(f"expected RGB frames (T, H, W, 3), got shape {frames.shape}")
    tensor = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
    tensor = tensor.to(torch.float64)
    return tensor / 255.0 if frames.dtype == np.uint8 else tensor


def downsample(frames: np.ndarray, size_px: int = SIZE_PX, chunk: int = 256) -> np.ndarray:
    """Bicubic, anti-aliased down-sampling to ``size_px x size_px`` (Eq. 12's ``C_l(t)``).

    Args:
        frames: (T, H, W, 3) RGB, uint8 (scaled to [0, 1]) or float (kept in its units).
        size_px: output side L in px.
        chunk: frames resized at a time (bounds the float64 copy of the input).

    Returns:
        float64 (T, L, L, 3), in [0, 1] for uint8 input (bicubic may overshoot 1 slightly),
        floored at :data:`FLOOR` (in the input's units).
    """
    frames = np.asarray(frames)
    out = np.empty((len(frames), size_px, size_px, 3), np.float64)
    for start in range(0, len(frames), chunk):
        x = _to_nchw(frames[start : start + chunk])
        small = F.interpolate(
            x, size=(size_px, size_px), mode="bicubic", align_corners=False, antialias=True
        )
        out[start : start + chunk] = small.permute(0, 2, 3, 1).numpy()
    return np.maximum(out, FLOOR)


def upsample(small: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bicubic up-sampling (T, L, L, C) -> (T, height, width, C), float64 (Eq. 18's U)."""
    x = torch.from_numpy(np.ascontiguousarray(small, dtype=np.float64)).permute(0, 3, 1, 2)
    big = F.interpolate(x, size=(height, width), mode="bicubic", align_corners=False)
    return big.permute(0, 2, 3, 1).numpy()


def normalized_difference(small: np.ndarray) -> np.ndarray:
    """Eq. 15: ``X(t) = (C(t+1) - C(t)) / (C(t+1) + C(t))``, (T, L, L, 3) -> (T-1, L, L, 3).

    Dimensionless; about ``0.5 * d ln C / dt / fps`` for small changes. A denominator
    below :data:`EPS` gives 0.
    """
    small = np.asarray(small, dtype=np.float64)
    if len(small) < 2:
        raise ValueError("the normalised frame difference needs at least 2 frames")
    total = small[1:] + small[:-1]
    safe = np.where(np.abs(total) < EPS, 1.0, total)
    return np.where(np.abs(total) < EPS, 0.0, (small[1:] - small[:-1]) / safe)


def integrate_difference(x: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Eq. 17, the inverse of Eq. 15: ``C~(t+1) = (1 + X(t)) / (1 - X(t)) * C~(t)``.

    Args:
        x: (T-1, L, L, 3) normalised differences (clipped to ``|x| <= 1 - EPS``).
        first: (L, L, 3) the first small frame ``C(0)``.

    Returns:
        float64 (T, L, L, 3), starting with ``first``.
    """
    x = np.clip(np.asarray(x, dtype=np.float64), -1.0 + EPS, 1.0 - EPS)
    ratio = (1.0 + x) / (1.0 - x)
    out = np.empty((len(x) + 1, *np.shape(first)), np.float64)
    out[0] = first
    out[1:] = np.cumprod(ratio, axis=0) * np.asarray(first, dtype=np.float64)
    return out


def reconstruct(frames: np.ndarray, small: np.ndarray, small_new: np.ndarray) -> np.ndarray:
    """Eq. 18: add the up-sampled change of the small frames to the full frames.

    Args:
        frames: (T, H, W, 3) the original frames, uint8 or float in [0, 1].
        small: (T, L, L, 3) their down-sampled version ``C_l(t)``.
        small_new: (T, L, L, 3) the modified small frames ``C~_l(t)``.

    Returns:
        float64 (T, H, W, 3) ``C_k(t) - U(C_l(t)) + U(C~_l(t))``, not clipped, in [0, 1]
        units (uint8 input is divided by 255).
    """
    frames = np.asarray(frames)
    base = frames.astype(np.float64) / 255.0 if frames.dtype == np.uint8 else frames
    height, width = frames.shape[1:3]
    return base + upsample(np.asarray(small_new) - np.asarray(small), height, width)


def to_uint8(frames: np.ndarray, dither_seed: int | None = None) -> np.ndarray:
    """Float frames in [0, 1] -> uint8 (:func:`motionmag.levels.to_levels`): rounded to
    the nearest level, or, given ``dither_seed``, dithered with a generator seeded so."""
    rng = None if dither_seed is None else np.random.default_rng(dither_seed)
    return to_levels(frames, rng)
