"""Nearest x2 upsampling + convolutions, computed exactly at the lower resolution.

What matters:

- The decoders of ``oh2018`` and ``ha2024`` end in ``nearest x2 -> reflect pad 1 ->
  conv3x3 [-> ReLU] -> reflect pad r -> conv (2r+1)x(2r+1)`` (Oh et al. 2018, Fig. 3; Ha
  et al. 2024, Fig. 11: the decoder's last layers). At 640x360 with ha2024-fast in bf16
  on 2 cores those last two convolutions, the upsampling and the full-resolution padding
  took about 55 of the 160 ms of a batch of 4 frames (microbenchmark of the layers
  alone): a 16 -> 3 channel 7x7 convolution keeps oneDNN's vector units mostly idle.
- **Sub-pixel form (exact).** A full-resolution pixel ``(2i + a, 2j + b)`` of the
  upsampled image is low-resolution pixel ``(i, j)``, so a 3x3 convolution of the
  upsampled image is, for each *phase* ``(a, b)`` in {0, 1}^2, a 3x3 convolution of the
  low-resolution image with summed taps (:func:`subpixel_weight`; Shi et al. 2016's
  sub-pixel convolution, read backwards). Reflect padding 1 px of the upsampled image
  equals replicate padding 1 px of the low-resolution one, so the borders are exact too.
  The result, 4 x C channels at low resolution, is the upsampled convolution's output
  with its 2x2 pixel blocks stacked in channels ("phase form").
- **The next convolution in phase form (exact).** A (2r+1)x(2r+1) convolution of the
  full-resolution map reads, for output phase ``a``, low-resolution rows ``i - ceil(r/2)``
  to ``i + ceil(r/2)``: one (2P+1)x(2P+1), ``P = ceil(r/2)``, convolution of the phase
  form (:func:`phase_conv_weight`) whose outputs are the phases of the result, unstacked
  by ``F.pixel_shuffle``. Its reflect padding is a per-phase reflection of rows and
  columns (:func:`phase_reflect_pad`): reflection about the image edge keeps a full-
  resolution index's parity, so each phase is padded from rows of its own phase.
- The 16-channel full-resolution activation is never formed: the two convolutions run
  at 1/4 of the pixels with 4x the channels (about as many multiply-adds as before for
  the 3x3, 2x for the 7x7, but far better vectorised), then one 3-channel shuffle.
- fp32 results equal the full-resolution computation up to the order of summation
  (about 1e-7 of the [-1, 1] output; ``tests/test_subpixel.py``); in bf16 the summed taps
  are rounded once. ``nets/fused.py`` uses it by default (``_SubpixelConv``,
  ``_SubpixelTail``); speed, side by side: ``python benchmarks/bench_padded_chain.py
  --toggle subpixel`` (results in ``benchmarks/results/bench_subpixel.json``).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

#: the phases (a, b) of a 2x2 block, in the order of ``F.pixel_shuffle``'s channels
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def phase_padding(radius: int) -> int:
    """Low-resolution padding P a full-resolution radius ``radius`` needs: ceil(r / 2)."""
    return math.ceil(radius / 2)


def subpixel_weight(weight: torch.Tensor, phase_major: bool) -> torch.Tensor:
    """A 3x3 convolution of the nearest-x2 upsampled image as one of the low-res image.

    Args:
        weight: (C_out, C_in, 3, 3).
        phase_major: output channel ``phase x C_out + c`` (the input of
            :func:`phase_conv_weight`) when True, ``c x 4 + phase`` (``F.pixel_shuffle``'s
            order) when False.

    Returns:
        (4 C_out, C_in, 3, 3) in fp32: full-res tap ``k`` in {-1, 0, 1} of phase ``a``
        reads low-res offset ``floor((a + k) / 2)``.
    """
    c_out, c_in = weight.shape[:2]
    source = weight.detach().float()
    out = torch.zeros(4, c_out, c_in, 3, 3)
    for p, (a, b) in enumerate(PHASES):
        for ky in (-1, 0, 1):
            for kx in (-1, 0, 1):
                oy, ox = (a + ky) // 2, (b + kx) // 2
                out[p, :, :, oy + 1, ox + 1] += source[:, :, ky + 1, kx + 1]
    if not phase_major:
        out = out.transpose(0, 1)
    return out.reshape(4 * c_out, c_in, 3, 3)


def phase_conv_weight(weight: torch.Tensor) -> torch.Tensor:
    """A (2r+1)^2 convolution of a full-res map as one of its phase form.

    Args:
        weight: (C_out, C_in, 2r+1, 2r+1) of the full-resolution convolution.

    Returns:
        (4 C_out, 4 C_in, 2P+1, 2P+1) in fp32, P = ceil(r / 2); input channels phase-major
        (``phase x C_in + c``, :func:`subpixel_weight` with ``phase_major=True``), output
        channels in ``F.pixel_shuffle`` order (``c x 4 + phase``). Output phase ``a`` at low
        row ``i`` is full row ``2i + a``; input phase ``a'`` at low row ``i + d`` is full row
        ``2i + 2d + a'``: the full-res tap is ``2d + a' - a`` when it lies in [-r, r].
    """
    c_out, c_in, k = weight.shape[0], weight.shape[1], weight.shape[-1]
    radius = k // 2
    pad = phase_padding(radius)
    source = weight.detach().float()
    out = torch.zeros(c_out, 4, 4, c_in, 2 * pad + 1, 2 * pad + 1)
    for p, (a, b) in enumerate(PHASES):
        for q, (a2, b2) in enumerate(PHASES):
            for dy in range(-pad, pad + 1):
                ky = 2 * dy + a2 - a
                if abs(ky) > radius:
                    continue
                for dx in range(-pad, pad + 1):
                    kx = 2 * dx + b2 - b
                    if abs(kx) <= radius:
                        out[:, p, q, :, dy + pad, dx + pad] = source[:, :, ky + radius, kx + radius]
    return out.reshape(4 * c_out, 4 * c_in, 2 * pad + 1, 2 * pad + 1)


def _reflected_source(index: int, phase: int, size: int) -> int:
    """The low-res row (of the same phase) that holds full-res row ``2 index + phase`` of
    a reflect-padded map whose full-res size is ``2 size``.

    Clamped into the image: the rows a clamp changes are read only by taps of weight 0
    as long as the full-res radius r < 2 size, which every input the networks take meets
    (the 7x7's map is the input's size, at least 16 px for ha2024 and 4 for oh2018, and
    r = 3; torch's own reflect padding would refuse r >= 2 size).
    """
    full = 2 * index + phase
    if full < 0:
        full = -full
    elif full >= 2 * size:
        full = 2 * (2 * size - 1) - full
    return min(max((full - phase) // 2, 0), size - 1)


def phase_reflect_ring(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Rewrite, in place, the ``pad`` px border of a phase form as the reflect padding of
    the full-res map it holds (O(perimeter) copies, read from the interior).

    Args:
        x: (N, 4 C, h + 2 pad, w + 2 pad), phase-major (group ``a x 2 + b`` holds
            full-res pixels ``(2i + a, 2j + b)``); the interior ``[pad : pad + h, pad :
            pad + w]`` is the phase form of an (N, C, 2h, 2w) map; the border may hold
            anything.
        pad: low-res px each side (:func:`phase_padding`).

    Returns:
        ``x``, its border now the phases of the full-res map reflect-padded by ``2 pad`` px.
    """
    channels, height, width = x.shape[1:]
    group, h, w = channels // 4, height - 2 * pad, width - 2 * pad
    border = [*range(-pad, 0), *range(h, h + pad)]
    for a in (0, 1):
        rows = slice(2 * a * group, (2 * a + 2) * group)  # groups (a, 0) and (a, 1)
        for i in border:
            source = _reflected_source(i, a, h) + pad
            x[:, rows, i + pad, pad : pad + w] = x[:, rows, source, pad : pad + w]
    border = [*range(-pad, 0), *range(w, w + pad)]
    for b in (0, 1):
        for a in (0, 1):
            cols = slice((2 * a + b) * group, (2 * a + b + 1) * group)
            for j in border:
                x[:, cols, :, j + pad] = x[:, cols, :, _reflected_source(j, b, w) + pad]
    return x


def phase_reflect_pad(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Reflect padding of a full-res map, applied to its phase form.

    Args:
        x: (N, 4 C, h, w) phase-major, the phase form of an (N, C, 2h, 2w) map.
        pad: low-res px each side (:func:`phase_padding`).

    Returns:
        (N, 4 C, h + 2 pad, w + 2 pad): a new tensor, :func:`phase_reflect_ring` of ``x``
        zero-padded.
    """
    return phase_reflect_ring(F.pad(x, (pad, pad, pad, pad)), pad)
