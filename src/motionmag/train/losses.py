"""Training losses and the validation metric of the learned magnifiers.

What matters:

- :func:`oh2018_loss` is the paper's objective (Oh et al. 2018, Sec. 3.2 "Loss
  function"): ``L1(Y, Yhat) + lambda (L1(V_a, V_b) + L1(V'_b, V'_Y) + L1(M_b, M'_b))``
  with lambda = 0.1; primes are the colour-perturbed frames. The image term is measured
  in the network's [-1, 1] units (twice the [0, 1] L1), as in the authors' code, so the
  balance between the image term and the regularisers is theirs.
- :func:`ha2024_loss` is Ha et al. (2024)'s objective with a substitute: Oh's loss plus,
  in place of their VGG perceptual loss (Fig. 11 row 4; no VGG weights can be had
  here, METHODS.md), an L1 on image gradients (:func:`gradient_l1`, forward finite
  differences along x and y, [-1, 1] units), weight ``edge_weight`` = 1 by default.
  Why this term: the perceptual loss recovered sharpness (LPIPS 0.211 -> 0.164 at equal
  SSIM); an L1 on gradients penalises blurred or doubled edges, where magnified motion
  shows, with no pretrained network. Why weight 1: for an error image e = Yhat - Y,
  ``mean |D e| <= 2 mean |e|`` per axis, so the term is at most twice the image term
  and cannot swamp it; it is zero exactly when Yhat - Y is constant. (Its effect on
  validation SSIM has not been measured yet: that needs two long runs.)
- :func:`ssim` is the standard SSIM (Wang et al. 2004: 11x11 Gaussian window, sigma 1.5,
  K1 = 0.01, K2 = 0.03, data range 1), averaged over channels and the valid part of the
  image (no padding): the number Ha et al. and the validation log quote.
- :func:`ssim_term` is ``1 - mean SSIM(Yhat, Y)``, an optional extra image term of both
  trainers (``ssim_weight``, 0 by default = the papers' losses; ours): it scores
  structure the way validation does, where an L1 is content with a blur.
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


def gradient_l1(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Edge loss: mean L1 of the forward differences of ``y_hat - y`` along x and y.

    (N, C, H, W) in [0, 1] units -> a scalar in [-1, 1] units (x 2, like the image term):
    ``2 (mean |e[.., :, 1:] - e[.., :, :-1]| + mean |e[.., 1:, :] - e[.., :-1, :]|) / 2``
    with e = y_hat - y. Zero for any constant offset; large for blurred or shifted edges.
    """
    error = y_hat - y
    dx = (error[..., :, 1:] - error[..., :, :-1]).abs().mean()
    dy = (error[..., 1:, :] - error[..., :-1, :]).abs().mean()
    return dx + dy


def ha2024_loss(
    y_hat: torch.Tensor,
    y: torch.Tensor,
    texture_a: torch.Tensor,
    texture_b: torch.Tensor,
    texture_b_perturbed: torch.Tensor,
    texture_y_perturbed: torch.Tensor,
    shape_b: torch.Tensor,
    shape_b_perturbed: torch.Tensor,
    reg_weight: float = 0.1,
    edge_weight: float = 1.0,
) -> tuple[torch.Tensor, dict[str, float]]:
    """:func:`oh2018_loss` + ``edge_weight`` x :func:`gradient_l1` (perceptual substitute).

    Arguments as :func:`oh2018_loss`. When the texture has no channels (Ha2024Net with
    ``texture_channels=0``: one latent, all of it manipulated) the three regularisers are
    left out: a latent that must reconstruct the frame can be neither motion- nor
    colour-invariant. Parts: those of :func:`oh2018_loss` plus ``edge``.
    """
    if texture_b.shape[1] == 0:
        total = 2.0 * l1(y_hat, y)
        parts = {"total": 0.0, "image": float(total.detach()), "texture": 0.0,
                 "texture_perturbed": 0.0, "shape": 0.0}  # fmt: skip
    else:
        total, parts = oh2018_loss(
            y_hat, y, texture_a, texture_b, texture_b_perturbed, texture_y_perturbed,
            shape_b, shape_b_perturbed, reg_weight,
        )  # fmt: skip
    edge = gradient_l1(y_hat, y)
    total = total + edge_weight * edge
    parts["edge"] = float(edge.detach())
    parts["total"] = float(total.detach())
    return total, parts


def ssim_term(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``1 - mean SSIM(y_hat, y)`` over the batch (:func:`ssim`, [0, 1] units), a scalar
    in [0, 2]; zero exactly when the frames are equal. Differentiable."""
    return 1.0 - ssim(y_hat, y).mean()


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


def frequency_l1(y_hat: torch.Tensor, y: torch.Tensor, scales: int = 3) -> torch.Tensor:
    """Multi-scale log-amplitude spectrum L1 (THESIS.md s.2.3's perceptual-loss substitute).

    ``1/S sum_{s = 1, 1/2, 1/4} mean | log(1 + |FFT2(Yhat_s)|) - log(1 + |FFT2(Y_s)|) |``
    with an orthonormal 2-D FFT per channel and ``Y_s`` area-downsampled by 2^s; images in
    [0, 1] units (N, C, H, W), scored in [-1, 1] units (x 2 before the FFT) like the
    image term. It compares how much of each spatial frequency the two images hold
    (sharpness, ringing, doubled edges) whatever the phase.
    """
    total = y_hat.new_zeros(())
    a, b = 2.0 * y_hat, 2.0 * y
    for s in range(scales):
        if s:
            a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
        spectrum_a = torch.fft.rfft2(a, norm="ortho").abs()
        spectrum_b = torch.fft.rfft2(b, norm="ortho").abs()
        total = total + (torch.log1p(spectrum_a) - torch.log1p(spectrum_b)).abs().mean()
    return total / scales
