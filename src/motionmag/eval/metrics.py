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


def _gaussian_window() -> torch.Tensor:
    """The 1-D SSIM window (11 taps, sigma 1.5, sum 1), as pytorch-msssim builds it."""
    coords = torch.arange(SSIM_WINDOW, dtype=torch.float32) - SSIM_WINDOW // 2
    window = torch.exp(-(coords**2) / (2 * SSIM_SIGMA**2))
    return window / window.sum()


def ssim_maps(outputs: np.ndarray, targets: np.ndarray, chunk: int = 64) -> np.ndarray:
    """Per-position SSIM of frame pairs: float32 (T, H - 10, W - 10), mean over channels.

    The same computation as :func:`ssim` (Wang et al. 2004 Eq. 13, window 11 taps and
    sigma 1.5, valid positions, data range 255), kept as a map so that a region can be
    scored: position ``(i, j)`` is the window centred on pixel ``(i + 5, j + 5)``, and
    ``ssim_maps(a, b)[t].mean() == ssim(a[t], b[t])`` (float32 rounding).

    Args:
        outputs, targets: (T, H, W[, C]) on the 0-255 scale, same shape.
        chunk: frames per batch (bounds the memory to ~``chunk`` x 10 frames of float32).
    """
    outputs, targets = np.asarray(outputs), np.asarray(targets)
    if outputs.shape != targets.shape:
        raise ValueError(f"shapes differ: {outputs.shape} vs {targets.shape}")
    if outputs.ndim == 3:
        outputs, targets = outputs[..., None], targets[..., None]
    if outputs.ndim != 4 or min(outputs.shape[1:3]) < SSIM_WINDOW:
        raise ValueError(f"expected frames (T, H, W[, C]) of at least {SSIM_WINDOW} px")
    channels = outputs.shape[-1]
    window = _gaussian_window()
    rows = window.view(1, 1, -1, 1).repeat(channels, 1, 1, 1)
    cols = window.view(1, 1, 1, -1).repeat(channels, 1, 1, 1)

    def blur(z: torch.Tensor) -> torch.Tensor:
        z = torch.nn.functional.conv2d(z, rows, groups=channels)
        return torch.nn.functional.conv2d(z, cols, groups=channels)

    c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2
    maps = []
    with torch.no_grad():
        for start in range(0, len(outputs), chunk):
            x = torch.from_numpy(np.asarray(outputs[start : start + chunk], np.float32))
            y = torch.from_numpy(np.asarray(targets[start : start + chunk], np.float32))
            x, y = x.permute(0, 3, 1, 2), y.permute(0, 3, 1, 2)
            mu_x, mu_y = blur(x), blur(y)
            var_x = blur(x * x) - mu_x**2
            var_y = blur(y * y) - mu_y**2
            cov = blur(x * y) - mu_x * mu_y
            luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
            structure = (2 * cov + c2) / (var_x + var_y + c2)
            maps.append((luminance * structure).mean(dim=1).numpy())
    return np.concatenate(maps)


def psnr_db(outputs: np.ndarray, targets: np.ndarray) -> float:
    """Peak signal-to-noise ratio (dB) of a clip: ``10 log10(255^2 / MSE)``, 0-255 scale.

    The MSE is taken over every pixel of every frame together (not a mean of per-frame
    PSNRs, which is infinite as soon as one frame is unchanged); ``inf`` when identical.
    """
    error = mse(outputs, targets)
    return float("inf") if error == 0 else float(10.0 * np.log10(255.0**2 / error))


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
