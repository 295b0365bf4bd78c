"""Backward warping of image tensors by a dense flow field (torch, differentiable).

What matters:

- The convention of ``flow/opencv.py``: a flow ``u`` from ``a`` to ``b`` (px, ``(dx, dy)``
  per pixel of ``a``) means ``a(x) ~ b(x + u(x))``, so ``backward_warp(b, u)(x) =
  b(x + u(x))`` brings ``b`` back into ``a``'s frame. This is FlowMag's ``warp(I_t,
  F(I_0, I_t))`` (Pan et al. 2023, Eq. 4) and the warping step of every coarse-to-fine
  estimator (Bouguet 2000; Brox et al. 2004).
- Bilinear sampling (``torch.nn.functional.grid_sample``, pixel centres at integer
  coordinates, ``align_corners=True``), so the result is differentiable with respect to
  both the image and the flow. Samples that fall outside the frame take the nearest edge
  value (``border`` padding; our choice, so that a warp never darkens the border);
  :func:`in_frame_mask` says which pixels sampled real content.
- Shapes: images (N, C, H, W), flows (N, 2, H, W) with channel 0 = dx, 1 = dy, in px.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def _check_flow(flow: torch.Tensor) -> None:
    if not isinstance(flow, torch.Tensor) or flow.ndim != 4 or flow.shape[1] != 2:
        shape = tuple(flow.shape) if isinstance(flow, torch.Tensor) else type(flow).__name__
        raise ValueError(f"expected a flow of shape (N, 2, H, W), got {shape}")
    if not flow.is_floating_point():
        raise ValueError(f"expected a floating-point flow, got {flow.dtype}")


def sample_grid(flow: torch.Tensor) -> torch.Tensor:
    """Normalised ``grid_sample`` coordinates (N, H, W, 2) of the points ``x + flow(x)``.

    ``align_corners=True`` convention: -1 and +1 are the centres of the first and last
    pixels; a dimension of size 1 maps to 0.
    """
    _check_flow(flow)
    _, _, height, width = flow.shape
    ys = torch.arange(height, device=flow.device, dtype=flow.dtype).view(1, height, 1)
    xs = torch.arange(width, device=flow.device, dtype=flow.dtype).view(1, 1, width)
    x = xs + flow[:, 0]
    y = ys + flow[:, 1]
    gx = x * (2.0 / max(width - 1, 1)) - 1.0 if width > 1 else x * 0.0
    gy = y * (2.0 / max(height - 1, 1)) - 1.0 if height > 1 else y * 0.0
    return torch.stack([gx, gy], dim=-1)


def backward_warp(
    image: torch.Tensor,
    flow: torch.Tensor,
    mode: str = "bilinear",
    padding_mode: str = "border",
) -> torch.Tensor:
    """``out(x) = image(x + flow(x))``: warp ``image`` (frame b) back into frame a.

    Args:
        image: (N, C, H, W) float tensor (any range).
        flow: (N, 2, H, W) float tensor, px, ``(dx, dy)`` per output pixel, the flow from
            a to b of ``flow/opencv.py``'s convention (``a(x) ~ b(x + flow(x))``).
        mode: ``grid_sample`` interpolation, ``bilinear`` (default) or ``bicubic``.
        padding_mode: ``grid_sample`` padding for samples outside the frame.

    Returns:
        (N, C, H, W) tensor like ``image``; differentiable w.r.t. ``image`` and ``flow``.
    """
    if not isinstance(image, torch.Tensor) or image.ndim != 4:
        shape = tuple(image.shape) if isinstance(image, torch.Tensor) else type(image).__name__
        raise ValueError(f"expected an image of shape (N, C, H, W), got {shape}")
    if not image.is_floating_point():
        raise ValueError(f"expected a floating-point image, got {image.dtype}")
    _check_flow(flow)
    if flow.shape[0] != image.shape[0] or flow.shape[2:] != image.shape[2:]:
        raise ValueError(
            f"image {tuple(image.shape)} and flow {tuple(flow.shape)} differ in N, H or W"
        )
    grid = sample_grid(flow.to(image.dtype))
    return F.grid_sample(image, grid, mode=mode, padding_mode=padding_mode, align_corners=True)


def in_frame_mask(flow: torch.Tensor, margin_px: float = 0.0) -> torch.Tensor:
    """(N, 1, H, W) float mask: 1 where ``x + flow(x)`` lies inside the frame, else 0.

    Inside means within ``[margin, W - 1 - margin] x [margin, H - 1 - margin]`` (px). A
    step function: its gradient is zero, so it may weight a loss without biasing it.
    """
    _check_flow(flow)
    _, _, height, width = flow.shape
    ys = torch.arange(height, device=flow.device, dtype=flow.dtype).view(1, height, 1)
    xs = torch.arange(width, device=flow.device, dtype=flow.dtype).view(1, 1, width)
    x = (xs + flow[:, 0]).detach()
    y = (ys + flow[:, 1]).detach()
    inside = (
        (x >= margin_px)
        & (x <= width - 1 - margin_px)
        & (y >= margin_px)
        & (y <= height - 1 - margin_px)
    )
    return inside.unsqueeze(1).to(flow.dtype)
