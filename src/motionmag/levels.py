"""Float pixel values to 8-bit levels: rounding, or dithering whose mean is the value.

One implementation for every writer of uint8 frames: the synthetic generator (Oh et al.
2018, Sec. 3.3: uniform quantisation dithering), attenuated output (alpha < 1) of every
method, and DeepMag's output.
"""

from __future__ import annotations

import numpy as np

#: a value this close to a level (in levels) stays on it when dithered (ours: float
#: round trips put a pixel the method did not change 1e-5 off its level; dithering it
#: would move it a level once in 1e5 frames for nothing)
ON_LEVEL = 1e-3


def dither(image: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Round float pixels (0-255 units) to uint8 with uniform quantisation dithering
    (Oh 2018, Sec. 3.3).

    ``noise`` holds U(0, 1) draws of the same shape: ``floor(x + u)`` equals
    ``round(x + U(-0.5, 0.5))``, so 102.3 becomes 103 with probability 0.3 and the
    expectation is the float value (before the clip to [0, 255]).
    """
    out = np.floor(image + noise)
    return np.clip(out, 0, 255).astype(np.uint8)


def to_levels(values: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """Float pixels in [0, 1] -> uint8, clipped: rounded to the nearest level, or, given
    ``rng``, dithered (:func:`dither`, float64 U(0, 1) draws from ``rng``), a value within
    :data:`ON_LEVEL` of a level staying on it.

    ``values`` of 3 dimensions or more are colour frames (channels last): one draw per
    pixel serves its three channels, so a grey pixel stays grey (a draw per channel gave
    43 % of a grey clip's pixels a tint at alpha 0.5); each channel is still unbiased."""
    scaled = np.asarray(values, dtype=np.float64) * 255.0
    nearest = np.rint(scaled)
    if rng is None:
        return np.clip(nearest, 0, 255).astype(np.uint8)
    snapped = np.where(np.abs(scaled - nearest) < ON_LEVEL, nearest, scaled)
    shape = (*scaled.shape[:-1], 1) if scaled.ndim >= 3 else scaled.shape
    return dither(snapped, rng.random(shape))
