"""Nearest x2 upsampling + convolutions at the low resolution (``nets/subpixel.py``).

Known answers: for random maps and weights, a 3x3 convolution of the reflect-padded
nearest-x2 upsampled map equals the pixel-shuffled low-resolution convolution with the
phase weights; a (2r+1)x(2r+1) convolution of a reflect-padded full-resolution map
equals the pixel-shuffled convolution of its reflect-padded phase form (r = 1, 2, 3, down
to the smallest maps torch's reflect padding accepts); and the fused networks of
``oh2018`` and ``ha2024`` with the sub-pixel steps compute what the networks compute, up
to the order of summation, in fp32 (and within bf16 rounding in bf16).
"""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F

from motionmag.models import create_model
from motionmag.nets.fused import fuse_for_inference, fused_ops_available
from motionmag.nets.ha2024 import Ha2024Net
from motionmag.nets.subpixel import (
    phase_conv_weight,
    phase_padding,
    phase_reflect_pad,
    subpixel_weight,
)
from net_helpers import expressive


def phase_form(full: torch.Tensor) -> torch.Tensor:
    """(N, C, 2h, 2w) -> (N, 4C, h, w), phase-major: group a x 2 + b = pixels (2i+a, 2j+b)."""
    n, c = full.shape[:2]
    unshuffled = F.pixel_unshuffle(full, 2)  # channel c x 4 + phase
    h, w = unshuffled.shape[-2:]
    return unshuffled.reshape(n, c, 4, h, w).transpose(1, 2).reshape(n, 4 * c, h, w)


def random(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("height,width", [(1, 1), (2, 3), (7, 12)])
def test_upsampled_3x3_convolution_equals_the_phase_convolution(height, width):
    low = random(2, 5, height, width)
    weight = random(6, 5, 3, 3, seed=1)
    upsampled = F.interpolate(low, scale_factor=2.0, mode="nearest")
    expected = F.conv2d(F.pad(upsampled, (1, 1, 1, 1), mode="replicate"), weight)
    if min(upsampled.shape[-2:]) > 1:  # what the networks do; torch needs pad < size
        reflected = F.conv2d(F.pad(upsampled, (1, 1, 1, 1), mode="reflect"), weight)
        torch.testing.assert_close(reflected, expected)  # reflect 1 of the upsampled = replicate
    low_padded = F.pad(low, (1, 1, 1, 1), mode="replicate")
    shuffled = F.pixel_shuffle(F.conv2d(low_padded, subpixel_weight(weight, phase_major=False)), 2)
    torch.testing.assert_close(shuffled, expected, rtol=0, atol=1e-5)
    phased = F.conv2d(low_padded, subpixel_weight(weight, phase_major=True))
    torch.testing.assert_close(phased, phase_form(expected), rtol=0, atol=1e-5)


@pytest.mark.parametrize("radius", [1, 2, 3])
@pytest.mark.parametrize("height,width", [(2, 2), (3, 5), (9, 14)])
def test_convolution_of_the_phase_form_equals_the_full_resolution_one(radius, height, width):
    if 2 * min(height, width) <= radius:
        pytest.skip("torch's reflect padding needs pad < size")
    full = random(2, 4, 2 * height, 2 * width)
    weight = random(3, 4, 2 * radius + 1, 2 * radius + 1, seed=2)
    expected = F.conv2d(F.pad(full, (radius,) * 4, mode="reflect"), weight)
    pad = phase_padding(radius)
    padded = phase_reflect_pad(phase_form(full), pad)
    # the padded phase form is the phase form of a reflect padding of 2 pad px, where torch
    # can pad that far
    if 2 * min(height, width) > 2 * pad:
        wide = F.pad(full, (2 * pad,) * 4, mode="reflect")
        torch.testing.assert_close(padded, phase_form(wide), rtol=0, atol=0)
    got = F.pixel_shuffle(F.conv2d(padded, phase_conv_weight(weight)), 2)
    assert got.shape == expected.shape
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-4)  # values ~ +-40


NETS = {
    "oh2018": lambda: create_model("oh2018", pretrained=False),
    "ha2024": lambda: Ha2024Net(decoder_blocks=3),
}


@pytest.mark.skipif(not fused_ops_available(), reason="torch without oneDNN")
@pytest.mark.parametrize("name", sorted(NETS))
@pytest.mark.parametrize("height,width", [(16, 16), (36, 52)])
def test_fused_network_with_subpixel_steps_computes_the_network(name, height, width):
    net = expressive(NETS[name]())
    fast = fuse_for_inference(net)
    kinds = {type(step).__name__ for step in fast.decoder._steps}
    assert "_SubpixelTail" in kinds  # nearest x2, 3x3 + ReLU, 7x7 at the low resolution
    frame = torch.rand(2, 3, height, width, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        texture, shape = net.encode(frame)
        expected = net.decode_raw(texture, shape)
        got = fast.decode_raw(texture, shape)
    assert expected.std() > 0.01
    torch.testing.assert_close(got, expected, rtol=0, atol=2e-6)
    if fused_ops_available(torch.bfloat16):
        half = fuse_for_inference(copy.deepcopy(net).to(torch.bfloat16))
        with torch.inference_mode():
            rounded = half.decode_raw(texture.bfloat16(), shape.bfloat16()).float()
        assert (rounded - expected).abs().max() < 0.02  # bf16 rounding of [-1, 1] outputs
