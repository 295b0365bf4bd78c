"""HMN of Singh 2024 (thesis Ch. 7): a three-level hierarchy of gated, dilated motion
blocks on Sobel-edge differences.

What matters (../shared/specs/THESIS.md s.7; Figs 7.1-7.2 survive only as captions, so
block counts are THESIS.md's suggested configuration, [choice] below):

- **Two frames in, the magnified frame out** (Oh et al.'s dynamic mode, THESIS.md s.2.1):
  ``forward(frame_a, frame_b, alpha)`` with ``frame_a = F_{t-1}``, ``frame_b = F_t``, RGB
  in [0, 1] (mapped to [-1, 1] inside), alpha = ``M_f``, the total factor.
- **Levels** m = 1, 2, 3 at full, 1/2 and 1/4 resolution (area-resized frames), width
  ``w_m = c m``; ``hmn`` c = 24, ``hmn-light`` c = 8 (Table 7.1: 2.5 M / 602.5 GFLOPs and
  0.28 M / 68.3 at 720x720; tests/test_hmn.py holds both within 10 %).
- Per level: frame features ``F_t^m, F_{t-1}^m = conv3x3(3 -> w)`` (shared weights) and
  the **edge difference** ``E_d^m = conv3x3(Sobel_xy(X_t) - Sobel_xy(X_{t-1}), 6 -> w)``
  (horizontal and vertical Sobel per colour channel).
- **MSM block** (Eqs. 7.1-7.3): ``F1 = Psi_1(C(E_d, F_t, F_{t-1}))``,
  ``W1 = F1 + F1 . BN(sigmoid(F1))``, then for n = 1, 2, 3
  ``W_{n+1} = W1 + W1 . BN(sigmoid(Psi_{n+1}(C(W_n, F1))))``: as printed, every gate
  multiplies the base W1. C = concat, BN = BatchNorm after the sigmoid (in MSM only), the
  Psi serial dilated 3x3 convolutions with dilation ``r_m + k - 1`` for the k-th,
  ``r = (8, 4, 1)`` [THESIS.md s.7.5's suggestion: 8-11, 4-7, 1-4]. Then ``N^m = W4 x
  M_f`` (the features Eq. 7.4's contrastive loss compares), ``conv3x3 w->w``, 3 residual
  blocks; at levels 1-2 concatenated with the up-sampled motion features of the level
  below and fused by ``conv3x3 -> w`` = ``S^m``.
- **MD block**: ``T = 3 RB(conv3x3(C(F_t, F_{t-1}), 2w -> w))``, ``O^m = 3 RB(T + S^m)``.
- **Hierarchy**: ``O = O^3``; for m = 2, 1: ``O = 5 RB(conv3x3(C(O^m, up2(O)) -> w_m))``;
  output ``tanh(conv3x3(c -> 3))``.
- [choice] ReLU in the residual blocks, nearest-neighbour up-sampling, reflection
  padding (zeros for the dilated convolutions), area down-sampling. BatchNorm in MSM
  follows train / eval mode: at inference its running statistics are used.
- The thesis's tanh output, no skip from the input frame (a residual output collapsed
  to the identity for LW-MM: ``nets/lwmm.py``).
- Any frame size: reflect-padded to multiples of 4 of at least :data:`MIN_SIZE_PX` and
  cropped back. alpha: a float, one per sample, or a per-pixel (N, 1, H, W) map
  (area-averaged to each level).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .lwmm import residual_blocks
from .pair import PairNetwork, factor_like

#: frames are padded to a multiple of this (the coarsest level, 1/4)
SIZE_MULTIPLE = 4
#: smallest padded side (px): a 3x3 reflect pad needs 2 px at 1/4 resolution
MIN_SIZE_PX = 8
#: MSM's first dilation per level m = 1, 2, 3 (Eq. 7.1's r)
DILATIONS = (8, 4, 1)
#: residual blocks: after MSM, in MD (twice), in the hierarchy's fusion (THESIS.md s.7.1)
MSM_BLOCKS = 3
MD_BLOCKS = 3
FUSION_BLOCKS = 5

_SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))


def _conv(c_in: int, c_out: int, dilation: int = 1) -> nn.Conv2d:
    """A 3x3 convolution; reflect-padded, except the dilated ones, zero-padded (a reflection
    as wide as the dilation needs a larger frame than the coarse levels have)."""
    mode = "reflect" if dilation == 1 else "zeros"
    return nn.Conv2d(c_in, c_out, 3, padding=dilation, dilation=dilation, padding_mode=mode)


def sobel_xy(image: torch.Tensor) -> torch.Tensor:
    """Horizontal and vertical Sobel responses (N, 2C, H, W) of ``image`` (N, C, H, W),
    channel ``2 c`` = x, ``2 c + 1`` = y of colour c, with unit gain on a unit ramp
    (the 3x3 kernels / 8); reflect-padded."""
    n, c, h, w = image.shape
    sobel_x = torch.tensor(_SOBEL_X, dtype=image.dtype, device=image.device) / 8.0
    kernels = torch.stack([sobel_x, sobel_x.t()])[:, None]
    padded = F.pad(image.reshape(n * c, 1, h, w), (1, 1, 1, 1), mode="reflect")
    return F.conv2d(padded, kernels).reshape(n, 2 * c, h, w)


class MSM(nn.Module):
    """Multi-scale motion block (Eqs. 7.1-7.3): four serial dilated convolutions whose
    sigmoid gates, BatchNorm-ed, modulate the first one's features W1."""

    def __init__(self, w: int, dilation: int) -> None:
        super().__init__()
        self.first = _conv(3 * w, w, dilation)
        self.rest = nn.ModuleList(_conv(2 * w, w, dilation + k) for k in (1, 2, 3))
        self.norms = nn.ModuleList(nn.BatchNorm2d(w) for _ in range(4))

    def forward(self, edges: torch.Tensor, frame_t: torch.Tensor, frame_prev: torch.Tensor):
        f1 = self.first(torch.cat([edges, frame_t, frame_prev], dim=1))
        w1 = f1 + f1 * self.norms[0](torch.sigmoid(f1))
        w = w1
        for conv, norm in zip(self.rest, self.norms[1:], strict=True):
            w = w1 + w1 * norm(torch.sigmoid(conv(torch.cat([w, f1], dim=1))))
        return w


class Level(nn.Module):
    """One level m of HMN at width w: features, MSM, the motion residual blocks, MD."""

    def __init__(self, w: int, dilation: int, w_below: int | None) -> None:
        super().__init__()
        self.features = _conv(3, w)
        self.edges = _conv(6, w)
        self.msm = MSM(w, dilation)
        self.motion = nn.Sequential(_conv(w, w), residual_blocks(w, MSM_BLOCKS))
        self.fuse = _conv(w + w_below, w) if w_below else None
        self.texture = nn.Sequential(_conv(2 * w, w), residual_blocks(w, MD_BLOCKS))
        self.out = residual_blocks(w, MD_BLOCKS)


class HMNNet(PairNetwork):
    """HMN (Singh 2024, Ch. 7); see the module docstring for every block.

    Args:
        channels: c, the base width (24: ``hmn``, 8: ``hmn-light``); level m has c m.
    """

    size_multiple = SIZE_MULTIPLE
    min_size_px = MIN_SIZE_PX

    def __init__(self, channels: int = 24) -> None:
        super().__init__()
        c = int(channels)
        if c < 1:
            raise ValueError(f"invalid HMNNet width {channels}")
        self.config = {"channels": c}
        widths = [c * m for m in (1, 2, 3)]
        self.levels = nn.ModuleList(
            Level(widths[k], DILATIONS[k], widths[k + 1] if k < 2 else None) for k in range(3)
        )
        self.fusions = nn.ModuleList(
            nn.Sequential(
                _conv(widths[k] + widths[k + 1], widths[k]),
                residual_blocks(widths[k], FUSION_BLOCKS),
            )
            for k in range(2)
        )
        self.head = _conv(c, 3)

    def forward_parts(
        self, frame_a: torch.Tensor, frame_b: torch.Tensor, alpha: torch.Tensor | float
    ) -> dict[str, torch.Tensor | list[torch.Tensor]]:
        """Frames (N, 3, H, W) in [0, 1], H and W multiples of 4 -> ``image`` (frame b
        magnified, [-1, 1]) and ``msm`` (``N^m = W4 x M_f`` per level,
        finest first: Eq. 7.4's features)."""
        prev = frame_a * 2.0 - 1.0
        now = frame_b * 2.0 - 1.0
        n = now.shape[0]
        msm_features: list[torch.Tensor] = []
        motion: list[torch.Tensor] = []
        textures: list[torch.Tensor] = []
        for k, level in enumerate(self.levels):
            pair = torch.cat([now, prev])
            if k:
                pair = F.avg_pool2d(pair, 2**k)
            x_t, x_prev = pair.split(n)
            f_t, f_prev = level.features(pair).split(n)
            edges = level.edges(sobel_xy(x_t) - sobel_xy(x_prev))
            scaled = level.msm(edges, f_t, f_prev) * factor_like(alpha, edges)
            msm_features.append(scaled)
            motion.append(level.motion(scaled))
            textures.append(level.texture(torch.cat([f_t, f_prev], dim=1)))
        outputs: dict[int, torch.Tensor] = {}
        below = None  # S of the level below (coarse to fine)
        for k in (2, 1, 0):
            s = motion[k]
            if below is not None:
                s = self.levels[k].fuse(torch.cat([s, _up(below, s)], dim=1))
            below = s
            outputs[k] = self.levels[k].out(textures[k] + s)
        o = outputs[2]
        for k in (1, 0):
            o = self.fusions[k](torch.cat([outputs[k], _up(o, outputs[k])], dim=1))
        return {"image": torch.tanh(self.head(o)), "msm": msm_features}

    def magnified(
        self, frame_a: torch.Tensor, frame_b: torch.Tensor, alpha: torch.Tensor | float
    ) -> torch.Tensor:
        """Frames (N, 3, H, W) in [0, 1], H and W multiples of 4 -> frame b magnified."""
        return self.forward_parts(frame_a, frame_b, alpha)["image"]


def _up(x: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """``x`` up-sampled x2 (nearest) to ``like``'s size."""
    return F.interpolate(x, size=like.shape[-2:], mode="nearest")
