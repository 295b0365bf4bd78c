"""Training losses and the validation metric of the learned magnifiers.

What matters:

- :func:`oh2018_loss` is the paper's objective (Oh et al. 2018, Sec. 3.2 "Loss
  function"): ``L1(Y, Yhat) + lambda (L1(V_a, V_b) + L1(V'_b, V'_Y) + L1(M_b, M'_b))``
  with lambda = 0.1; primes are the colour-perturbed frames. The image term is measured
  in the network's [-1, 1] units (twice the [0, 1] L1), as in the authors' code, so the
  balance between the image term and the regularisers is theirs.
- :func:`ssim` is the standard SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5,
  K1 = 0.01, K2 = 0.03, data range 1), averaged over channels and the valid part of the
  image (no padding): the number Ha et al. and the validation log quote.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def l1(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference."""
    return (a - b).abs().mean()


def oh2018_loss(
    y_hat: torch.Tensor,
    y: torch.Tensor,
    texture_a: torch.Tensor,
    texture_b: torch.Tensor,
    texture_b_perturbed: torch.Tensor,
    texture_y_perturbed: torch.Tensor,
    shape_b: torch.Tensor,
    shape_b_perturbed: torch.Tensor,
    reg_weight: float = 0.1,
) -> tuple[torch.Tensor, dict[str, float]]:
    """The loss of Oh et al. 2018 and its parts (floats, for the log).

    Args:
        y_hat: network output, [0, 1] units (N, 3, H, W), not clipped.
        y: ground-truth magnified frame, [0, 1] units.
        texture_*: texture representations V of A, B, B', Y'.
        shape_b, shape_b_perturbed: shape representations M of B and B'.
        reg_weight: lambda (0.1 in the paper).

    Returns ``(total, parts)`` with parts ``image`` (L1 in [-1, 1] units), ``texture``
    (V_a vs V_b), ``texture_perturbed`` (V'_b vs V'_Y), ``shape`` (M_b vs M'_b) and
    ``total``.
    """
    image = 2.0 * l1(y_hat, y)
    texture = l1(texture_a, texture_b)
    texture_perturbed = l1(texture_b_perturbed, texture_y_perturbed)
    shape = l1(shape_b, shape_b_perturbed)
    total = image + reg_weight * (texture + texture_perturbed + shape)
    parts = {
        "total": float(total.detach()),
        "image": float(image.detach()),
        "texture": float(texture.detach()),
        "texture_perturbed": float(texture_perturbed.detach()),
        "shape": float(shape.detach()),
    }
    return total, parts


def _gaussian_window(size: int, sigma: float, device, dtype) -> torch.Tensor:
    x = torch.arange(size, device=device, dtype=dtype) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return g / g.sum()


def ssim(
    x: torch.Tensor,
    y: torch.Tensor,
    data_range: float = 1.0,
    window: int = 11,
    sigma: float = 1.5,
) -> torch.Tensor:
    """SSIM per image of (N, C, H, W) batches (Wang et al. 2004), shape (N,).

    Gaussian window ``window`` x ``window`` with ``sigma`` px, computed on the valid
    region only, averaged over channels and pixels. Frames smaller than the window use a
    window of their smaller side.
    """
    if x.shape != y.shape:
        raise ValueError(f"ssim needs equal shapes, got {tuple(x.shape)} and {tuple(y.shape)}")
    x = x.to(torch.float64)
    y = y.to(torch.float64)
    size = min(window, x.shape[-1], x.shape[-2])
    g = _gaussian_window(size, sigma, x.device, x.dtype)
    channels = x.shape[1]
    kernel_h = g.view(1, 1, 1, size).repeat(channels, 1, 1, 1)
    kernel_v = g.view(1, 1, size, 1).repeat(channels, 1, 1, 1)

    def blur(z: torch.Tensor) -> torch.Tensor:
        z = F.conv2d(z, kernel_h, groups=channels)
        return F.conv2d(z, kernel_v, groups=channels)

    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    mu_x, mu_y = blur(x), blur(y)
    sxx = blur(x * x) - mu_x**2
    syy = blur(y * y) - mu_y**2
    sxy = blur(x * y) - mu_x * mu_y
    num = (2 * mu_x * mu_y + c1) * (2 * sxy + c2)
    den = (mu_x**2 + mu_y**2 + c1) * (sxx + syy + c2)
    return (num / den).mean(dim=(1, 2, 3)).to(torch.float32)
