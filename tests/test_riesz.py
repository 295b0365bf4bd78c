"""Riesz-pyramid magnification (Wadhwa et al. 2014) against known answers."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import motionmag as mm
from motionmag.eval.displacement import measure_shift
from motionmag.magnify.riesz import quaternion_phase_step, riesz_transform, shift_band
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift, vibrating_frames


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return smooth_texture(load_texture("astronaut"), (192, 256), sigma_px=1.5)


def grating(shift_px: float, wavelength_px: float = 4.0, size: int = 32) -> torch.Tensor:
    xx = np.arange(size)[None, :].repeat(size, 0)
    return torch.tensor(np.cos(2 * np.pi * (xx - shift_px) / wavelength_px), dtype=torch.float32)[
        None, None
    ]


def test_quaternion_phase_of_a_moving_grating_is_omega_times_the_shift():
    # at 4 px per cycle the 3-tap Riesz filter is exact: sin(omega) = 1
    a, b = grating(0.0), grating(0.2)
    step = quaternion_phase_step((b, *riesz_transform(b)), (a, *riesz_transform(a)))
    centre = step[0, :, 8:-8, 8:-8]
    assert centre[0].abs().mean().item() == pytest.approx(2 * np.pi * 0.2 / 4.0, rel=0.01)
    assert centre[1].abs().max().item() < 1e-4  # horizontal grating: no vertical phase


def test_shifting_the_band_by_its_phase_moves_the_grating():
    a, target = grating(0.0), grating(0.5)
    r1, r2 = riesz_transform(a)
    step = quaternion_phase_step((target, *riesz_transform(target)), (a, r1, r2))
    moved = shift_band(a, r1, r2, step)
    assert torch.allclose(moved[..., 4:-4, 4:-4], target[..., 4:-4, 4:-4], atol=1e-3)


@pytest.mark.parametrize(("alpha", "shift_px"), [(10, 0.05), (10, 0.1), (20, 0.05)])
def test_static_mode_translates_by_alpha_times_the_input(texture, alpha, shift_px):
    frames = np.stack(
        [quantize(texture), quantize(subpixel_shift(texture, shift_px, 0.5 * shift_px))]
    )
    out = mm.magnify_frames(frames, method="riesz", alpha=alpha, mode="static")
    dx, dy = measure_shift(out[0], out[1])
    assert dx == pytest.approx(alpha * shift_px, rel=0.15)
    assert dy == pytest.approx(alpha * 0.5 * shift_px, rel=0.16)


def test_temporal_mode_magnifies_an_in_band_vibration(texture):
    clip, truth = vibrating_frames(texture, 0.1, 3.0, 30.0, frames=80)
    out = mm.magnify_frames(quantize(clip), fps=30.0, method="riesz", alpha=10, band=(2.0, 4.0))
    still = quantize(texture)
    measured = np.array([measure_shift(still, frame)[0] for frame in out[40:]])
    assert np.ptp(measured) / np.ptp(truth[40:]) == pytest.approx(10, rel=0.15)


def test_still_noisy_clip_gains_no_motion(texture):
    rng = np.random.default_rng(4)
    base = quantize(texture)
    noisy = np.clip(base[None].astype(int) + rng.integers(-2, 3, (30, *base.shape)), 0, 255)
    out = mm.magnify_frames(noisy.astype(np.uint8), fps=30.0, method="riesz", alpha=20, band=(2, 4))
    assert np.abs(np.array([measure_shift(base, frame) for frame in out])).max() < 0.05
