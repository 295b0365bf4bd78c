"""MD-MM (Singh 2024, Ch. 5): Fourier stage, network, size, loss, trainer, engine.

Known answers: the Fourier representation inverts exactly; a circular translation by d
changes its phase by exactly -2 pi k d / N (the layout: fftshift along H, rfft along W);
FDMM's manipulation ``phi_1 + (alpha - 1) wrap(phi_1 - phi_0)`` with the learned
residual replaced by its ideal value moves a texture by alpha x d; the thesis's size;
the identity of an untrained net; Eq. 5.8 vanishes on a still pair. Tiny on purpose
(frames <= 64 px, a few steps).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from motionmag import magnify_frames
from motionmag.errors import UsageError
from motionmag.models import create_model
from motionmag.nets.mdmm import MDMMNet, fourier_polar, inverse_fourier_polar
from motionmag.nets.sigma_theta import wrap_phase
from motionmag.synth.vibration import quantize
from motionmag.train.mdmm import MDMMD2TrainConfig, MDMMTrainConfig, task_loss
from net_helpers import assert_finite_fp32_grads, expressive, tiny_run_exported


def _periodic_texture(size: int = 32, seed: int = 0) -> torch.Tensor:
    """A smooth periodic RGB texture (1, 3, size, size) in about [-1, 1], nothing at or
    near the Nyquist frequency (so a Fourier shift of it is exact)."""
    generator = torch.Generator().manual_seed(seed)
    spectrum = torch.randn(1, 3, size, size // 2 + 1, 2, generator=generator)
    spectrum = torch.view_as_complex(spectrum)
    ky = torch.fft.fftfreq(size).abs()[:, None]
    kx = torch.fft.rfftfreq(size)[None, :]
    spectrum = spectrum * ((ky < 0.3) & (kx < 0.3))
    image = torch.fft.irfft2(spectrum, s=(size, size))
    return image / image.abs().max()


def _circular_shift(image: torch.Tensor, dx: float, dy: float) -> torch.Tensor:
    """``out(x) = image(x - d)`` on the torus (Fourier shift theorem)."""
    height, width = image.shape[-2:]
    ky = torch.fft.fftfreq(height)[:, None]
    kx = torch.fft.rfftfreq(width)[None, :]
    ramp = torch.exp(-2j * math.pi * (ky * dy + kx * dx))
    return torch.fft.irfft2(torch.fft.rfft2(image) * ramp, s=(height, width))


def test_fourier_representation_inverts():
    image = torch.rand(2, 3, 24, 40) * 2 - 1
    amplitude, phase = fourier_polar(image)
    assert amplitude.shape == (2, 3, 24, 21) and (amplitude >= 0).all()
    assert torch.allclose(inverse_fourier_polar(amplitude, phase, (24, 40)), image, atol=1e-5)


def test_inverse_gradient_is_right_where_a_log_amplitude_goes_negative():
    """expm1 of a log amplitude below 0 is a negative magnitude; torch.polar's gradient has
    the wrong sign there (training ran away), ours matches central differences."""
    generator = torch.Generator().manual_seed(0)
    amplitude = torch.rand(1, 3, 16, 9, generator=generator, dtype=torch.float64) - 0.5
    phase = torch.rand(1, 3, 16, 9, generator=generator, dtype=torch.float64) * 6 - 3
    target = torch.rand(1, 3, 16, 16, generator=generator, dtype=torch.float64)
    direction = torch.randn(amplitude.shape, generator=generator, dtype=torch.float64)

    def loss(c: torch.Tensor) -> torch.Tensor:
        image = inverse_fourier_polar(amplitude + c * direction, phase, (16, 16))
        return (image - target).square().mean()

    c = torch.zeros((), dtype=torch.float64, requires_grad=True)
    loss(c).backward()
    step = torch.tensor(1e-6, dtype=torch.float64)
    numeric = (loss(step) - loss(-step)) / (2 * step)
    assert (amplitude < 0).float().mean() > 0.3
    assert c.grad.item() == pytest.approx(numeric.item(), rel=1e-6)


def test_phase_of_a_circular_shift_is_the_linear_ramp():
    """phi(shifted) - phi = -2 pi (ky dy + kx dx), ky in fftshift order along H."""
    size, dx, dy = 32, 0.3, -0.2
    image = _periodic_texture(size)
    amplitude_0, phase_0 = fourier_polar(image)
    amplitude_1, phase_1 = fourier_polar(_circular_shift(image, dx, dy))
    ky = torch.fft.fftshift(torch.fft.fftfreq(size))[:, None]
    kx = torch.fft.rfftfreq(size)[None, :]
    expected = wrap_phase(-2 * math.pi * (ky * dy + kx * dx)).expand_as(phase_0)
    strong = amplitude_0 > 0.05  # where the phase is defined
    assert strong.sum() > 50
    assert torch.allclose(wrap_phase(phase_1 - phase_0)[strong], expected[strong], atol=1e-3)
    assert torch.allclose(amplitude_1, amplitude_0, atol=1e-5)  # a shift keeps amplitudes


def test_fourier_manipulation_moves_a_texture_by_alpha_times():
    """Eqs. 5.1-5.4: FDMM's ``phi_m = phi_1 + (alpha - 1) wrap(phi_1 - phi_0)`` (its chain
    replaced by the ideal residual) and ``A_m = A_1`` give frame 1 moved to alpha x d."""
    alpha, dx, dy = 3.0, 0.3, 0.1
    frame_0 = _periodic_texture(32, seed=3)
    frame_1 = _circular_shift(frame_0, dx, dy)
    _, phase_0 = fourier_polar(frame_0)
    amplitude_1, phase_1 = fourier_polar(frame_1)
    phase_m = phase_1 + (alpha - 1) * wrap_phase(phase_1 - phase_0)
    out = inverse_fourier_polar(amplitude_1, phase_m, (32, 32))
    truth = _circular_shift(frame_0, alpha * dx, alpha * dy)
    assert (out - truth).abs().max() < 1e-4
    assert (frame_1 - truth).abs().max() > 0.05  # the test can fail


class _PassFirst(torch.nn.Module):
    """A chain stub that returns its first input (the manipulated difference)."""

    def forward(self, x: torch.Tensor, fixed: torch.Tensor) -> torch.Tensor:
        return x


def test_the_net_s_fdmm_uses_alpha_minus_one_times_the_difference():
    """``MDMMNet.forward_parts`` itself (its chains replaced by stubs passing their input
    through): ``phi_m = phi_1 + (alpha - 1) wrap(phi_1 - phi_0)`` and ``A_m = A_1 + (alpha
    - 1)(A_1 - A_0)``, so the Fourier image of a translated texture (amplitudes equal) is
    frame 1 moved to alpha x d; per-sample alphas too."""
    dx, dy = 0.3, 0.1
    frame_0 = _periodic_texture(32, seed=3)
    frame_1 = _circular_shift(frame_0, dx, dy)
    net = MDMMNet(6)
    net.phase_chain, net.amplitude_chain = _PassFirst(), _PassFirst()
    a, b = (frame_0 + 1.0) / 2.0, (frame_1 + 1.0) / 2.0  # [0, 1] frames
    frame_0, frame_1 = a * 2.0 - 1.0, b * 2.0 - 1.0  # bit for bit what the net sees
    amplitude_0, phase_0 = fourier_polar(frame_0)
    amplitude_1, phase_1 = fourier_polar(frame_1)
    with torch.no_grad():
        for alpha in (3.0, torch.tensor([7.0])):
            gain = float(alpha) - 1.0
            parts = net.forward_parts(a, b, alpha)
            expected_phase = phase_1 + gain * wrap_phase(phase_1 - phase_0)
            expected_amplitude = amplitude_1 + gain * (amplitude_1 - amplitude_0)
            torch.testing.assert_close(parts["phase"], expected_phase, atol=1e-5, rtol=0)
            torch.testing.assert_close(parts["amplitude"], expected_amplitude, atol=1e-5, rtol=0)
            image = inverse_fourier_polar(parts["amplitude"], parts["phase"], (32, 32))
            truth = _circular_shift(frame_0, float(alpha) * dx, float(alpha) * dy)
            assert (image - truth).abs().max() < 1e-3, float(alpha)
            assert (frame_1 - truth).abs().max() > 0.05  # the check can fail


@pytest.mark.parametrize(("width", "params", "gflops"), [(18, 0.117e6, 65.4), (12, 0.053e6, 30.4)])
def test_size_is_near_the_thesis(width, params, gflops):
    """THESIS.md s.5.3: D1 0.117 M / 65.4 GFLOPs, D2 0.053 M / 30.4 at 720x720 (FFTs not
    counted, 2 x multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    net = MDMMNet(width)
    parameters = sum(p.numel() for p in net.parameters())
    assert params * 0.9 < parameters < params * 1.1
    frame = torch.rand(1, 3, 720, 720)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(frame, frame, 10.0)
    assert gflops * 1e9 * 0.9 < counter.get_total_flops() < gflops * 1e9 * 1.1


def test_untrained_net_returns_frame_b_and_every_parameter_learns():
    """The zero-initialised residual chains (ours) start at frame b, any size."""
    net = MDMMNet(6)
    a, b = torch.rand(2, 3, 21, 30), torch.rand(2, 3, 21, 30)
    assert torch.allclose(net(a, b, torch.tensor([5.0, 20.0])), b, atol=1e-5)
    expressive(net).train()
    out = net(a, b, 10.0, clip=False)
    assert out.shape == b.shape
    out.square().mean().backward()
    assert_finite_fp32_grads(net)
    assert all(p.grad.abs().sum() > 0 for p in net.parameters())


def test_alpha_per_sample_and_no_per_pixel_map():
    net = expressive(MDMMNet(6))
    a, b = torch.rand(2, 3, 16, 24), torch.rand(2, 3, 16, 24)
    with torch.no_grad():
        both = net(a, b, torch.tensor([4.0, 9.0]), clip=False)
        assert torch.allclose(both[1:], net(a[1:], b[1:], 9.0, clip=False), atol=1e-5)
        assert not torch.allclose(both[:1], net(a[:1], b[:1], 9.0, clip=False), atol=1e-3)
    with pytest.raises(ValueError, match="per-pixel"):
        net(a, b, torch.full((2, 1, 16, 24), 4.0))


def test_loss_vanishes_on_a_still_pair_and_counts_the_fourier_terms():
    """Eq. 5.8 on A = B = Y (no noise) with the untrained (identity) net: every term ~0;
    with Y moved away, the Fourier phase and amplitude terms count."""
    config = MDMMTrainConfig(noise_max=0.0, channels_last=False)
    net = MDMMNet(6)
    y = torch.rand(2, 3, 32, 32)
    batch = {"A": y, "B": y, "Y": y, "alpha": torch.tensor([5.0, 30.0])}
    total, parts = task_loss(net, batch, config, None, torch.device("cpu"))
    assert total.item() < 1e-4 and parts["phase"] < 1e-4
    moved = {**batch, "Y": torch.roll(y, 3, dims=-1) * 0.8}
    total, parts = task_loss(net, moved, config, None, torch.device("cpu"))
    assert parts["phase"] > 0.1 and parts["amplitude"] > 0.01
    expected = 10 * parts["image"] + parts["edge"] + 0.1 * parts["freq"]
    assert total.item() == pytest.approx(expected + parts["phase"] + parts["amplitude"], rel=1e-5)


def test_tiny_training_run_resumes_exports_and_magnifies(tmp_path):
    card, weights = tiny_run_exported(MDMMD2TrainConfig, tmp_path, "mdmm-d2")
    assert card["network"] == {**card["network"], "class": "motionmag.nets.mdmm:MDMMNet",
                               "config": {"width": 12}}  # fmt: skip
    assert card["training"]["phase_weight"] == 1.0
    net = create_model("mdmm-d2", weights=weights)
    assert isinstance(net, MDMMNet) and not net.training
    frames = np.stack([quantize(np.full((24, 30, 3), 100.0) + i) for i in range(3)])
    out = magnify_frames(frames, method="mdmm-d2", alpha=4, mode="dynamic",
                         weights=str(weights))  # fmt: skip
    assert out.shape == frames.shape and np.array_equal(out[0], frames[0])


def test_config_refuses_what_the_net_cannot_do():
    assert MDMMTrainConfig().width == 18 and MDMMD2TrainConfig().width == 12
    with pytest.raises(UsageError, match="multiple of 8"):
        MDMMTrainConfig(size_px=68).validate()
    with pytest.raises(UsageError, match="phase-weight"):
        MDMMTrainConfig(phase_weight=-1).validate()
    with pytest.raises(UsageError, match="width"):
        MDMMD2TrainConfig(width=1).validate()
