"""Image metrics of EVALUATION.md: SSIM and MSE on the 0-255 scale, photon-like noise.

What matters: every number in a model card is one of these, computed the same way as
the papers' scripts: SSIM with an 11-tap Gaussian window of sigma 1.5 and data range 255,
the mean over colour channels (pytorch-msssim, Wang et al. 2004 Eq. 13, as in the
Axial-mm evaluation script).
"""

from __future__ import annotations

import numpy as np
import torch
from pytorch_msssim import ssim as _ssim

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


def _as_batch(image: np.ndarray) -> torch.Tensor:
    array = np.asarray(image, dtype=np.float32)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3:
        raise ValueError(f"expected an image (H, W[, C]), got shape {array.shape}")
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]


def ssim(output: np.ndarray, target: np.ndarray) -> float:
    """SSIM of two images (H, W[, C]) on the 0-255 scale, mean over channels and pixels.

    Wang et al. 2004 Eq. 13 with K1 = 0.01, K2 = 0.03, a Gaussian window of 11 taps and
    sigma 1.5 (valid positions only), data range 255. 1.0 for identical images.
    """
    if np.shape(output) != np.shape(target):
        raise ValueError(f"shapes differ: {np.shape(output)} vs {np.shape(target)}")
    if min(np.shape(output)[:2]) < SSIM_WINDOW:
        raise ValueError(f"images must be at least {SSIM_WINDOW} px on each side for SSIM")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # one small image: threads only spin (7x slower on a busy CPU)
    try:
        with torch.no_grad():
            value = _ssim(
                _as_batch(output),
                _as_batch(target),
                data_range=255.0,
                win_size=SSIM_WINDOW,
                win_sigma=SSIM_SIGMA,
                size_average=True,
            )
    finally:
        torch.set_num_threads(threads)
    return float(value)


def mse(output: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error on the 0-255 scale (grey levels squared)."""
    if np.shape(output) != np.shape(target):
        raise ValueError(f"shapes differ: {np.shape(output)} vs {np.shape(target)}")
    diff = np.asarray(output, np.float64) - np.asarray(target, np.float64)
    return float(np.mean(diff * diff))


def photon_noise(image: np.ndarray, factor: float, rng: np.random.Generator) -> np.ndarray:
    """Photon-like noise of EVALUATION.md: ``clip(I + factor * sqrt(I) * N(0, 1))``, uint8.

    ``I`` is on 0-255, so the noise variance is ``factor**2 * I`` (Poisson-like: bright
    pixels are noisier). Rounded to the nearest grey level.
    """
    intensity = np.asarray(image, np.float64)
    noisy = intensity + float(factor) * np.sqrt(intensity) * rng.standard_normal(intensity.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)
