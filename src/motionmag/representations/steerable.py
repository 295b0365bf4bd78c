"""Complex steerable pyramid built in the frequency domain (Portilla and Simoncelli 2000).

What matters:

- It is the decomposition of phase-based magnification (Wadhwa et al. 2013): each band
  is a complex, oriented, band-pass filter whose local phase moves with the image.
- Filters are defined once for a frame size on the *full* centred DFT grid (frequencies
  scaled so that Nyquist is 1): radial low-pass chain ``L_i(r)``, a raised cosine in
  ``log2 r`` over ``twidth`` octaves ending at ``2^(-i s)`` (``s`` = octaves between
  scales: 1, 1/2, 1/4 for the octave, half- and quarter-octave pyramids), band ``i`` =
  ``sqrt(L_i^2 - L_{i+1}^2)`` times the one-sided angular mask
  ``2 sqrt(c) cos^n(theta - pi b / K)`` (``n = K - 1``, ``c`` the steerability constant),
  high-pass residual ``sqrt(1 - L_0^2)``, low-pass residual ``L_N``. For the octave
  pyramid this is exactly the cascade of pyrtools / plenoptic ``SteerablePyramidFreq``
  (tested against plenoptic). A band is computed on the DFT box that holds its support
  (the same successive halving as pyrtools), so coarse bands are small.
- Reconstruction takes the real part (the filters tile the spectrum: high-pass^2 +
  sum of bands (both half planes) + low-pass^2 = 1), so it is exact to float rounding.
  :meth:`SteerablePyramid.reconstruct_change` turns a change of the complex bands into
  the change of the image with one inverse FFT, which is all a magnifier needs.
- Torch FFTs: CPU or CUDA, any frame size (odd too), batched over N and channels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

#: octaves between scales and raised-cosine width (octaves) of each pyramid kind
PYRAMIDS = {
    "octave": (1.0, 1.0, 4),
    "half-octave": (0.5, 0.5, 8),
    "quarter-octave": (0.25, 0.25, 8),
}


def max_scales(height: int, width: int, spacing_octaves: float = 1.0) -> int:
    """Scales down to a low-pass residual of about 4-8 px (pyrtools' ``log2(min) - 2``)."""
    return max(1, int((math.floor(math.log2(min(height, width))) - 2) / spacing_octaves))


def deepest_scales(height: int, width: int, spacing_octaves: float = 1.0) -> int:
    """The most band scales a frame holds: the last band's box is about 1 px on its short
    side (``max_scales`` stops 2 octaves earlier, at a 4-8 px residual)."""
    return max(1, int(math.floor(math.log2(min(height, width))) / spacing_octaves))


def _centred_grid(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """log2 radius and angle of the fftshift-ed DFT grid (Nyquist = 1 on each axis)."""
    fy = np.fft.fftshift(np.fft.fftfreq(height)) * 2.0
    fx = np.fft.fftshift(np.fft.fftfreq(width)) * 2.0
    xx, yy = np.meshgrid(fx, fy)
    radius = np.sqrt(xx**2 + yy**2)
    radius[radius == 0] = 1e-12  # DC: far below every band, all low-pass
    return np.log2(radius), np.arctan2(yy, xx)


def _lowpass(log_rad: np.ndarray, end_octave: float, twidth: float) -> np.ndarray:
    """Radial low-pass: 1 below ``end - twidth``, 0 above ``end`` (in log2 r), sine ramp."""
    t = np.clip((log_rad - end_octave) / twidth + 1.0, 0.0, 1.0)  # 0 below, 1 above
    return np.cos(0.5 * np.pi * t)


def _crop_boxes(height: int, width: int, count: int) -> list[tuple[int, int, int, int]]:
    """(top, left, h, w) boxes of the DFT, halved ``count`` times (pyrtools' rule)."""
    boxes = [(0, 0, height, width)]
    top, left, dims = 0, 0, np.array([height, width])
    for _ in range(count):
        ctr = np.ceil((dims + 0.5) / 2).astype(int)
        lodims = np.ceil((dims - 0.5) / 2).astype(int)
        loctr = np.ceil((lodims + 0.5) / 2).astype(int)
        start = ctr - loctr
        top, left, dims = top + int(start[0]), left + int(start[1]), lodims
        boxes.append((top, left, int(dims[0]), int(dims[1])))
    return boxes


@dataclass
class _Band:
    box: tuple[int, int, int, int]  # (top, left, h, w) in the full centred DFT
    forward: torch.Tensor  # (K, h, w) complex: (-i)^n R(r) A_b(theta)
    recon: torch.Tensor  # (K, h, w) complex: conj(forward) / 2


class SteerablePyramid:
    """Complex steerable pyramid for frames of one size.

    Args:
        height, width: frame size in px.
        kind: ``octave`` (4 orientations by default), ``half-octave`` or
            ``quarter-octave`` (8 by default).
        scales: number of band scales (default :func:`max_scales`).
        orientations: number of orientations K.
        device: torch device of the filters.
    """

    def __init__(
        self,
        height: int,
        width: int,
        kind: str = "octave",
        scales: int | None = None,
        orientations: int | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        if kind not in PYRAMIDS:
            raise ValueError(f"unknown pyramid '{kind}': choose one of {', '.join(PYRAMIDS)}")
        spacing, twidth, default_k = PYRAMIDS[kind]
        self.height, self.width, self.kind = int(height), int(width), kind
        self.orientations = int(orientations or default_k)
        self.scales = int(scales if scales is not None else max_scales(height, width, spacing))
        self.device = torch.device(device)
        log_rad, angle = _centred_grid(self.height, self.width)
        order = self.orientations - 1
        const = (2 ** (2 * order)) * math.factorial(order) ** 2
        const /= self.orientations * math.factorial(2 * order)

        lows = [_lowpass(log_rad, -i * spacing, twidth) for i in range(self.scales + 1)]
        self.highpass_mask = torch.as_tensor(np.sqrt(np.clip(1 - lows[0] ** 2, 0, 1)))
        halvings = [math.floor(i * spacing + 1e-9) for i in range(self.scales + 1)]
        boxes = _crop_boxes(self.height, self.width, max(halvings))
        self.bands: list[_Band] = []
        for i in range(self.scales):
            top, left, h, w = boxes[halvings[i]]
            radial = np.sqrt(np.clip(lows[i] ** 2 - lows[i + 1] ** 2, 0, 1))[
                top : top + h, left : left + w
            ]
            theta = angle[top : top + h, left : left + w]
            masks = []
            for b in range(self.orientations):
                offset = np.angle(np.exp(1j * (theta - np.pi * b / self.orientations)))
                angular = (
                    2 * np.sqrt(const) * np.cos(offset) ** order * (np.abs(offset) < np.pi / 2)
                )
                masks.append(((-1j) ** order) * radial * angular)
            forward = torch.as_tensor(np.stack(masks), dtype=torch.complex64, device=self.device)
            self.bands.append(_Band(boxes[halvings[i]], forward, forward.conj() / 2))
        top, left, h, w = boxes[halvings[-1]]
        self.lowpass_box = (top, left, h, w)
        self.lowpass_mask = torch.as_tensor(
            lows[-1][top : top + h, left : left + w], dtype=torch.float32, device=self.device
        )
        self.highpass_mask = self.highpass_mask.to(torch.float32).to(self.device)

    # -- analysis ----------------------------------------------------------------------------

    def spectrum(self, image: torch.Tensor) -> torch.Tensor:
        """Centred DFT of real (N, C, H, W) images (complex64)."""
        return torch.fft.fftshift(torch.fft.fft2(image.float()), dim=(-2, -1))

    def bands_from_spectrum(self, dft: torch.Tensor) -> list[torch.Tensor]:
        """Complex bands, finest first: each (N, C, K, h_i, w_i)."""
        out = []
        for band in self.bands:
            top, left, h, w = band.box
            crop = dft[..., top : top + h, left : left + w].unsqueeze(-3) * band.forward
            out.append(torch.fft.ifft2(torch.fft.ifftshift(crop, dim=(-2, -1))))
        return out

    def decompose(
        self, image: torch.Tensor
    ) -> tuple[torch.Tensor, list[torch.Tensor], torch.Tensor]:
        """(high-pass residual, complex bands, low-pass residual) of real (N, C, H, W)."""
        dft = self.spectrum(image)
        highpass = torch.fft.ifft2(torch.fft.ifftshift(dft * self.highpass_mask, dim=(-2, -1)))
        return highpass.real, self.bands_from_spectrum(dft), self.lowpass_from_spectrum(dft)

    def lowpass_from_spectrum(self, dft: torch.Tensor) -> torch.Tensor:
        """Real low-pass residual (N, C, h, w) at its own (small) size."""
        top, left, h, w = self.lowpass_box
        low = dft[..., top : top + h, left : left + w] * self.lowpass_mask
        return torch.fft.ifft2(torch.fft.ifftshift(low, dim=(-2, -1))).real

    # -- synthesis ---------------------------------------------------------------------------

    def _accumulate(self, dft: torch.Tensor, bands: list[torch.Tensor]) -> torch.Tensor:
        for band, coeffs in zip(self.bands, bands, strict=True):
            top, left, h, w = band.box
            spec = torch.fft.fftshift(torch.fft.fft2(coeffs), dim=(-2, -1)) * band.recon
            dft[..., top : top + h, left : left + w] += spec.sum(dim=-3)
        return dft

    def reconstruct(
        self, highpass: torch.Tensor, bands: list[torch.Tensor], lowpass: torch.Tensor
    ) -> torch.Tensor:
        """Inverse of :meth:`decompose` (real (N, C, H, W))."""
        dft = self.spectrum(highpass) * self.highpass_mask
        top, left, h, w = self.lowpass_box
        dft[..., top : top + h, left : left + w] += self.spectrum(lowpass) * self.lowpass_mask
        dft = self._accumulate(dft, bands)
        return torch.fft.ifft2(torch.fft.ifftshift(dft, dim=(-2, -1))).real

    def reconstruct_change(
        self, band_changes: list[torch.Tensor], lowpass_change: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Image change (real (N, C, H, W)) from changes of the bands (and the low-pass)."""
        first = band_changes[0]
        dft = torch.zeros(
            (*first.shape[:-3], self.height, self.width), dtype=torch.complex64, device=first.device
        )
        if lowpass_change is not None:
            top, left, h, w = self.lowpass_box
            dft[..., top : top + h, left : left + w] += (
                self.spectrum(lowpass_change) * self.lowpass_mask
            )
        dft = self._accumulate(dft, band_changes)
        return torch.fft.ifft2(torch.fft.ifftshift(dft, dim=(-2, -1))).real
