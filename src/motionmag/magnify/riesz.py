"""Riesz pyramid magnification (Wadhwa, Rubinstein, Durand, Freeman 2014): fast phase.

What matters:

- Instead of a complex steerable pyramid (many oriented complex bands, FFTs), each band
  of a real Laplacian pyramid gets an approximate Riesz transform: two 3-tap filters
  ``[0.5, 0, -0.5]`` along x and y (Sec. 3.2). ``(I, R1, R2)`` is a quaternion whose
  angle is the local phase ``phi`` and whose direction is the local orientation
  ``theta``; the method works on the quaternionic phase ``(phi cos theta, phi sin
  theta)``, which is what makes phase and orientation together well defined (Sec. 4).
- The phase is tracked as in the paper's Appendix: the quaternionic phase difference of
  consecutive frames (``q_t q_{t-1}^*``) is summed over time, so it is unwrapped in time
  and relative to the first frame; static, dynamic and temporal selection act on it.
- Magnification: amplitude-weighted smoothing (``sigma_px``, off by default; it costs
  gain where a neighbourhood holds many orientations, since the phase vectors of
  different orientations partly cancel: 0.72-0.88 alpha at ``sigma_px=2`` on photos
  where it is off gives 0.88-0.98, at alpha 2-3 on a 0.3 px shift,
  ``benchmarks/texture_gain.py``; the share falls as alpha grows, more than phase's),
  times ``alpha - 1``, then each band is replaced by the real part of
  ``exp(phase quaternion) x (I + i R1 + j R2)``:
  ``cos|p| I - (p1/|p|) sin|p| R1 - (p2/|p|) sin|p| R2`` (Appendix A). Luma only, chroma
  kept; the low-pass residual gets the first-order gain (``amplify_lowpass``, our
  choice, as for ``phase``); the output is the input plus the collapsed band changes.
- Everything is small separable filters on a Laplacian pyramid (OpenCV on the CPU), so it
  is several times faster than the steerable pyramid: the method for live use.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..representations.pyramid import collapse_laplacian, laplacian_pyramid
from ..temporal import Rep
from .base import EulerianMethod
from .config import check_alpha, check_option_at_most, check_positive_options, pyramid_levels
from .phase import MAX_SIGMA_PX, amplitude_weighted_blur, luma


@dataclass
class RieszConfig:
    """Options of the ``riesz`` method (Wadhwa et al. 2014)."""

    levels: int | None = None  # Laplacian band levels (default: to an 8-15 px residual)
    sigma_px: float = 0.0  # amplitude-weighted phase smoothing, band px (0 = off)
    amplify_lowpass: bool = True  # first-order gain on the low-pass residual (our choice)

    def __post_init__(self) -> None:
        check_positive_options("riesz", levels=self.levels)
        check_option_at_most("riesz", "sigma_px", self.sigma_px, MAX_SIGMA_PX, "in good time")


def riesz_transform(band: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Approximate Riesz transform of (N, 1, H, W): ``0.5 (I[x-1] - I[x+1])`` along x, y."""
    padded = F.pad(band, (1, 1, 1, 1), mode="reflect" if min(band.shape[-2:]) > 1 else "replicate")
    r1 = 0.5 * (padded[..., 1:-1, :-2] - padded[..., 1:-1, 2:])
    r2 = 0.5 * (padded[..., :-2, 1:-1] - padded[..., 2:, 1:-1])
    return r1, r2


def quaternion_phase_step(
    current: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    previous: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> torch.Tensor:
    """Quaternionic phase difference ``(phi cos theta, phi sin theta)`` of two Riesz triples.

    From ``q_current * conj(q_previous)`` (Wadhwa et al. 2014, Appendix A); returns a
    (N, 2, H, W) tensor in radians.
    """
    i, x, y = current
    ip, xp, yp = previous
    real = i * ip + x * xp + y * yp
    qx = -i * xp + ip * x
    qy = -i * yp + ip * y
    norm_xy = torch.sqrt(qx * qx + qy * qy) + 1e-12
    phase = torch.atan2(norm_xy, real)  # = acos(real / |q|), better conditioned
    return torch.cat([phase * qx / norm_xy, phase * qy / norm_xy], dim=1)


def shift_band(
    i: torch.Tensor, r1: torch.Tensor, r2: torch.Tensor, phase: torch.Tensor
) -> torch.Tensor:
    """Real part of ``exp(phase) (I + R1 + R2)`` for a (N, 2, H, W) quaternionic phase."""
    p1, p2 = phase[:, 0:1], phase[:, 1:2]
    magnitude = torch.sqrt(p1 * p1 + p2 * p2)
    sinc = torch.where(magnitude > 1e-8, torch.sin(magnitude) / magnitude.clamp_min(1e-8), 1.0)
    return torch.cos(magnitude) * i - p1 * sinc * r1 - p2 * sinc * r2


class RieszMagnifier(EulerianMethod):
    """Riesz-pyramid phase magnification of the luma."""

    def __init__(self, alpha: float, config: RieszConfig | None = None) -> None:
        self.alpha = check_alpha(alpha)
        self.config = config or RieszConfig()
        self._previous: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] | None = None
        self._phase: list[torch.Tensor] | None = None

    def prepare(self, height: int, width: int) -> int:
        """The band levels for frames of this size (px); UsageError for a ``levels`` deeper
        than the frame, before any frame."""
        return pyramid_levels("riesz", self.config.levels, height, width)

    def encode(self, frame: torch.Tensor) -> tuple[tuple, Rep]:
        levels = self.prepare(*frame.shape[-2:])
        pyramid = laplacian_pyramid(luma(frame), levels)
        triples = [(band, *riesz_transform(band)) for band in pyramid[:-1]]
        if self._previous is None or self._phase is None:
            self._phase = [torch.zeros_like(torch.cat([b, b], dim=1)) for b in pyramid[:-1]]
        else:
            self._phase = [
                phase + quaternion_phase_step(now, before)
                for phase, now, before in zip(self._phase, triples, self._previous, strict=True)
            ]
        self._previous = triples
        rep = list(self._phase)
        if self.config.amplify_lowpass:
            rep.append(pyramid[-1])
        return (frame, triples, pyramid[-1]), rep

    def decode(self, kept: tuple, selected: Rep) -> torch.Tensor:
        frame, triples, lowpass = kept
        gain = self.alpha - 1.0
        changes = []
        for (i, r1, r2), chosen in zip(triples, selected, strict=False):
            amplitude = torch.sqrt(i * i + r1 * r1 + r2 * r2)
            smooth = amplitude_weighted_blur(chosen, amplitude, self.config.sigma_px)
            changes.append(shift_band(i, r1, r2, gain * smooth) - i)
        residual = selected[-1] * gain if self.config.amplify_lowpass else torch.zeros_like(lowpass)
        return frame + collapse_laplacian([*changes, residual])
