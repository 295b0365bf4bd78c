"""What the two-frame thesis networks share: ``forward`` on any frame size.

What matters: the thesis networks (``sigma_theta``, ``mdmm``, ``lwmm``) subclass
:class:`PairNetwork` and implement :meth:`~PairNetwork.magnified` on frames whose sides
suit their down-sampling. ``forward`` takes any size: both frames (and a per-pixel alpha
map) are padded on the bottom and right to a multiple of the network's coarsest rate, of
at least its smallest working size, and the output is cropped back. Reflection where the
frame is large enough, replication where it is not (reflect padding needs more pixels
than it adds).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def padded_side(side: int, multiple: int, min_size: int) -> int:
    """``side`` rounded up to a multiple of ``multiple``, at least ``min_size`` (px)."""
    return max(-(-side // multiple) * multiple, min_size)


def pad_pair(
    frame_a: torch.Tensor,
    frame_b: torch.Tensor,
    alpha: torch.Tensor | float,
    multiple: int,
    min_size: int,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | float]:
    """``(frame_a, frame_b, alpha)`` (N, C, H, W) padded to :func:`padded_side` sides; a
    per-pixel alpha (N, 1, H, W) is padded by replication, any other alpha is returned
    unchanged."""
    height, width = frame_b.shape[-2:]
    pad_h = padded_side(height, multiple, min_size) - height
    pad_w = padded_side(width, multiple, min_size) - width
    if not (pad_h or pad_w):
        return frame_a, frame_b, alpha
    mode = "reflect" if height > pad_h and width > pad_w else "replicate"
    frame_a = F.pad(frame_a, (0, pad_w, 0, pad_h), mode=mode)
    frame_b = F.pad(frame_b, (0, pad_w, 0, pad_h), mode=mode)
    if isinstance(alpha, torch.Tensor) and alpha.dim() == 4:
        alpha = F.pad(alpha, (0, pad_w, 0, pad_h), mode="replicate")
    return frame_a, frame_b, alpha


def factor_like(alpha: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor | float:
    """The factor alpha ready to multiply ``like`` (N, C, h, w): a float, an (N, 1, 1, 1)
    tensor from one per sample, or a per-pixel (N, 1, H, W) map area-averaged to h x w;
    on ``like``'s device and dtype."""
    if not isinstance(alpha, torch.Tensor):
        return float(alpha)
    alpha = alpha.to(device=like.device, dtype=like.dtype)
    if alpha.dim() <= 1:
        return alpha.reshape(-1, 1, 1, 1)
    if alpha.shape[-2:] != like.shape[-2:]:
        alpha = F.interpolate(alpha, size=like.shape[-2:], mode="area")
    return alpha


class PairNetwork(nn.Module):
    """A network that magnifies frame b's motion relative to frame a (two frames and the
    total factor in, one frame out); subclasses set the two sizes and :meth:`magnified`."""

    #: frames are padded to a multiple of this (px; the coarsest down-sampling rate)
    size_multiple: int = 1
    #: smallest padded side (px)
    min_size_px: int = 1

    def magnified(
        self, frame_a: torch.Tensor, frame_b: torch.Tensor, alpha: torch.Tensor | float
    ) -> torch.Tensor:
        """Frames (N, 3, H, W) in [0, 1] of suitable sides -> frame b magnified, [-1, 1]
        units, not clipped."""
        raise NotImplementedError

    def forward(
        self,
        frame_a: torch.Tensor,
        frame_b: torch.Tensor,
        alpha: torch.Tensor | float,
        clip: bool = True,
    ) -> torch.Tensor:
        """Frame b with its motion relative to frame a magnified alpha times (total factor).

        Frames (N, 3, H, W) float in [0, 1], any H, W; alpha a float, an (N,) tensor or,
        where the network allows one, an (N, 1, H, W) per-pixel map. Returns (N, 3, H, W)
        in [0, 1] (clipped when ``clip``).
        """
        height, width = frame_b.shape[-2:]
        frame_a, frame_b, alpha = pad_pair(
            frame_a, frame_b, alpha, self.size_multiple, self.min_size_px
        )
        out = (self.magnified(frame_a, frame_b, alpha) + 1.0) * 0.5
        if clip:
            out = out.clamp(0.0, 1.0)
        return out[..., :height, :width]
