"""Spatial masks: magnify inside (white), keep the input outside (black), soft edges allowed.

What matters: the blend ``out = in + m (magnified - in)`` happens on output frames, so it
works for every method, and a mask is resized to the processing size once.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import cv2
import numpy as np

from ..errors import UsageError
from .geometry import FrameGeometry

ASPECT_TOLERANCE = 0.02  # a mask whose width/height differs more is refused, not stretched


def load_mask(
    mask: str | Path | np.ndarray,
    geometry: FrameGeometry,
    flag: str = "--mask",
    name: str | None = None,
) -> np.ndarray:
    """Greyscale image -> float32 weights (H, W, 1) in [0, 1] at the processing size.

    ``mask``: an image file, or an array (H, W) or (H, W, 1): uint8 0-255, or floats in
    [0, 1]. A mask of the source frame's size is cut by the geometry's crop first, so a
    mask drawn on the whole video frame still lines up with ``--crop`` (so does one of the
    source frame's shape at another size, resized to it first, unless it also has the
    crop's shape, when it is taken to cover the crop); any other mask is
    taken to cover what is processed (the crop, or the whole frame) and resized to it,
    if it has that region's shape (width / height within 2 %: a mask drawn at half the
    size is fine); one of another shape is a UsageError, never stretched. ``flag``
    names the option in messages, ``name`` an array's origin (without one: "the mask
    array"). A mask with no weight anywhere (after the crop) is kept, with a warning.
    """
    if isinstance(mask, (str, os.PathLike)):
        subject, weights = f"{flag} '{mask}'", _read_weights(Path(mask), flag)
    else:  # an array: a Python caller's, named by its origin when it has one
        subject = f"{flag} {name}" if name else "the mask array"
        weights = mask_weights(mask, flag)
    width, height = geometry.size
    source_w, source_h = geometry.source
    if (
        geometry.crop is not None
        and weights.shape != (source_h, source_w)
        and _same_shape(weights.shape, (source_w, source_h))
        and not _same_shape(weights.shape, geometry.crop[2:])
    ):  # the source frame's shape scaled: back to its size, then cut as one of its size
        weights = cv2.resize(weights, (source_w, source_h), interpolation=cv2.INTER_LINEAR)
    if geometry.crop is not None and weights.shape == (source_h, source_w):
        x, y, w, h = geometry.crop
        weights = weights[y : y + h, x : x + w]
    cut_w, cut_h = geometry.crop[2:] if geometry.crop is not None else geometry.source
    mask_h, mask_w = weights.shape
    if not _same_shape(weights.shape, (cut_w, cut_h)):
        if geometry.crop is not None:
            raise UsageError(
                f"{subject} is {mask_w}x{mask_h}, the shape of neither the video "
                f"({source_w}x{source_h}, cut by --crop) nor the --crop region "
                f"({cut_w}x{cut_h}): draw it at one of those sizes (or one scaled)."
            )
        raise UsageError(
            f"{subject} is {mask_w}x{mask_h} but the video is {cut_w}x{cut_h}: draw "
            "the mask at that size (or the same shape scaled)."
        )
    if not weights.any():  # legal (the output is the input), but rarely what was meant
        where = " inside --crop" if geometry.crop is not None else ""
        warnings.warn(
            f"{subject} is black everywhere{where}: nothing is magnified (white marks what "
            "to magnify).",
            stacklevel=2,
        )
    if weights.shape != (height, width):
        weights = cv2.resize(weights, (width, height), interpolation=cv2.INTER_AREA)
    return weights[..., None]


def _same_shape(shape_hw: tuple[int, ...], size_wh) -> bool:
    """True when an (H, W) array has the width / height ratio of ``size_wh`` within
    :data:`ASPECT_TOLERANCE`."""
    mask_h, mask_w = shape_hw[:2]
    return abs((mask_w / mask_h) / (size_wh[0] / size_wh[1]) - 1.0) <= ASPECT_TOLERANCE


def _read_weights(path: Path, flag: str) -> np.ndarray:
    """An image file as float32 weights (H, W) in [0, 1]: white (the largest value of its
    bit depth) is 1. Two cases read as their authors meant them (ours): a colour mask
    counts its brightest colour channel (a red region on black is fully in, where its
    luma would be 0.3), or its alpha channel where the colour is one flat colour and the
    region is drawn in the transparency, and a label image of 0s and 1s (a segmentation
    tool's) counts 1 as white, where it would be 1/255."""
    if not path.is_file():
        what = "is a folder" if path.is_dir() else "does not exist"
        raise UsageError(f"{flag} '{path}' {what}: give a greyscale image (PNG).")
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if image is None or image.dtype not in (np.uint8, np.uint16) or image.size == 0:
        raise UsageError(f"{flag} '{path}' is not an image OpenCV can read: save it as PNG.")
    if image.ndim == 3:  # BGR(A): the colour channels' largest value
        colour = image[..., : min(image.shape[2], 3)].max(axis=2)
        alpha = image[..., 3] if image.shape[2] == 4 else None
        if alpha is not None and colour.min() == colour.max() and alpha.min() != alpha.max():
            image = alpha  # one colour, drawn in the transparency: its alpha is the mask
        else:
            image = colour
    if image.max() == 1:  # a label image: 0 outside, 1 inside
        return image.astype(np.float32)
    return image.astype(np.float32) / float(np.iinfo(image.dtype).max)


def mask_weights(mask: np.ndarray, flag: str = "mask") -> np.ndarray:
    """An array mask (H, W) or (H, W, 1) as float32 weights (H, W) in [0, 1]: uint8 is
    0-255 (as an image file; 0s and 1s only: a label image, 1 = in), anything else must
    already be weights in [0, 1]."""
    try:
        mask = np.asarray(mask)
    except ValueError:
        raise UsageError(f"{flag}: give the mask as one greyscale array (H, W).") from None
    if mask.dtype == object or mask.dtype.kind not in "uifb":
        raise UsageError(f"{flag}: give the mask as a numeric greyscale array (H, W).")
    array = mask[..., 0] if mask.ndim == 3 and mask.shape[2] == 1 else mask
    if array.ndim != 2 or min(array.shape) < 1:
        raise UsageError(
            f"{flag}: the mask array has shape {mask.shape}: give one greyscale image (H, W)."
        )
    if array.dtype == np.uint8:  # as an image file: 0-255, or a 0/1 label image
        return array.astype(np.float32) / (1.0 if array.max() == 1 else 255.0)
    weights = np.asarray(array, dtype=np.float32)
    if not np.isfinite(weights).all() or weights.min() < 0 or weights.max() > 1:
        raise UsageError(
            f"{flag}: a mask array that is not uint8 must hold weights in [0, 1]: scale it, "
            "or pass uint8 (0-255)."
        )
    return weights


def blend(original: np.ndarray, magnified: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``original + mask * (magnified - original)``, uint8 RGB out."""
    mixed = original.astype(np.float32) + mask * (
        magnified.astype(np.float32) - original.astype(np.float32)
    )
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
