"""Real-photo textures that work offline on a fresh machine.

What matters: nothing is downloaded. The images come from scikit-image's bundled data
(photographs that ship inside the package), so demos, tests and synthetic data are
reproducible anywhere the package installs.
"""

from __future__ import annotations

import numpy as np

#: scikit-image images that ship with the wheel (no pooch download needed)
BUNDLED = ("astronaut", "coffee", "chelsea", "rocket", "camera", "cat", "immunohistochemistry")


def load_texture(name: str = "astronaut") -> np.ndarray:
    """A bundled photo as uint8 RGB (H, W, 3)."""
    from skimage import data

    if name not in BUNDLED:
        raise ValueError(f"unknown texture '{name}': choose one of {', '.join(BUNDLED)}")
    image = getattr(data, name)()
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image[..., :3]).astype(np.uint8)
