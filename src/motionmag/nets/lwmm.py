"""LW-MM of Singh 2024 (thesis Ch. 3): a light net trained against a noise-free proxy.

What matters (../shared/specs/THESIS.md s.3; the thesis's Fig. 3.1 survives only as a
caption, so the block counts are THESIS.md's suggested configuration, [choice] below):

- **Two frames in, the magnified frame out** (Oh et al.'s dynamic mode, THESIS.md s.2.1):
  ``forward(frame_a, frame_b, alpha)`` with ``frame_a = F_{t-1}`` (the previous or
  reference frame), ``frame_b = F_t`` (the frame to magnify), RGB in [0, 1] (mapped to
  [-1, 1] inside), alpha = ``M_f``, the total factor.
- ``RB(c) = conv3x3, ReLU, conv3x3, + identity`` (He et al. 2016; ReLU as Oh's [choice]).
- **Feature-sharing encoder** E, one per stream (separate weights):
  ``conv 3->C, ReLU, 3 RB(C) = E'_s`` at full resolution; then ``concat(E'_s, E'_other)
  -> conv 2C->C, ReLU`` (each stream sees the other's features), max-pool 2, ``conv
  C->2C, ReLU, 3 RB(2C) = E_s`` at 1/2 resolution.
- **Appearance encoder** A: ``concat(E'_a, E'_b)``, max-pool 2, ``conv 2C->2C, ReLU,
  2 RB(2C)``. Its head ``phi = tanh(conv 2C->3)`` is used only by the loss ``L_A``
  (Eq. 3.1: phi(A) against both clean input frames).
- **Manipulator** (Eq. 3.2's quantity): ``D = (E_b - E_a) x M_f``, then ``conv 2C->2C,
  ReLU, 3 RB(2C) = M``. There is no base-frame term: the appearance features play that
  role.
  [choice] the sign ``E_b - E_a`` (the text writes ``E_a - E_b``; it is learnable, and
  proxy and model share it).
- **Decoder**: ``A + M -> 10 RB(2C)``, nearest x2, ``conv 2C->C, ReLU, 3 RB(C), conv
  C->3, tanh`` -> ``F_o``. No skip from the input frame, as in the thesis. Tried here and
  dropped: the decoder's output added to frame b (as sigma-theta and MD-MM here). With
  the last convolution at zero it stayed there (mean |w| 1e-4 after 8,000 samples: no
  gradient reached the decoder); at a tenth of the default init, training shrank the
  decoder's features from 0.09 to 0.0008 within 2,000 samples. Both sat at the identity
  (validation SSIM = the input's 0.6170 to 6 digits; lr 5e-4, clean inputs), while the
  tanh output was learning to redraw the frame (0.565 after 4,000 samples).
- [choice] The two streams' encoders start with equal weights (they are separate
  parameters and may diverge), so ``E_b - E_a`` starts as a motion signal, zero for a
  still pair, instead of the difference of two random encoders.
- **Width**: C at full resolution, 2C after the max-pool; ``lwmm`` C = 24, ``lwmm-light``
  C = 8 (Table 3.2: 1.10 M / 375.5 GFLOPs and 0.12 M / 42.4 at 720x720;
  tests/test_lwmm.py holds both within 10 %).
- Convolutions pad by reflection [choice]. Any frame size: reflect-padded to even sides
  of at least :data:`MIN_SIZE_PX` and cropped back. alpha: a float, one per sample, or a
  per-pixel (N, 1, H, W) map (area-averaged to the manipulator's 1/2 resolution).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .pair import PairNetwork, factor_like

#: frames are padded to a multiple of this (the one max-pool)
SIZE_MULTIPLE = 2
#: smallest padded side (px): 2 px at 1/2 resolution, what a reflect-padded 3x3 needs
MIN_SIZE_PX = 4
#: residual blocks of each stage (THESIS.md s.3.1's suggestion; the decoder's 10 and 3
#: are the thesis's)
ENCODER_BLOCKS = 3
APPEARANCE_BLOCKS = 2
MANIPULATOR_BLOCKS = 3
DECODER_HALF_BLOCKS = 10
DECODER_FULL_BLOCKS = 3


def _conv(c_in: int, c_out: int) -> nn.Conv2d:
    return nn.Conv2d(c_in, c_out, 3, padding=1, padding_mode="reflect")


class ResidualBlock(nn.Module):
    """``x + conv(ReLU(conv(x)))`` at ``channels`` (He et al. 2016)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = _conv(channels, channels)
        self.conv2 = _conv(channels, channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


def residual_blocks(channels: int, count: int) -> nn.Sequential:
    """``count`` :class:`ResidualBlock` in a row at ``channels``."""
    return nn.Sequential(*(ResidualBlock(channels) for _ in range(count)))


def _stage(c_in: int, c_out: int, blocks: int) -> nn.Sequential:
    """``conv c_in->c_out, ReLU`` then ``blocks`` residual blocks."""
    return nn.Sequential(_conv(c_in, c_out), nn.ReLU(), *residual_blocks(c_out, blocks))


class StreamEncoder(nn.Module):
    """One stream of the feature-sharing encoder: ``E'_s`` first, then ``E_s`` from
    ``E'_s`` and the other stream's ``E'``."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.early = _stage(3, c, ENCODER_BLOCKS)
        self.share = _conv(2 * c, c)
        self.late = _stage(c, 2 * c, ENCODER_BLOCKS)

    def late_features(self, own: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
        """``E_s`` (1/2 resolution) from this stream's ``E'_s`` and the other's."""
        shared = F.relu(self.share(torch.cat([own, other], dim=1)))
        return self.late(F.max_pool2d(shared, 2))


class LWMMNet(PairNetwork):
    """LW-MM (Singh 2024, Ch. 3); see the module docstring for every block.

    Args:
        channels: C, the full-resolution width (24: ``lwmm``, 8: ``lwmm-light``).
    """

    size_multiple = SIZE_MULTIPLE
    min_size_px = MIN_SIZE_PX

    def __init__(self, channels: int = 24) -> None:
        super().__init__()
        c = int(channels)
        if c < 1:
            raise ValueError(f"invalid LWMMNet width {channels}")
        self.config = {"channels": c}
        self.encoder_a = StreamEncoder(c)
        self.encoder_b = StreamEncoder(c)
        self.appearance = _stage(2 * c, 2 * c, APPEARANCE_BLOCKS)
        self.appearance_head = _conv(2 * c, 3)
        self.manipulator = _stage(2 * c, 2 * c, MANIPULATOR_BLOCKS)
        self.decoder_half = residual_blocks(2 * c, DECODER_HALF_BLOCKS)
        self.decoder_full = _stage(2 * c, c, DECODER_FULL_BLOCKS)
        self.head = _conv(c, 3)
        self.encoder_b.load_state_dict(self.encoder_a.state_dict())

    def encode(self, frame_a: torch.Tensor, frame_b: torch.Tensor) -> dict[str, torch.Tensor]:
        """Encoder outputs for frames (N, 3, H, W) in [0, 1], H and W even: ``E_a``,
        ``E_b`` (N, 2C, H/2, W/2) and the appearance features ``A`` (same shape)."""
        early_a, early_b = self._early(frame_a, frame_b)
        return {
            "E_a": self.encoder_a.late_features(early_a, early_b),
            "E_b": self.encoder_b.late_features(early_b, early_a),
            "A": self._appearance(early_a, early_b),
        }

    def appearance_only(self, frame_a: torch.Tensor, frame_b: torch.Tensor) -> torch.Tensor:
        """:meth:`encode`'s ``A`` alone, without the streams' late stages (KL-DNAS's
        encoder stage needs no more of the teacher, ``train/kl_dnas.py``)."""
        return self._appearance(*self._early(frame_a, frame_b))

    def _early(self, frame_a: torch.Tensor, frame_b: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Both streams' full-resolution features ``E'_a``, ``E'_b``."""
        return self.encoder_a.early(frame_a * 2.0 - 1.0), self.encoder_b.early(frame_b * 2.0 - 1.0)

    def _appearance(self, early_a: torch.Tensor, early_b: torch.Tensor) -> torch.Tensor:
        """``A`` from ``E'_a``, ``E'_b``: pooled to 1/2 resolution, the appearance encoder."""
        return self.appearance(F.max_pool2d(torch.cat([early_a, early_b], dim=1), 2))

    def forward_parts(
        self, frame_a: torch.Tensor, frame_b: torch.Tensor, alpha: torch.Tensor | float
    ) -> dict[str, torch.Tensor]:
        """Frames (N, 3, H, W) in [0, 1], H and W even -> ``image`` (frame b magnified,
        [-1, 1] units), ``appearance`` (phi(A), (N, 3, H/2, W/2), [-1, 1]; Eq. 3.1) and
        ``difference`` (``(E_b - E_a) x M_f``, Eq. 3.2's quantity)."""
        features = self.encode(frame_a, frame_b)
        difference = self.difference(features, alpha)
        return {
            "image": self.decode(features, difference),
            "appearance": torch.tanh(self.appearance_head(features["A"])),
            "difference": difference,
        }

    @staticmethod
    def difference(features: dict[str, torch.Tensor], alpha: torch.Tensor | float) -> torch.Tensor:
        """``(E_b - E_a) x M_f`` (the manipulator's input, Eq. 3.2)."""
        return (features["E_b"] - features["E_a"]) * factor_like(alpha, features["A"])

    def decode(self, features: dict[str, torch.Tensor], difference: torch.Tensor) -> torch.Tensor:
        """The manipulator and decoder: ``F_o`` (N, 3, H, W) in [-1, 1] from
        :meth:`encode`'s features and ``(E_b - E_a) x M_f``."""
        return self.draw(features["A"] + self.manipulator(difference))

    def draw(self, summed: torch.Tensor) -> torch.Tensor:
        """The decoder alone: ``A + M`` (N, 2C, H/2, W/2) -> ``F_o`` (N, 3, H, W) in [-1, 1]
        (KL-DNAS feeds it a student's features, ``train/kl_dnas.py``)."""
        x = self.decoder_half(summed)
        x = self.decoder_full(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        return torch.tanh(self.head(x))

    def magnified(
        self, frame_a: torch.Tensor, frame_b: torch.Tensor, alpha: torch.Tensor | float
    ) -> torch.Tensor:
        """Frames (N, 3, H, W) in [0, 1], H and W even -> frame b magnified, ``F_o``;
        skips the appearance head, which only the loss needs."""
        features = self.encode(frame_a, frame_b)
        return self.decode(features, self.difference(features, alpha))
