"""sigma-theta Net (Singh 2024, Ch. 6): filters, manipulator, size, trainer, engine.

Known answers: the steered gradient of a ramp, Eq. 6.9's inversion of the polar
representation, a scale space that is a blur of unit gain, the spectrum loss's
blindness to circular shifts, the noise's standard deviations, the thesis's size, and
the identity at alpha = 1. Tiny on purpose (frames <= 64 px, a few steps).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from motionmag import magnify_frames
from motionmag.errors import UsageError
from motionmag.models import create_model
from motionmag.nets.sigma_theta import (
    DIRECTIONS,
    DirectionalManipulator,
    ScaleSpace,
    SigmaThetaNet,
    SteeredGradients,
    damped_atan2,
    wrap_phase,
)
from motionmag.synth.vibration import quantize
from motionmag.train.losses import frequency_l1
from motionmag.train.sigma_theta import SigmaThetaTrainConfig
from motionmag.train.thesis import add_gaussian_noise
from net_helpers import assert_finite_fp32_grads, expressive, tiny_run_exported


def _ramp(size: int = 24, gx: float = 0.03, gy: float = -0.02) -> torch.Tensor:
    y, x = torch.meshgrid(torch.arange(float(size)), torch.arange(float(size)), indexing="ij")
    return (gx * x + gy * y)[None, None].repeat(1, 3, 1, 1)


def test_steered_gradient_of_a_ramp_is_its_directional_derivative():
    """Sobel / 8 on a ramp is its slope; a + b = cos(theta) gx + sin(theta) gy (Eq. 6.5)."""
    steer = SteeredGradients()
    a, b = steer(_ramp())
    theta = steer.theta.detach()
    inner = (slice(None), slice(None), slice(2, -2), slice(2, -2))  # away from the padding
    expected = (0.03 * torch.cos(theta) - 0.02 * torch.sin(theta)).repeat(3)
    got = (a + b)[inner].mean(dim=(0, 2, 3))
    assert torch.allclose(got, expected, atol=1e-6)
    assert a.shape[1] == 3 * DIRECTIONS


def test_polar_representation_inverts_when_nothing_changes():
    """Eq. 6.9: R cos(phi) + R sin(phi) = a + b, the steered gradient itself."""
    manipulator = DirectionalManipulator()
    image = torch.rand(2, 3, 20, 20)
    phase, magnitude = manipulator.polar(image)
    a, b = manipulator.gradients(manipulator.scale_space(image))
    rebuilt = magnitude * (torch.cos(phase) + torch.sin(phase))
    assert torch.allclose(rebuilt, a + b, atol=2e-3)  # eps = 1e-6 under the square root


def test_scale_space_has_unit_gain_and_blurs():
    space = ScaleSpace()
    flat = torch.full((1, 3, 16, 16), 0.4)
    assert torch.allclose(space(flat), flat, atol=1e-6)
    impulse = torch.zeros(1, 3, 17, 17)
    impulse[..., 8, 8] = 1.0
    out = space(impulse)
    assert out.sum().item() == pytest.approx(3.0, abs=1e-5)  # energy kept away from edges
    assert 0 < out[0, 0, 8, 8] < 1 and out[0, 0, 8, 9] > 0  # spread to the neighbours
    with torch.no_grad():
        space.weights.copy_(torch.tensor([30.0, 0.0, 0.0, 0.0]))  # all weight on W_0
    assert torch.allclose(space(impulse), impulse, atol=1e-6)


def test_wrap_phase_and_damped_atan2():
    angles = torch.tensor([0.5, 3.5, -3.5, 2 * math.pi + 0.1])
    expected = torch.tensor([0.5, 3.5 - 2 * math.pi, 2 * math.pi - 3.5, 0.1])
    assert torch.allclose(wrap_phase(angles), expected, atol=1e-6)
    b = torch.tensor([1.0, 0.0, -2.0], requires_grad=True)
    a = torch.tensor([1.0, 0.0, 0.5], requires_grad=True)
    value = damped_atan2(b, a)
    assert torch.allclose(value, torch.atan2(b, a))
    value.sum().backward()
    assert torch.isfinite(a.grad).all() and torch.isfinite(b.grad).all()  # finite at (0, 0)
    # far from the origin the damping is negligible: d atan2 / db = a / (a^2 + b^2)
    assert b.grad[0].item() == pytest.approx(0.5, rel=1e-3)
    assert a.grad[0].item() == pytest.approx(-0.5, rel=1e-3)


def test_size_is_near_the_thesis():
    """THESIS.md s.6: 0.085 M parameters and 48.8 GFLOPs at 720x720 (2 x multiply-add)."""
    from torch.utils.flop_counter import FlopCounterMode

    net = SigmaThetaNet()
    parameters = sum(p.numel() for p in net.parameters())
    assert 0.085e6 * 0.9 < parameters < 0.085e6 * 1.1
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(torch.rand(1, 3, 720, 720), torch.rand(1, 3, 720, 720), 10.0)
    assert 48.8e9 * 0.9 < counter.get_total_flops() < 48.8e9 * 1.1


def test_untrained_net_returns_frame_b_and_every_parameter_learns():
    """The zero-initialised head (our residual output) starts at frame b, any size."""
    net = SigmaThetaNet()
    a, b = torch.rand(2, 3, 21, 30), torch.rand(2, 3, 21, 30)
    assert torch.equal(net(a, b, torch.tensor([5.0, 20.0])), b)
    torch.manual_seed(0)
    for p in net.head.parameters():  # as after some training
        torch.nn.init.normal_(p, std=0.05)
    out = net(a, b, 10.0, clip=False)
    assert out.shape == b.shape
    out.square().mean().backward()
    assert_finite_fp32_grads(net)
    assert all(p.grad.abs().sum() > 0 for p in net.parameters())


def test_alpha_map_reaches_both_resolutions():
    net = expressive(SigmaThetaNet())
    a, b = torch.rand(1, 3, 7, 16), torch.rand(1, 3, 7, 16)
    with torch.no_grad():
        flat = net(a, b, 6.0, clip=False)
        mapped = net(a, b, torch.full((1, 1, 7, 16), 6.0), clip=False)
    assert torch.allclose(flat, mapped, atol=1e-5)


def test_frequency_loss_is_blind_to_circular_shifts_but_not_to_blur():
    y = torch.rand(2, 3, 32, 32)
    assert frequency_l1(y, y).item() == 0.0
    shifted = torch.roll(y, shifts=(4, -8), dims=(-2, -1))  # even: also at 1/2 and 1/4 scale
    assert frequency_l1(shifted, y).item() < 1e-5
    blurred = torch.nn.functional.avg_pool2d(y, 3, stride=1, padding=1)
    assert frequency_l1(blurred, y).item() > 0.05


def test_gaussian_training_noise_has_the_drawn_sigmas():
    frames = torch.full((400, 3, 32, 32), 0.5)
    noisy = add_gaussian_noise(frames, 0.04, torch.Generator().manual_seed(0))
    std = (noisy - frames).std(dim=(1, 2, 3))
    assert std.max() < 0.02 * 1.05  # sigma <= 0.04 in [-1, 1] units = 0.02 in [0, 1]
    assert std.mean().item() == pytest.approx(0.01, rel=0.1)  # U(0, 0.02) has mean 0.01


def test_tiny_training_run_resumes_exports_and_magnifies(tmp_path):
    card, weights = tiny_run_exported(SigmaThetaTrainConfig, tmp_path, "sigma-theta")
    assert card["network"]["class"] == "motionmag.nets.sigma_theta:SigmaThetaNet"
    assert "spectrum" in card["training"]["perceptual_substitute"]
    filters = card["network"]["learned_filters"]["full"]  # 4 steps from the initial ones
    assert filters["theta_deg"] == pytest.approx([20.0 * i for i in range(9)], abs=0.1)
    assert filters["sigma_px"] == pytest.approx([0.5, 1.0, 1.5], abs=1e-2)
    net = create_model("sigma-theta", weights=weights)
    assert isinstance(net, SigmaThetaNet) and not net.training
    frames = np.stack([quantize(np.full((24, 30, 3), 100.0) + i) for i in range(3)])
    out = magnify_frames(frames, method="sigma-theta", alpha=4, mode="dynamic",
                         weights=str(weights))  # fmt: skip
    assert out.shape == frames.shape and np.array_equal(out[0], frames[0])


def test_config_refuses_what_the_net_cannot_do():
    with pytest.raises(UsageError, match="linear manipulator"):
        SigmaThetaTrainConfig(linear_manipulator=True).validate()
    with pytest.raises(UsageError, match="freq-weight"):
        SigmaThetaTrainConfig(freq_weight=-1).validate()


def test_the_manipulator_changes_phase_and_magnitude_by_alpha_minus_one_times_the_difference():
    """Eqs. 6.7-6.8 with our base frame 2 (module docstring): ``r_phi`` sees
    ``(alpha - 1) wrap(phi_2 - phi_1)`` beside ``phi_2`` and ``r_R`` sees ``(alpha - 1)(R_2 -
    R_1)`` beside ``R_2``: alpha 7 gives 3x alpha 3's change, alpha 1 none, and a per-pixel
    alpha map of 3 the same as the scalar."""
    torch.manual_seed(0)
    manipulator = DirectionalManipulator().eval()
    seen: dict[str, list[torch.Tensor]] = {"phase": [], "magnitude": []}
    for name in seen:
        block = getattr(manipulator, f"r_{name}")
        block.register_forward_pre_hook(lambda _m, inputs, name=name: seen[name].append(inputs[0]))
    frame_1, frame_2 = torch.rand(2, 3, 16, 20), torch.rand(2, 3, 16, 20)
    alphas = (3.0, 7.0, 1.0, torch.full((2, 1, 16, 20), 3.0))
    with torch.no_grad():
        phase, magnitude = manipulator.polar(torch.cat([frame_1, frame_2]))
        for alpha in alphas:
            manipulator(frame_1, frame_2, alpha)
    channels = phase.shape[1]
    differences = {
        "phase": (wrap_phase(phase[2:] - phase[:2]), phase[2:]),
        "magnitude": (magnitude[2:] - magnitude[:2], magnitude[2:]),
    }
    for name, (difference, base) in differences.items():
        at_3, at_7, at_1, per_pixel = (x[:, :channels] for x in seen[name])
        torch.testing.assert_close(at_3, 2.0 * difference)
        torch.testing.assert_close(at_7, 3.0 * at_3)
        assert at_1.abs().max() == 0 and difference.abs().mean() > 1e-3  # the check can fail
        torch.testing.assert_close(per_pixel, at_3)
        torch.testing.assert_close(seen[name][0][:, channels:], base)
