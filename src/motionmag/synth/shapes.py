"""Object masks for the synthetic training data: random polygons, ellipses and blobs.

What matters: Oh et al. (2018, Sec. 3.3) paste PASCAL VOC segments; we have no VOC, so the
silhouettes are generated. A mask is a float32 alpha image in [0, 1] with anti-aliased
edges and a zero border (at least ``MARGIN_PX`` px), so that a bicubic warp of it is
exactly zero outside the object. The shape fills its image (diameter ~ the image side);
the renderer scales it to the object's size. Each shape is a pure function of the numpy
Generator passed in, so a sample is reproducible from its seed.
"""

from __future__ import annotations

import cv2
import numpy as np

#: zero rows/columns kept around every mask (bicubic support is 2 px)
MARGIN_PX = 3

#: the generated silhouette families
SHAPE_KINDS = ("polygon", "ellipse", "blob")

_SUBPIXEL_BITS = 4  # cv2 drawing with 1/16 px vertex precision


def _points(xy: np.ndarray) -> np.ndarray:
    return np.round(xy * (1 << _SUBPIXEL_BITS)).astype(np.int32)


def random_polygon(side_px: int, rng: np.random.Generator) -> np.ndarray:
    """A star-shaped polygon (3-12 vertices, random radii) filling a ``side_px`` square."""
    mask = np.zeros((side_px, side_px), np.uint8)
    n = int(rng.integers(3, 13))
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radius = (side_px / 2 - MARGIN_PX) * rng.uniform(0.45, 1.0, n)
    centre = (side_px - 1) / 2
    xy = np.stack([centre + radius * np.cos(angles), centre + radius * np.sin(angles)], axis=1)
    cv2.fillPoly(mask, [_points(xy)], 255, lineType=cv2.LINE_AA, shift=_SUBPIXEL_BITS)
    return mask.astype(np.float32) / 255


def random_ellipse(side_px: int, rng: np.random.Generator) -> np.ndarray:
    """One ellipse (aspect 1:1 to 1:3, any orientation), or a union of 2-3 overlapping ones."""
    mask = np.zeros((side_px, side_px), np.uint8)
    count = 1 if rng.random() < 0.6 else int(rng.integers(2, 4))
    usable = side_px / 2 - MARGIN_PX
    centre = (side_px - 1) / 2
    for _ in range(count):
        major = usable * (rng.uniform(0.6, 1.0) if count == 1 else rng.uniform(0.4, 0.6))
        minor = major * rng.uniform(0.33, 1.0)
        offset = (usable - major) * rng.uniform(-1, 1, 2)
        box = (
            (float(centre + offset[0]), float(centre + offset[1])),
            (float(2 * major), float(2 * minor)),
            float(rng.uniform(0, 180)),
        )
        cv2.ellipse(mask, box, 255, thickness=-1, lineType=cv2.LINE_AA)
    return mask.astype(np.float32) / 255


def random_blob(side_px: int, rng: np.random.Generator) -> np.ndarray:
    """An organic blob: smooth random field, thresholded softly, inside a round window."""
    grid = int(rng.integers(3, 7))
    field = rng.standard_normal((grid, grid)).astype(np.float32)
    inner = side_px - 2 * MARGIN_PX
    smooth = cv2.resize(field, (inner, inner), interpolation=cv2.INTER_CUBIC)
    y, x = np.mgrid[0:inner, 0:inner].astype(np.float32)
    r = np.hypot(x - (inner - 1) / 2, y - (inner - 1) / 2) / (inner / 2)
    # a radial bias keeps the blob in one piece and inside its square
    level = 0.6 * smooth + 1.2 - 2.4 * r * r
    gy, gx = np.gradient(level)
    slope = max(float(np.hypot(gx, gy).mean()), 1e-4)  # level units per px
    alpha = np.clip(0.5 + level / slope, 0, 1)  # a ~1 px soft edge
    alpha *= np.clip((1 - r) * inner / 2, 0, 1)  # and never beyond the inscribed circle
    mask = np.zeros((side_px, side_px), np.float32)
    mask[MARGIN_PX : MARGIN_PX + inner, MARGIN_PX : MARGIN_PX + inner] = alpha
    if mask.max() < 0.5:  # a degenerate field: fall back to an ellipse
        return random_ellipse(side_px, rng)
    return mask


def random_shape(side_px: int, rng: np.random.Generator, kind: str | None = None) -> np.ndarray:
    """A mask (side_px, side_px) float32 in [0, 1] of a random kind from ``SHAPE_KINDS``."""
    kind = kind or SHAPE_KINDS[int(rng.integers(len(SHAPE_KINDS)))]
    maker = {"polygon": random_polygon, "ellipse": random_ellipse, "blob": random_blob}[kind]
    return maker(max(int(side_px), 4 * MARGIN_PX), rng)


def pad_mask(mask: np.ndarray) -> np.ndarray:
    """Crop a mask (H, W) in [0, 1] to its support and add the ``MARGIN_PX`` zero border."""
    ys, xs = np.nonzero(mask > 0)
    if ys.size == 0:
        raise ValueError("empty mask")
    crop = mask[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1]
    return np.pad(crop.astype(np.float32), MARGIN_PX)
