"""Spatial masks: magnify inside (white), keep the input outside (black), soft edges allowed.

What matters: the blend ``out = in + m (magnified - in)`` happens on output frames, so it
works for every method, and a mask is resized to the processing size once.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from ..errors import UsageError
from .geometry import FrameGeometry


def load_mask(path: str | Path, geometry: FrameGeometry) -> np.ndarray:
    """Greyscale image -> float32 weights (H, W, 1) in [0, 1] at the processing size.

    A mask of the source frame's size is cut by the geometry's crop first, so a mask
    drawn on the whole video frame still lines up with ``--crop``; any other mask is
    taken to cover what is processed, and resized to it.
    """
    path = Path(path)
    width, height = geometry.size
    if not path.is_file():
        raise UsageError(f"mask '{path}' does not exist: give a greyscale image with --mask.")
    image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if image is None:
        raise UsageError(f"mask '{path}' is not an image OpenCV can read: save it as PNG.")
    if geometry.crop is not None and image.shape == geometry.source[::-1]:
        x, y, w, h = geometry.crop
        image = image[y : y + h, x : x + w]
    if image.shape != (height, width):
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
    return (image.astype(np.float32) / 255.0)[..., None]


def blend(original: np.ndarray, magnified: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``original + mask * (magnified - original)``, uint8 RGB out."""
    mixed = original.astype(np.float32) + mask * (
        magnified.astype(np.float32) - original.astype(np.float32)
    )
    return np.clip(np.rint(mixed), 0, 255).astype(np.uint8)
