"""The sigma-theta Net of Singh 2024 (thesis Ch. 6): learnable directional scale-space filters.

What matters (../shared/specs/THESIS.md s.6; the thesis gives equations and widths but no
layer diagram, so every [choice] below is ours, the configuration THESIS.md suggests):

- **Two frames in, the magnified frame out** (Oh et al.'s dynamic mode, THESIS.md s.2.1):
  ``forward(frame_a, frame_b, alpha)`` with ``frame_a = I_t1`` (the previous or reference
  frame) and ``frame_b = I_t2`` (the frame to magnify), RGB in [0, 1] (mapped to
  [-1, 1] inside), alpha the total factor (output motion = alpha x the motion from a to
  b). No encoder: the motion cue is the phase and magnitude of steered gradients.
- **Manipulator** (Eqs. 6.4-6.9), at two resolutions [choice: full and 1/2; the thesis says
  "several"], each with its own parameters:

  1. scale space (Eq. 6.6): ``I^sigma = W_0 I + sum_{i=1..3} W_i (I * G_{m_i})``, depthwise
     Gaussians of sides m_i = 3, 5, 7 with learnable standard deviations (init 0.5, 1.0,
     1.5 px, clamped above 0.1), W = softmax of 4 learnable weights; on RGB [choice];
  2. Sobel basis gradients ``g^0``, ``g^90`` of I^sigma, steered to 9 learnable directions
     theta_i (Eq. 6.5; init ``i pi / 9``): ``a_i = g^0 cos theta_i``, ``b_i = g^90 sin
     theta_i``, magnitude ``R_i = sqrt(a_i^2 + b_i^2 + eps)``, phase ``phi_i = atan2(b_i,
     a_i)`` [THESIS.md's reading: then ``R cos phi + R sin phi = a + b``, the steered
     gradient, so Eq. 6.9 inverts the representation when nothing changes];
  3. Eqs. 6.7-6.8, all 9 directions x 3 colours as 27 channels: ``phi_m = phi_2 +
     r_phi((alpha - 1) wrap(phi_2 - phi_1), phi_2)`` and the same for R with ``r_R``, where
     ``r`` is a depthwise-separable block on ``concat(change, current)`` (54 -> 27 -> 27
     channels, ELU between; one per stream, shared by the directions). [choice] ``alpha - 1``,
     not the thesis's ``alpha``: the base is frame t2, so a total factor alpha adds
     ``alpha - 1`` times the motion (as Oh's manipulator in ``nets/oh2018.py``); phase
     differences are wrapped to (-pi, pi] before they are scaled;
  4. Eq. 6.9 per direction, then the softmax-weighted sum over directions (W^theta, 9
     learnable weights): ``M = sum_i W^theta_i R_m,i (cos phi_m,i + sin phi_m,i)``, 3
     channels.

- **Decoder** (Eq. 6.10, Fig. 6.1 d-e): ``M + I_t2`` is decoded by MSCC blocks. An MSCC
  block concatenates a fixed image z with its input, ``f~ = ELU(conv3x3(concat(f, z)))``
  (c channels), then three branches compress to ``c / 2^i`` channels (conv3x3 + ELU) and
  expand back with a conv3x3 of dilation ``2^i`` (i = 1, 2, 3), fused by softmax weights:
  ``f = W_0 f~ + sum_i W_i branch_i(f~)``. c = 12 at full resolution, 24 at 1/2; c/8 = 1.5
  is rounded up to 2 [choice]. Layout [THESIS.md's suggestion]: full res ``conv3x3(M_1 +
  I_t2) -> 12``, 5 MSCC(12) with z = I_t2; half res ``conv3x3/s2 -> 24`` plus a conv3x3 of
  ``M_1/2 + I_t2 down`` [choice: how the half-resolution manipulator joins], 3 MSCC(24)
  with z = I_t2 down; fuse: nearest up x2, conv3x3 24 -> 12 + ELU, an MSCC(12) over
  ``concat(full, up)`` (24 channels in), conv3x3 12 -> 3.
- **Output** [choice]: the thesis ends with tanh. We add the last convolution's output to
  ``I_t2`` instead (initialised to zero, so an untrained net returns frame t2) and clip to
  [-1, 1] when decoding, as ``nets/flowmag.py``'s residual head: on a CPU budget the net
  then learns only the change. Convolutions have biases (the thesis does not say).
- **Size** (tests/test_sigma_theta.py; torch.utils.flop_counter, 2 FLOPs per
  multiply-add; THESIS.md's targets 0.085 M and 48.8 GFLOPs at 720x720): see
  :data:`SIZE_NOTE`. Any frame size: reflect-padded to an even size of at least 18 px
  and cropped back.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .pair import PairNetwork, factor_like

#: number of steered directions theta_i (Sec. 6.1)
DIRECTIONS = 9
#: sides of the scale-space Gaussians m_i = 2 i + 1 (Eq. 6.6)
GAUSSIAN_SIDES = (3, 5, 7)
#: initial standard deviations of those Gaussians (px) [THESIS.md suggestion]
GAUSSIAN_SIGMA_INIT = (0.5, 1.0, 1.5)
#: smallest standard deviation a learned Gaussian may take (px)
MIN_SIGMA_PX = 0.1
#: added under the square root of the magnitude (and guards atan2's gradient at 0)
MAGNITUDE_EPS = 1e-6
#: added to ``a^2 + b^2`` in the phase's gradient only (see :class:`_DampedAtan2`)
PHASE_GRAD_EPS = 1e-4
#: frames are padded to a multiple of this (one stride-2 level)
SIZE_MULTIPLE = 2
#: frames are padded up to this side (px): the dilation-8 convolutions at 1/2 resolution
#: reflect 8 px, which needs at least 9 px there
MIN_SIZE_PX = 18
#: the measured size, written down where the docstring cannot compute it
SIZE_NOTE = "see tests/test_sigma_theta.py::test_size_is_near_the_thesis"

_SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))


def wrap_phase(angle: torch.Tensor) -> torch.Tensor:
    """Angles (radians) wrapped to (-pi, pi]: ``atan2(sin x, cos x)``."""
    return torch.atan2(torch.sin(angle), torch.cos(angle))


class _DampedAtan2(torch.autograd.Function):
    """``atan2(b, a)`` whose gradient is ``(a db - b da) / (a^2 + b^2 + eps)``.

    The exact gradient is 1 / magnitude: unbounded where a steered gradient vanishes
    (flat regions, and every pixel of a direction orthogonal to the local edge). The
    damping (ours) keeps training finite; the value is exact.
    """

    @staticmethod
    def forward(ctx, b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(b, a)
        return torch.atan2(b, a)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, a = ctx.saved_tensors
        scale = grad / (a * a + b * b + PHASE_GRAD_EPS)
        return scale * a, -scale * b


def damped_atan2(b: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """``atan2(b, a)`` (radians) with the damped gradient of :class:`_DampedAtan2`."""
    return _DampedAtan2.apply(b, a)


def _gain(alpha: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor | float:
    """``alpha - 1`` as a float or an (N, 1, 1, 1) / (N, 1, H, W) tensor on ``like``'s device."""
    return factor_like(alpha, like) - 1.0


class ScaleSpace(nn.Module):
    """Eq. 6.6: ``W_0 I + sum_i W_i (I * G_{m_i})``, learnable sigmas and softmax weights.

    Depthwise on the 3 colour channels; reflect padding.
    """

    def __init__(self) -> None:
        super().__init__()
        self.log_sigma = nn.Parameter(torch.tensor([math.log(s) for s in GAUSSIAN_SIGMA_INIT]))
        self.weights = nn.Parameter(torch.zeros(len(GAUSSIAN_SIDES) + 1))

    def sigmas(self) -> torch.Tensor:
        """The three standard deviations (px), at least :data:`MIN_SIGMA_PX`."""
        return self.log_sigma.exp().clamp_min(MIN_SIGMA_PX)

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        weights = torch.softmax(self.weights, dim=0)
        out = weights[0] * image
        channels = image.shape[1]
        for i, (side, sigma) in enumerate(zip(GAUSSIAN_SIDES, self.sigmas(), strict=True)):
            x = torch.arange(side, dtype=image.dtype, device=image.device) - side // 2
            g = torch.exp(-0.5 * (x / sigma) ** 2)
            g = g / g.sum()
            pad = side // 2
            blurred = F.pad(image, (pad, pad, pad, pad), mode="reflect")
            blurred = F.conv2d(blurred, g.view(1, 1, 1, side).expand(channels, 1, 1, side),
                               groups=channels)  # fmt: skip
            blurred = F.conv2d(blurred, g.view(1, 1, side, 1).expand(channels, 1, side, 1),
                               groups=channels)  # fmt: skip
            out = out + weights[i + 1] * blurred
        return out


class SteeredGradients(nn.Module):
    """Sobel gradients steered to :data:`DIRECTIONS` learnable angles (Eqs. 6.4-6.5).

    Returns ``(a, b)``, each (N, 3 x 9, H, W) with channel ``9 c + i`` = colour c,
    direction i: ``a = g^0 cos theta_i``, ``b = g^90 sin theta_i``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.arange(DIRECTIONS, dtype=torch.float32) * math.pi / 9)
        sobel_x = torch.tensor(_SOBEL_X) / 8.0  # unit gain on a unit ramp
        self.register_buffer("sobel", torch.stack([sobel_x, sobel_x.t()])[:, None], False)

    def forward(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        n, c, h, w = image.shape
        padded = F.pad(image.reshape(n * c, 1, h, w), (1, 1, 1, 1), mode="reflect")
        grads = F.conv2d(padded, self.sobel.to(image.dtype)).reshape(n, c, 2, 1, h, w)
        cos = torch.cos(self.theta).view(1, 1, DIRECTIONS, 1, 1)
        sin = torch.sin(self.theta).view(1, 1, DIRECTIONS, 1, 1)
        a = (grads[:, :, 0] * cos).reshape(n, c * DIRECTIONS, h, w)
        b = (grads[:, :, 1] * sin).reshape(n, c * DIRECTIONS, h, w)
        return a, b


class SeparableBlock(nn.Sequential):
    """``r`` of Eqs. 6.7-6.8: dw3x3 -> pw1x1 -> ELU -> dw3x3 -> pw1x1 (depthwise-separable)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__(
            nn.Conv2d(c_in, c_in, 3, padding=1, padding_mode="reflect", groups=c_in),
            nn.Conv2d(c_in, c_out, 1),
            nn.ELU(),
            nn.Conv2d(c_out, c_out, 3, padding=1, padding_mode="reflect", groups=c_out),
            nn.Conv2d(c_out, c_out, 1),
        )


class DirectionalManipulator(nn.Module):
    """One resolution's motion manipulator, Eqs. 6.4-6.9 (see the module docstring).

    ``forward(frame_1, frame_2, alpha)`` -> M (N, 3, H, W), the direction-weighted
    steered gradient of frame 2 with its phase and magnitude changes magnified.
    """

    def __init__(self) -> None:
        super().__init__()
        channels = 3 * DIRECTIONS
        self.scale_space = ScaleSpace()
        self.gradients = SteeredGradients()
        self.r_phase = SeparableBlock(2 * channels, channels)
        self.r_magnitude = SeparableBlock(2 * channels, channels)
        self.direction_weights = nn.Parameter(torch.zeros(DIRECTIONS))

    def polar(self, image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Phase and magnitude (N, 27, H, W) of the steered gradients of ``image``."""
        a, b = self.gradients(self.scale_space(image))
        magnitude = torch.sqrt(a * a + b * b + MAGNITUDE_EPS)
        phase = damped_atan2(b, a)
        return phase, magnitude

    def forward(
        self, frame_1: torch.Tensor, frame_2: torch.Tensor, alpha: torch.Tensor | float
    ) -> torch.Tensor:
        n = frame_1.shape[0]
        phase, magnitude = self.polar(torch.cat([frame_1, frame_2]))
        phase_1, phase_2 = phase.split(n)
        magnitude_1, magnitude_2 = magnitude.split(n)
        gain = _gain(alpha, frame_2)
        phase_change = gain * wrap_phase(phase_2 - phase_1)
        phase_m = phase_2 + self.r_phase(torch.cat([phase_change, phase_2], dim=1))
        magnitude_change = gain * (magnitude_2 - magnitude_1)
        magnitude_m = magnitude_2 + self.r_magnitude(
            torch.cat([magnitude_change, magnitude_2], dim=1)
        )
        per_direction = magnitude_m * (torch.cos(phase_m) + torch.sin(phase_m))
        h, w = per_direction.shape[-2:]
        per_direction = per_direction.view(n, 3, DIRECTIONS, h, w)
        weights = torch.softmax(self.direction_weights, dim=0).view(1, 1, DIRECTIONS, 1, 1)
        return (per_direction * weights).sum(dim=2)


def _conv(c_in: int, c_out: int, stride: int = 1, dilation: int = 1) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, stride=stride, padding=dilation, dilation=dilation,
                     padding_mode="reflect")  # fmt: skip


def _filters_of(manipulator: DirectionalManipulator) -> dict:
    """One manipulator's learned sigmas, scale weights, directions and their weights."""
    space, steer = manipulator.scale_space, manipulator.gradients
    return {
        "sigma_px": [round(float(v), 4) for v in space.sigmas()],
        "scale_weights": [round(float(v), 4) for v in torch.softmax(space.weights, 0)],
        "theta_deg": [round(math.degrees(float(v)) % 180.0, 2) % 180.0 for v in steer.theta],
        "direction_weights": [
            round(float(v), 4) for v in torch.softmax(manipulator.direction_weights, 0)
        ],
    }


class MSCC(nn.Module):
    """Multi-scale compressed-convolution block, Eq. 6.10 (see the module docstring).

    Args:
        c_in: channels of the running features f.
        c: the block's width.
        c_fixed: channels of the fixed image z concatenated with f (3: a frame).
    """

    def __init__(self, c_in: int, c: int, c_fixed: int = 3) -> None:
        super().__init__()
        self.entry = _conv(c_in + c_fixed, c)
        self.branches = nn.ModuleList()
        for i in (1, 2, 3):
            squeezed = max(2, math.ceil(c / 2**i))  # c/8 = 1.5 at c = 12 -> 2
            self.branches.append(
                nn.Sequential(_conv(c, squeezed), nn.ELU(), _conv(squeezed, c, dilation=2**i))
            )
        self.weights = nn.Parameter(torch.zeros(4))

    def forward(self, features: torch.Tensor, fixed: torch.Tensor) -> torch.Tensor:
        f = F.elu(self.entry(torch.cat([features, fixed], dim=1)))
        weights = torch.softmax(self.weights, dim=0)
        out = weights[0] * f
        for weight, branch in zip(weights[1:], self.branches, strict=True):
            out = out + weight * branch(f)
        return F.elu(out)


class SigmaThetaNet(PairNetwork):
    """sigma-theta Net (Singh 2024, Ch. 6); see the module docstring for every layer.

    Args:
        channels: decoder width c at full resolution (12; 2c at 1/2 resolution).
        full_blocks: MSCC blocks at full resolution (5).
        half_blocks: MSCC blocks at 1/2 resolution (3).
    """

    size_multiple = SIZE_MULTIPLE
    min_size_px = MIN_SIZE_PX

    def __init__(self, channels: int = 12, full_blocks: int = 5, half_blocks: int = 3) -> None:
        super().__init__()
        self.config = {
            "channels": int(channels),
            "full_blocks": int(full_blocks),
            "half_blocks": int(half_blocks),
        }
        c = int(channels)
        if c < 2 or full_blocks < 1 or half_blocks < 1:
            raise ValueError(f"invalid SigmaThetaNet configuration {self.config}")
        self.manipulator_full = DirectionalManipulator()
        self.manipulator_half = DirectionalManipulator()
        self.entry_full = _conv(3, c)
        self.blocks_full = nn.ModuleList(MSCC(c, c) for _ in range(full_blocks))
        self.down = _conv(c, 2 * c, stride=2)
        self.entry_half = _conv(3, 2 * c)
        self.blocks_half = nn.ModuleList(MSCC(2 * c, 2 * c) for _ in range(half_blocks))
        self.up = _conv(2 * c, c)
        self.fuse = MSCC(2 * c, c)
        self.head = _conv(c, 3)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def learned_filters(self) -> dict:
        """What the filters learned, per resolution: the scale space's sigmas (px) and
        softmax weights (W_0 first, Eq. 6.6), the directions theta_i (degrees, mod 180)
        and their softmax weights W^theta (Eq. 6.7)."""
        out = {}
        pairs = (("full", self.manipulator_full), ("half", self.manipulator_half))
        with torch.no_grad():
            for name, manipulator in pairs:
                out[name] = _filters_of(manipulator)
        return out

    def magnified(
        self, frame_a: torch.Tensor, frame_b: torch.Tensor, alpha: torch.Tensor | float
    ) -> torch.Tensor:
        """Frames (N, 3, H, W) in [0, 1], H and W even -> frame b magnified, [-1, 1] units,
        not clipped."""
        a = frame_a * 2.0 - 1.0
        b = frame_b * 2.0 - 1.0
        a_half, b_half = F.avg_pool2d(torch.cat([a, b]), 2).split(a.shape[0])
        m_full = self.manipulator_full(a, b, alpha)
        m_half = self.manipulator_half(a_half, b_half, alpha)
        x = F.elu(self.entry_full(m_full + b))
        for block in self.blocks_full:
            x = block(x, b)
        y = F.elu(self.down(x) + self.entry_half(m_half + b_half))
        for block in self.blocks_half:
            y = block(y, b_half)
        up = F.elu(self.up(F.interpolate(y, scale_factor=2.0, mode="nearest")))
        fused = self.fuse(torch.cat([x, up], dim=1), b)
        return b + self.head(fused)
