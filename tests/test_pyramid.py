"""Pyramids: exact reconstruction at any size, and the OpenCV and torch back ends agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from motionmag.representations.color import rgb_to_yiq, yiq_to_rgb
from motionmag.representations.pyramid import (
    collapse_laplacian,
    laplacian_pyramid,
    max_levels,
    pyr_down,
    pyr_up,
)


@pytest.mark.parametrize("shape", [(1, 3, 97, 161), (2, 3, 64, 64), (1, 1, 33, 8)])
def test_laplacian_pyramid_reconstructs_exactly(shape):
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0))
    pyramid = laplacian_pyramid(x, max_levels(*shape[-2:], smallest_px=4))
    assert torch.allclose(collapse_laplacian(pyramid), x, atol=1e-6)


@pytest.mark.parametrize(("h", "w"), [(9, 13), (10, 14), (97, 161), (3, 5), (7, 2), (2, 9), (2, 2)])
def test_opencv_and_torch_back_ends_agree(h, w):
    """Also where a side is 2 samples, which OpenCV's reflect-101 border folds on itself:
    torch replicated both sides then, up to 0.73 off (a coarse level, on CUDA). (A side
    of 1 sample takes the torch path on both sides, so there is nothing to compare.)"""
    x = torch.rand(1, 3, h, w, generator=torch.Generator().manual_seed(1))
    torch_path = x.clone().requires_grad_(True)  # autograd forces the torch convolutions
    assert torch.allclose(pyr_down(x), pyr_down(torch_path).detach(), atol=1e-6)
    for size in ((2 * h, 2 * w), (2 * h - 1, 2 * w - 1)):
        assert torch.allclose(pyr_up(x, size), pyr_up(torch_path, size).detach(), atol=1e-6)


def test_pyr_down_keeps_a_constant_and_halves_a_ramp_slope():
    const = torch.full((1, 1, 20, 30), 0.7)
    assert torch.allclose(pyr_down(const), const[..., :10, :15])
    ramp = torch.arange(32, dtype=torch.float32).repeat(1, 1, 16, 1)
    down = pyr_down(ramp)[0, 0, 4]
    np.testing.assert_allclose(np.diff(down.numpy())[2:-2], 2.0, atol=1e-5)


def test_yiq_round_trip_and_luma_weights():
    x = torch.rand(1, 3, 5, 7)
    assert torch.allclose(yiq_to_rgb(rgb_to_yiq(x)), x, atol=1e-6)
    grey = torch.full((1, 3, 2, 2), 0.5)
    yiq = rgb_to_yiq(grey)
    assert torch.allclose(yiq[:, 0], torch.full((1, 2, 2), 0.5), atol=1e-6)
    assert torch.allclose(yiq[:, 1:], torch.zeros(1, 2, 2, 2), atol=1e-6)
