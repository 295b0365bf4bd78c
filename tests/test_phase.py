"""Complex steerable pyramid and phase-based magnification (Wadhwa et al. 2013)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import motionmag as mm
from motionmag.eval.displacement import measure_shift
from motionmag.magnify.phase import wrap_phase
from motionmag.representations.steerable import SteerablePyramid
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift, vibrating_frames


@pytest.fixture(scope="module")
def texture() -> np.ndarray:
    return smooth_texture(load_texture("astronaut"), (192, 256), sigma_px=1.5)


@pytest.mark.parametrize(
    ("h", "w", "kind"),
    [(64, 64, "octave"), (97, 131, "octave"), (96, 128, "half-octave"), (80, 96, "quarter-octave")],
)
def test_pyramid_reconstructs_exactly(h, w, kind):
    pyramid = SteerablePyramid(h, w, kind)
    x = torch.rand(2, 1, h, w, generator=torch.Generator().manual_seed(0))
    highpass, bands, lowpass = pyramid.decompose(x)
    assert torch.allclose(pyramid.reconstruct(highpass, bands, lowpass), x, atol=2e-6)
    # the change of the bands alone maps to the change of the image
    doubled = [2 * b for b in bands]
    change = pyramid.reconstruct_change(bands)
    assert torch.allclose(pyramid.reconstruct(highpass, doubled, lowpass), x + change, atol=4e-6)


def test_pyramid_matches_plenoptic_coefficient_by_coefficient():
    plenoptic = pytest.importorskip("plenoptic")
    image = load_texture("camera")[:128, :192, 0].astype(np.float32) / 255
    x = torch.from_numpy(image)[None, None]
    reference = plenoptic.process.SteerablePyramidFreq(
        (128, 192), height=4, order=3, is_complex=True
    )(x)
    highpass, bands, lowpass = SteerablePyramid(128, 192, "octave", scales=4).decompose(x)
    assert torch.allclose(highpass, reference["residual_highpass"], atol=1e-5)
    for i, band in enumerate(bands):
        scale = reference[i].abs().max()
        assert (band - reference[i]).abs().max() < 1e-5 * scale
    assert (lowpass - reference["residual_lowpass"]).abs().max() < 1e-5 * lowpass.abs().max()


def test_band_phase_moves_with_a_translation():
    """A grating moved by d shifts its band's phase by omega d (the method's premise)."""
    h, w, wavelength = 64, 96, 12.0
    xx = np.arange(w)[None, :].repeat(h, 0)
    pyramid = SteerablePyramid(h, w, "octave")
    shift = 0.3
    a = torch.tensor(np.cos(2 * np.pi * xx / wavelength), dtype=torch.float32)[None, None]
    b = torch.tensor(np.cos(2 * np.pi * (xx - shift) / wavelength), dtype=torch.float32)[None, None]
    bands_a, bands_b = pyramid.decompose(a)[1], pyramid.decompose(b)[1]
    strongest = max(range(len(bands_a)), key=lambda i: bands_a[i].abs().max().item())
    ca, cb = bands_a[strongest][0, 0, 0], bands_b[strongest][0, 0, 0]  # horizontal orientation
    bh, bw = ca.shape
    dphi = torch.angle(cb * ca.conj())[bh // 2 - 2 : bh // 2 + 2, bw // 2 - 2 : bw // 2 + 2]
    assert dphi.abs().mean().item() == pytest.approx(2 * np.pi * shift / wavelength, rel=0.02)


def test_wrap_phase():
    x = torch.tensor([0.0, 3.0, 3.5, -3.5, 7.0, -np.pi])
    wrapped = wrap_phase(x)
    assert torch.all(wrapped > -np.pi - 1e-6) and torch.all(wrapped <= np.pi + 1e-6)
    assert torch.allclose(torch.cos(wrapped), torch.cos(x), atol=1e-6)


@pytest.mark.parametrize(("alpha", "shift_px"), [(10, 0.05), (10, 0.2), (20, 0.1)])
def test_static_mode_translates_by_alpha_times_the_input(texture, alpha, shift_px):
    frames = np.stack(
        [quantize(texture), quantize(subpixel_shift(texture, shift_px, 0.5 * shift_px))]
    )
    out = mm.magnify_frames(frames, method="phase", alpha=alpha, mode="static")
    dx, dy = measure_shift(out[0], out[1])
    # octave bands: a broadband texture comes out at 0.87-0.92 alpha (see phase.py)
    assert dx == pytest.approx(alpha * shift_px, rel=0.12)
    assert dy == pytest.approx(alpha * 0.5 * shift_px, rel=0.15)
    half = mm.magnify_frames(
        frames, method="phase", alpha=alpha, mode="static", pyramid="half-octave"
    )
    dx, dy = measure_shift(half[0], half[1])
    assert dx == pytest.approx(alpha * shift_px, rel=0.10)
    assert dy == pytest.approx(alpha * 0.5 * shift_px, rel=0.10)


@pytest.mark.parametrize("filter_kind", ["butter", "fir"])
def test_temporal_mode_magnifies_an_in_band_vibration(texture, filter_kind):
    clip, truth = vibrating_frames(texture, 0.1, 3.0, 30.0, frames=80)
    out = mm.magnify_frames(
        quantize(clip), fps=30.0, method="phase", alpha=10, band=(2.0, 4.0), filter=filter_kind
    )
    still = quantize(texture)
    measured = np.array([measure_shift(still, frame)[0] for frame in out[40:]])
    assert np.ptp(measured) / np.ptp(truth[40:]) == pytest.approx(10, rel=0.10)


def test_phase_handles_large_magnified_motion_better_than_linear(texture):
    """Where alpha x motion reaches several px, linear falls away and phase holds."""
    shift_px, alpha = 0.25, 20  # 5 px magnified
    frames = np.stack([quantize(texture), quantize(subpixel_shift(texture, shift_px, 0.0))])
    phase = mm.magnify_frames(frames, method="phase", alpha=alpha, mode="static")
    linear = mm.magnify_frames(frames, method="linear", alpha=alpha, mode="static")
    phase_ratio = measure_shift(phase[0], phase[1])[0] / (alpha * shift_px)
    linear_ratio = measure_shift(linear[0], linear[1])[0] / (alpha * shift_px)
    assert phase_ratio > 0.8
    assert phase_ratio > linear_ratio + 0.1


def test_still_noisy_clip_gains_no_motion(texture):
    rng = np.random.default_rng(3)
    base = quantize(texture)
    noisy = np.clip(base[None].astype(int) + rng.integers(-2, 3, (30, *base.shape)), 0, 255)
    out = mm.magnify_frames(noisy.astype(np.uint8), fps=30.0, method="phase", alpha=20, band=(2, 4))
    shifts = np.array([measure_shift(base, frame) for frame in out])
    assert np.abs(shifts).max() < 0.05


def test_alpha_one_and_chroma_kept(texture):
    frames = np.stack([quantize(texture), quantize(subpixel_shift(texture, 0.3, 0.1))])
    out = mm.magnify_frames(frames, method="phase", alpha=1.0, mode="static")
    assert np.abs(out.astype(int) - frames).max() <= 1
    # a luma-only change adds the same amount to R, G and B
    out = mm.magnify_frames(frames, method="phase", alpha=5.0, mode="static")
    change = out[1].astype(float) - frames[1].astype(float)
    assert np.abs(change[..., 0] - change[..., 1]).mean() < 0.6


def test_acceleration_magnifies_the_oscillation_and_not_the_drift(texture):
    fps, frames_n, alpha = 30.0, 90, 10
    t = np.arange(frames_n) / fps
    drift = 0.3 * np.arange(frames_n)  # constant velocity: 9 px/s
    oscillation = 0.05 * np.sin(2 * np.pi * 3.0 * t)
    frames = quantize(np.stack([subpixel_shift(texture, d, 0.0) for d in drift + oscillation]))
    out = mm.magnify_frames(frames, fps=fps, method="acceleration", alpha=alpha, band=(2.0, 4.5))
    added = np.array([measure_shift(frames[i], out[i])[0] for i in range(frames_n)])
    steady = slice(20, 70)
    basis = np.stack([np.sin(2 * np.pi * 3 * t), np.cos(2 * np.pi * 3 * t), np.ones_like(t), t], 1)
    coef, *_ = np.linalg.lstsq(basis[steady], added[steady], rcond=None)
    # output - input: (alpha - 1) x the oscillation, and no extra velocity
    assert np.hypot(coef[0], coef[1]) == pytest.approx((alpha - 1) * 0.05, rel=0.15)
    assert abs(coef[3]) < 0.05 * 9.0  # px/s, against the 9 px/s drift
    # static phase magnification, by contrast, magnifies the drift itself
    static = mm.magnify_frames(frames[:4], method="phase", alpha=2, mode="static")
    assert measure_shift(frames[3], static[3])[0] == pytest.approx(0.9, rel=0.2)


@pytest.mark.parametrize("method", ["phase", "riesz"])
def test_dynamic_mode_magnifies_the_change_from_the_previous_frame(texture, method):
    step_px, alpha = 0.05, 10
    frames = np.stack([quantize(subpixel_shift(texture, i * step_px, 0.0)) for i in range(4)])
    out = mm.magnify_frames(frames, method=method, alpha=alpha, mode="dynamic")
    still = quantize(texture)
    for i in range(1, 4):  # position = current + (alpha - 1) x (current - previous)
        expected = i * step_px + (alpha - 1) * step_px
        assert measure_shift(still, out[i])[0] == pytest.approx(expected, rel=0.15)


def test_attenuate_other_removes_motion_outside_the_band(texture):
    fps, frames_n, alpha = 30.0, 90, 5
    t = np.arange(frames_n) / fps
    vibration = 0.1 * np.sin(2 * np.pi * 3.0 * t)
    drift = 0.8 * np.sin(2 * np.pi * 0.25 * t)  # slow, out of band
    clip = quantize(np.stack([subpixel_shift(texture, d, 0.0) for d in vibration + drift]))
    still = quantize(texture)
    steady = slice(30, 60)
    for attenuate in (False, True):
        out = mm.magnify_frames(
            clip, fps=fps, method="phase", alpha=alpha, band=(2.0, 4.0), filter="fir",
            attenuate_other=attenuate,
        )  # fmt: skip
        measured = np.array([measure_shift(still, frame)[0] for frame in out[steady]])
        expected = alpha * vibration[steady] + (0.0 if attenuate else drift[steady])
        assert np.abs(measured - expected).max() < 0.15 * np.ptp(alpha * vibration)


def test_the_real_arithmetic_phase_step_and_rotation_equal_the_complex_forms():
    """phase_step / rotation_change (the fast forms) against angle(c conj(p)) and
    exp(i r) - 1, including angles across +-pi and tiny rotations."""
    import torch

    from motionmag.magnify.phase import phase_step, rotation_change

    generator = torch.Generator().manual_seed(0)
    current = torch.randn(1000, dtype=torch.complex64, generator=generator)
    previous = torch.randn(1000, dtype=torch.complex64, generator=generator)
    expected = torch.angle(current * previous.conj())
    difference = torch.remainder(phase_step(current, previous) - expected + torch.pi, 2 * torch.pi)
    assert (difference - torch.pi).abs().max() < 1e-5
    rotation = torch.cat([torch.linspace(-4, 4, 999), torch.tensor([1e-4])])
    exact = torch.exp(1j * rotation.double()) - 1
    assert (rotation_change(rotation).cdouble() - exact).abs().max() < 1e-6
