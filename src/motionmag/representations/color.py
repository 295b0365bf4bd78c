"""RGB <-> YIQ (NTSC) colour transform, as used by Wu et al. 2012 and Wadhwa et al. 2013.

What matters: the transform is linear and exactly invertible, so a change added in YIQ
maps to RGB by the inverse matrix alone; chrominance attenuation scales I and Q.
Tensors are NCHW with 3 channels, any value range.
"""

from __future__ import annotations

import torch

#: rows: Y, I, Q from R, G, B (MATLAB rgb2ntsc)
RGB_TO_YIQ = torch.tensor(
    [
        [0.299, 0.587, 0.114],
        [0.596, -0.274, -0.322],
        [0.211, -0.523, 0.312],
    ],
    dtype=torch.float64,
)
YIQ_TO_RGB = torch.linalg.inv(RGB_TO_YIQ)


def _apply(matrix: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    m = matrix.to(dtype=x.dtype, device=x.device)
    return torch.einsum("ij,njhw->nihw", m, x)


def rgb_to_yiq(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB -> YIQ."""
    return _apply(RGB_TO_YIQ, x)


def yiq_to_rgb(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) YIQ -> RGB."""
    return _apply(YIQ_TO_RGB, x)
