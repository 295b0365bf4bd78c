"""MD-MM of Singh 2024 (thesis Ch. 5): magnify in the Fourier domain, correct in space.

What matters (../shared/specs/THESIS.md s.5; the thesis names the blocks and equations
but not the widths or chain lengths, so every [choice] below is ours, the configuration
THESIS.md suggests):

- **Two frames in, the magnified frame out** (Oh et al.'s dynamic mode, THESIS.md s.2.1):
  ``forward(frame_a, frame_b, alpha)`` with ``frame_a = I_0`` (the previous or reference
  frame) and ``frame_b = I_1`` (the frame to magnify), RGB in [0, 1] (mapped to [-1, 1]
  inside), alpha the total factor, one per sample: the Fourier stage acts on the whole
  frame, where a per-pixel factor has no meaning.
- **Fixed Concatenate Block** ``FCB(x; z) = ELU(conv3x3(concat(x, z)))`` with f channels;
  z is always a frame-1 quantity. A chain ``FCB_xk`` ends in a 3-channel convolution
  without ELU (:class:`FCBChain`).
- **FDMM** (Eq. 5.5, Fig. 5.4): per colour channel ``rfft2(norm="ortho")``, fftshifted along
  H; log amplitude ``A = log1p|F|`` and phase ``phi = angle(F)`` [THESIS.md suggestions:
  raw DFT amplitudes span orders of magnitude]. Then
  ``phi_m = phi_1 + FCB_x6((alpha - 1) wrap(phi_1 - phi_0); phi_1)`` and
  ``A_m = A_1 + FCB_x6((alpha - 1)(A_1 - A_0); A_1)``, convolved over the frequency grid
  (neighbouring frequencies as neighbours, the thesis's design; zero padding [choice]),
  and ``I_hat_m = irfft2(expm1(A_m) exp(i phi_m))``. [choice] ``alpha - 1``, not alpha:
  the base is frame 1, so a total factor alpha adds ``alpha - 1`` times the motion
  (as ``nets/sigma_theta.py`` and Oh's manipulator).
- **RMTE** (Eq. 5.6): ``psi = sigmoid(conv3x3(I_hat_m - I_0) -> f)``,
  ``R_m = FCB_x6((alpha - 1) psi FCB_x2(I_1 - I_0; I_1); I_1)``; FCB_x2 ends at f channels
  without ELU [choice].
- **MSTG** (Eq. 5.7), coarsest scale first, scales n = 8, 4, 2, 1 by average pooling:
  ``I^n = I_hat_{m/n} + FCB_x6(prev - I_{0/n} + R_{m/n}; I_{1/n})`` with
  ``prev = I_hat_{m/8}`` at n = 8, then ``prev = convT4x4/s2(concat(I^n, I_{1/n}))``
  (3 channels). The output is ``I^1``, clipped to [-1, 1] when decoding.
- **Start as the identity** [choice]: the last convolution of every chain whose output is
  added to a frame-1 quantity (the two FDMM chains and the four MSTG chains) starts at
  zero, so an untrained net returns frame 1 (up to the FFT's rounding); on a CPU budget
  the net then learns only the change. Spatial convolutions pad by reflection [choice].
- **Size** (tests/test_mdmm.py; torch.utils.flop_counter, 2 FLOPs per multiply-add, FFTs
  not counted, as the thesis): f = 18 (D1) and f = 12 (D2) land within 10 % of the
  thesis's 0.117 M / 65.4 GFLOPs and 0.053 M / 30.4 GFLOPs at 720x720. Any frame size:
  reflect-padded to a multiple of 8 of at least :data:`MIN_SIZE_PX` and cropped back
  (the padding is part of the Fourier transform's frame).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .pair import PairNetwork
from .sigma_theta import damped_atan2, wrap_phase

#: the scales of MSTG (down-sampling rates, coarsest first; Eq. 5.7, 4 assumed)
MSTG_SCALES = (8, 4, 2, 1)
#: FCBs per chain in FDMM, RMTE's outer chain and MSTG (6 assumed, THESIS.md s.5.4)
CHAIN_LENGTH = 6
#: frames are padded to a multiple of this (the coarsest MSTG scale)
SIZE_MULTIPLE = 8
#: smallest padded side (px): 2 px at 1/8 scale, what a reflect-padded 3x3 needs
MIN_SIZE_PX = 16


def _conv(c_in: int, c_out: int, padding_mode: str) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode=padding_mode)


class FCBChain(nn.Module):
    """``FCB_xk(x; z)``: k Fixed Concatenate Blocks; z (3 channels) joins every block.

    Blocks 1..k-1: ``x <- ELU(conv3x3(concat(x, z)) -> f)``; block k: a conv3x3 to
    ``c_out`` channels, ELU only when ``last_elu``.

    Args:
        c_in: channels of x.
        width: f.
        length: k (>= 2).
        c_out: channels of the last block (3: an image-like residual).
        padding_mode: "reflect" in space, "zeros" over the Fourier grid.
        zero_last: start the last convolution at zero (the chain outputs 0).
    """

    def __init__(
        self,
        c_in: int,
        width: int,
        length: int = CHAIN_LENGTH,
        c_out: int = 3,
        padding_mode: str = "reflect",
        zero_last: bool = False,
    ) -> None:
        super().__init__()
        sizes = [c_in] + [width] * (length - 1)
        self.blocks = nn.ModuleList(_conv(c + 3, width, padding_mode) for c in sizes[:-1])
        self.last = _conv(sizes[-1] + 3, c_out, padding_mode)
        if zero_last:
            nn.init.zeros_(self.last.weight)
            nn.init.zeros_(self.last.bias)

    def forward(self, x: torch.Tensor, fixed: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = F.elu(block(torch.cat([x, fixed], dim=1)))
        return self.last(torch.cat([x, fixed], dim=1))


def fourier_polar(image: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log amplitude ``log1p|F|`` and phase (radians) of the per-channel orthonormal
    ``rfft2``, fftshifted along H: each (N, C, H, W // 2 + 1). The phase's gradient is
    damped where a coefficient vanishes (``sigma_theta.damped_atan2``)."""
    spectrum = torch.fft.fftshift(torch.fft.rfft2(image, norm="ortho"), dim=-2)
    amplitude = torch.log1p(spectrum.abs())
    phase = damped_atan2(spectrum.imag, spectrum.real)
    return amplitude, phase


def inverse_fourier_polar(
    amplitude: torch.Tensor, phase: torch.Tensor, size: tuple[int, int]
) -> torch.Tensor:
    """The image (N, C, H, W) of :func:`fourier_polar`'s ``(amplitude, phase)``."""
    # not torch.polar: it assumes a magnitude >= 0, and its gradient has the wrong sign for
    # a negative one (a log amplitude pushed below 0); training ran away there (measured)
    magnitude = torch.expm1(amplitude)
    spectrum = torch.complex(magnitude * torch.cos(phase), magnitude * torch.sin(phase))
    spectrum = torch.fft.ifftshift(spectrum, dim=-2)
    return torch.fft.irfft2(spectrum, s=size, norm="ortho")


def _gain(alpha: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor | float:
    """``alpha - 1`` as a float or an (N, 1, 1, 1) tensor on ``like``'s device."""
    if not isinstance(alpha, torch.Tensor):
        return float(alpha) - 1.0
    if alpha.numel() not in (1, like.shape[0]) or (alpha.dim() == 4 and alpha.shape[-1] > 1):
        raise ValueError(
            "MD-MM magnifies the whole frame in the Fourier domain: give one alpha per "
            "sample, not a per-pixel map"
        )
    alpha = alpha.to(device=like.device, dtype=like.dtype).reshape(-1, 1, 1, 1)
    return alpha - 1.0


class MDMMNet(PairNetwork):
    """MD-MM (Singh 2024, Ch. 5); see the module docstring for every block.

    Args:
        width: f, the FCB width (18: D1, 12: D2).
    """

    size_multiple = SIZE_MULTIPLE
    min_size_px = MIN_SIZE_PX

    def __init__(self, width: int = 18) -> None:
        super().__init__()
        f = int(width)
        if f < 2:
            raise ValueError(f"invalid MDMMNet width {width}")
        self.config = {"width": f}
        self.phase_chain = FCBChain(3, f, padding_mode="zeros", zero_last=True)
        self.amplitude_chain = FCBChain(3, f, padding_mode="zeros", zero_last=True)
        self.attention = _conv(3, f, "reflect")
        self.difference = FCBChain(3, f, length=2, c_out=f)
        self.motion = FCBChain(f, f)
        self.scales = nn.ModuleList(FCBChain(3, f, zero_last=True) for _ in MSTG_SCALES)
        self.ups = nn.ModuleList(
            nn.ConvTranspose2d(6, 3, 4, stride=2, padding=1) for _ in MSTG_SCALES[:-1]
        )

    def forward_parts(
        self, frame_a: torch.Tensor, frame_b: torch.Tensor, alpha: torch.Tensor | float
    ) -> dict[str, torch.Tensor]:
        """Frames (N, 3, H, W) in [0, 1], H and W multiples of 8 -> ``image`` (frame b
        magnified, [-1, 1] units, not clipped), and FDMM's ``amplitude`` and ``phase``
        (:func:`fourier_polar` layout, for Eq. 5.8's Fourier losses)."""
        i0 = frame_a * 2.0 - 1.0
        i1 = frame_b * 2.0 - 1.0
        n = i0.shape[0]
        gain = _gain(alpha, i1)
        amplitude, phase = fourier_polar(torch.cat([i0, i1]))
        amplitude_0, amplitude_1 = amplitude.split(n)
        phase_0, phase_1 = phase.split(n)
        phase_m = phase_1 + self.phase_chain(gain * wrap_phase(phase_1 - phase_0), phase_1)
        amplitude_m = amplitude_1 + self.amplitude_chain(
            gain * (amplitude_1 - amplitude_0), amplitude_1
        )
        fourier = inverse_fourier_polar(amplitude_m, phase_m, i1.shape[-2:])
        # RMTE, Eq. 5.6
        psi = torch.sigmoid(self.attention(fourier - i0))
        residual = self.motion(gain * psi * self.difference(i1 - i0, i1), i1)
        # MSTG, Eq. 5.7
        previous = None
        out = fourier
        for k, scale in enumerate(MSTG_SCALES):
            fourier_n, i0_n, i1_n, residual_n = (
                _pool(x, scale) for x in (fourier, i0, i1, residual)
            )
            if previous is None:
                previous = fourier_n
            out = fourier_n + self.scales[k](previous - i0_n + residual_n, i1_n)
            if k < len(self.ups):
                previous = self.ups[k](torch.cat([out, i1_n], dim=1))
        return {"image": out, "amplitude": amplitude_m, "phase": phase_m}

    def magnified(
        self, frame_a: torch.Tensor, frame_b: torch.Tensor, alpha: torch.Tensor | float
    ) -> torch.Tensor:
        """Frames (N, 3, H, W) in [0, 1], H and W multiples of 8 -> frame b magnified
        (:meth:`forward_parts`' ``image``)."""
        return self.forward_parts(frame_a, frame_b, alpha)["image"]


def _pool(image: torch.Tensor, scale: int) -> torch.Tensor:
    """``image`` averaged over ``scale`` x ``scale`` blocks (itself at scale 1)."""
    return F.avg_pool2d(image, scale) if scale > 1 else image
