"""Run OpenCV's 2-D image functions on torch NCHW tensors, plane by plane.

What matters: OpenCV's SIMD filters are 10-40x faster than torch's depthwise
convolutions on the CPU, and NCHW planes are contiguous, so float32 CPU tensors that need
no gradient can go through OpenCV without a copy in. Everything else (CUDA, autograd)
stays in torch; callers choose with :func:`use_opencv`.

Threads: OpenCV's own worker pool and torch's OpenMP workers (which spin-wait between
ops) fight over the cores; on our 2-core machines that made one 640x360 ``linear`` run
swing between 6 and 240 fps (benchmarks/README.md). OpenCV therefore runs its filters
in the calling thread (``cv2.setNumThreads(0)``, set once, process-wide, on first use):
measured 238-272 fps on the same case.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import numpy as np
import torch


def use_opencv(x: torch.Tensor) -> bool:
    """True for float32 CPU tensors that need no gradient."""
    return x.device.type == "cpu" and x.dtype == torch.float32 and not x.requires_grad


@cache
def _opencv_in_calling_thread() -> None:
    import cv2

    cv2.setNumThreads(0)


def per_plane(
    x: torch.Tensor, size: tuple[int, int], fn: Callable[[np.ndarray], np.ndarray]
) -> torch.Tensor:
    """Apply an OpenCV 2-D function to every (H, W) plane of an (..., H, W) CPU tensor."""
    _opencv_in_calling_thread()
    planes = x.detach().contiguous().numpy()
    flat = planes.reshape(-1, *planes.shape[-2:])
    out = np.empty((flat.shape[0], *size), dtype=np.float32)
    for i, plane in enumerate(flat):
        out[i] = fn(plane)
    return torch.from_numpy(out.reshape(*planes.shape[:-2], *size))


def gaussian_blur(x: torch.Tensor, sigma_px: float) -> torch.Tensor:
    """Gaussian blur of every plane of real (..., H, W), sigma in px, reflect-101 borders."""
    if sigma_px <= 0:
        return x
    if use_opencv(x):
        import cv2

        return per_plane(x, tuple(x.shape[-2:]), lambda p: cv2.GaussianBlur(p, (0, 0), sigma_px))
    import torch.nn.functional as F

    radius = max(1, round(4 * sigma_px))  # as OpenCV for float images
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (t / sigma_px) ** 2)
    kernel = kernel / kernel.sum()
    shape = x.shape
    flat = x.reshape(-1, 1, *shape[-2:])
    mode = "reflect" if min(shape[-2:]) > radius else "replicate"
    flat = F.pad(flat, (radius, radius, radius, radius), mode=mode)
    flat = F.conv2d(flat, kernel.view(1, 1, 1, -1))
    flat = F.conv2d(flat, kernel.view(1, 1, -1, 1))
    return flat.reshape(shape)
