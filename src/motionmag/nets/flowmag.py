"""FlowMag's generator (Pan, Geng, Owens 2023, Sec. 3.3 and App. A2): a plain U-Net.

What matters:

- **Input, output**: the reference frame ``I_0``, the frame to magnify ``I_t`` (RGB in
  [0, 1]) and a 32-channel sinusoidal embedding of the magnification factor alpha,
  tiled over the image (App. A2: 6 + 32 = 38 input channels); output the magnified
  frame ``~I_t``, a sigmoid in (0, 1). alpha is the total factor (output motion = alpha
  x input motion; the paper's convention, its footnote 1). Trained for alpha in 1..16;
  larger factors are applied recursively by ``magnify/flowmag.py``.
- **alpha embedding** (:func:`alpha_embedding`): ``sin(2 pi alpha / lambda_k)`` with 32
  wavelengths ``lambda_k`` geometric from 2^-3 to 2^7 (in alpha units). The paper
  says "frequencies from 2^-3 to 2^7"; the authors' code (``AlphaAppender``) uses these
  numbers as *wavelengths*, and so do we. ``alpha`` may be a map (N, 1, H, W): each pixel
  gets the embedding of its own factor (targeted magnification, Sec. 3.4).
- **Architecture** (App. A2): 5 levels, (conv3x3-BN-ReLU) x 2 per level, 2x2 max-pool
  down, bilinear up-sampling (align_corners=True), skip connections by concatenation, a
  1x1 output conv and a sigmoid. Channels ``width`` x (1, 2, 4, 8, 8) down and (4, 2, 1,
  1) up: with bilinear up-sampling the coarsest level has 8 ``width`` (not 16), as in
  the milesial U-Net the authors build on; ``width=64`` is the paper's "64 to 1024"
  network (1024 = the 512 + 512 channels entering the first up block): 17.3 M
  parameters, the paper's count. Four poolings: frames are reflect-padded to a multiple of 16 and
  cropped back, so any H and W work.
- **Size** (torch.utils.flop_counter, 2 FLOPs per multiply-add, the convention of
  EVALUATION.md; one 256x256 frame, i.e. one (I_0, I_t) pair):

      width 64 (paper): 17,287,683 parameters, 82.6 GFLOPs
      width 32:          4,330,755 parameters, 21.4 GFLOPs
      width 16:          1,087,107 parameters,  5.7 GFLOPs   (CPU-trainable)

  FLOPs scale with the frame area (x4 at 512x512) and about with width^2.
- **Residual output (our choice, ``residual=True``)**: the paper's last layer is
  ``sigmoid(conv(x))``, which starts as a grey image. Through our weightless
  Lucas-Kanade ``F`` the flow of a grey image is noise, ``L_mag`` (tens of px) swamps
  ``L_color`` and a 40-minute CPU run stayed flat (issue 6). We output
  ``sigmoid(logit(I_t) + conv(x))`` with the 1x1 conv initialised to zero, so an
  untrained net returns ``I_t`` (exact for alpha = 1) and learns only the change; the
  output stays in (0, 1) as the paper's. ``residual=False`` is the paper's head.
- **Linear base (our choice, ``base="linear"``)**: with the residual head the net starts
  from ``I_t``, and a CPU run of 22k samples still magnified a 0.3 px motion only
  x1.5 at alpha 10: the net has to learn to *multiply* the motion by the alpha that it
  sees only through the embedding. ``base="linear"`` starts it from the pixel-wise
  linear Eulerian prediction ``I_t + (alpha - 1)(I_t - I_0)`` (Wu et al. 2012's
  first-order term, exact for small smooth motions, clamped to [eps, 1 - eps]) instead,
  so the untrained net is already a linear magnifier and the flow loss trains the
  correction (large motions, occlusions, noise).
- **Motion input (our choice, ``motion_input=True``)**: three more input channels,
  ``(alpha - 1)(I_t - I_0)``, the linear prediction's change. The paper's net sees alpha
  only through the sinusoidal embedding, so any change proportional to alpha must be
  built from sums of ReLUs; on our CPU budgets it stayed where it started. Measured with
  ``motionmag train flowmag --base frame --size 64 --batch 8 --lr 1e-3 --max-motion 1
  --warmup-steps 1000000`` (the warp-imitation loss; README "FlowMag training"), L1 to
  the true magnified frame on the 16 validation pairs (identity 0.0324): the paper's
  input (``--no-motion-input``) 0.0324 after 8,000 samples, with the motion input 0.0278
  after 8,000 and 0.0221 after 40,000. The same with L1 to the truth as the loss
  (``--target truth``): the paper's input 0.0324 after 6,000 samples. ``False`` is the
  paper's input (6 + 32 channels).
- BatchNorm: ``eval()`` uses the running statistics (inference, export); training and
  test-time adaptation run in train mode.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: channels of the alpha embedding (App. A2)
EMBED_CHANNELS = 32
#: wavelengths of the embedding sinusoids, in alpha units: 2^-3 .. 2^7 geometric
EMBED_LOG2_RANGE = (-3.0, 7.0)
#: frames are padded to a multiple of this (2^(levels - 1) for 5 levels)
SIZE_MULTIPLE = 16
#: what the residual head starts from (see the module docstring)
BASES = ("frame", "linear")
#: frame_t is clamped to [eps, 1 - eps] before the logit of the residual head
RESIDUAL_EPS = 1e-3
#: the factors FlowMag is trained on (log2 alpha ~ U(0, 4), Sec. 4.1)
ALPHA_RANGE = (1.0, 16.0)


def alpha_embedding(alpha: torch.Tensor, channels: int = EMBED_CHANNELS) -> torch.Tensor:
    """Sinusoidal embedding of alpha: ``sin(2 pi alpha / lambda_k)``, k = 0..channels-1.

    Args:
        alpha: (N,) factors, or (N, 1, H, W) per-pixel factors.
        channels: number of wavelengths (geometric from 2^-3 to 2^7).

    Returns (N, channels) or (N, channels, H, W), float32.
    """
    alpha = alpha.to(torch.float32)
    wavelengths = torch.logspace(*EMBED_LOG2_RANGE, channels, base=2.0, device=alpha.device)
    if alpha.dim() == 1:
        return torch.sin(2 * math.pi * alpha[:, None] / wavelengths[None, :])
    if alpha.dim() == 4 and alpha.shape[1] == 1:
        return torch.sin(2 * math.pi * alpha / wavelengths.view(1, -1, 1, 1))
    raise ValueError(f"alpha must be (N,) or (N, 1, H, W), got {tuple(alpha.shape)}")


def pad_to_multiple(x: torch.Tensor, multiple: int = SIZE_MULTIPLE) -> torch.Tensor:
    """Reflect-pad (N, C, H, W) at the bottom and right to multiples of ``multiple``
    (replicate when the frame is smaller than the pad); crop back with ``[..., :H, :W]``."""
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % multiple, (-width) % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if height > pad_h and width > pad_w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


class DoubleConv(nn.Sequential):
    """(conv3x3 -> BatchNorm -> ReLU) x 2."""

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int | None = None):
        mid = mid_channels or out_channels
        super().__init__(
            nn.Conv2d(in_channels, mid, 3, padding=1),
            nn.BatchNorm2d(mid),
            nn.ReLU(inplace=True),
            nn.Conv2d(mid, out_channels, 3, padding=1),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class UpBlock(nn.Module):
    """Bilinear x2 up-sampling, concatenation with the skip, DoubleConv (mid = in / 2)."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = DoubleConv(in_channels, out_channels, in_channels // 2)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=True)
        return self.conv(torch.cat([skip, x], dim=1))


class FlowMagNet(nn.Module):
    """FlowMag's U-Net generator: ``net(frame0, frame_t, alpha) -> magnified frame_t``.

    Args:
        width: channels of the finest level (64 in the paper; 16 trains on a CPU).
        levels: U-Net levels (5 in the paper: 4 poolings).
        embed_channels: channels of the alpha embedding (32).
        residual: output ``sigmoid(logit(base) + head)`` with a zero-initialised head
            (our choice, see the module docstring) instead of the paper's ``sigmoid(head)``.
        base: what the residual head starts from: ``frame`` (``I_t``) or ``linear``
            (``I_t + (alpha - 1)(I_t - I_0)``).
        motion_input: add ``(alpha - 1)(I_t - I_0)`` as three input channels (our choice,
            see the module docstring); False is the paper's input.

    ``forward`` takes frames (N, 3, H, W) in [0, 1] of any H, W and ``alpha`` as a
    number, an (N,) tensor or an (N, 1, H, W) per-pixel map; returns (N, 3, H, W) in
    (0, 1).
    """

    def __init__(
        self,
        width: int = 64,
        levels: int = 5,
        embed_channels: int = EMBED_CHANNELS,
        residual: bool = False,
        base: str = "frame",
        motion_input: bool = False,
    ) -> None:
        super().__init__()
        self.config = {
            "width": int(width),
            "levels": int(levels),
            "embed_channels": int(embed_channels),
            "residual": bool(residual),
            "base": str(base),
            "motion_input": bool(motion_input),
        }
        if base not in BASES or (base != "frame" and not residual):
            raise ValueError(f"base must be one of {BASES} ('linear' needs residual), not {base!r}")
        self.base = str(base)
        if width < 1 or levels < 2 or embed_channels < 1:
            raise ValueError(f"invalid FlowMagNet configuration {self.config}")
        self.width, self.levels, self.embed_channels = int(width), int(levels), int(embed_channels)
        self.size_multiple = 2 ** (levels - 1)
        chans = [width * 2**i for i in range(levels)]
        chans[-1] //= 2  # bilinear: the coarsest level matches the one above it
        self.motion_input = bool(motion_input)
        self.inc = DoubleConv(6 + 3 * self.motion_input + embed_channels, chans[0])
        self.downs = nn.ModuleList(DoubleConv(chans[i - 1], chans[i]) for i in range(1, levels))
        ups = []
        x_channels = chans[-1]
        for i in range(levels - 2, -1, -1):
            out = chans[i] // 2 if i > 0 else chans[0]
            ups.append(UpBlock(x_channels + chans[i], out))
            x_channels = out
        self.ups = nn.ModuleList(ups)
        self.outc = nn.Conv2d(chans[0], 3, 1)
        self.residual = bool(residual)
        if self.residual:
            nn.init.zeros_(self.outc.weight)
            nn.init.zeros_(self.outc.bias)

    @staticmethod
    def alpha_map(alpha, n: int, height: int, width: int, device) -> torch.Tensor:
        """``alpha`` (a number, (N,) or (N, 1, H, W)) as float32 (N, 1, 1, 1) or (N, 1, H, W),
        which broadcasts over frames; a map must match ``height`` x ``width``."""
        alpha = torch.as_tensor(alpha, dtype=torch.float32, device=device)
        if alpha.dim() == 0:
            alpha = alpha.expand(n)
        if alpha.dim() == 1:
            return alpha.view(-1, 1, 1, 1)
        if alpha.dim() == 4:
            if alpha.shape[-2:] != (height, width):
                raise ValueError(f"alpha map {tuple(alpha.shape)} does not match {height}x{width}")
            return alpha
        raise ValueError(f"alpha must be a number, (N,) or (N, 1, H, W); got {tuple(alpha.shape)}")

    def forward(self, frame0: torch.Tensor, frame_t: torch.Tensor, alpha) -> torch.Tensor:
        n, _, height, width = frame_t.shape
        factor = self.alpha_map(alpha, n, height, width, frame_t.device)
        pe = alpha_embedding(factor, self.embed_channels).expand(n, -1, height, width)
        pe = pe.to(frame_t.dtype)
        change = None  # the linear prediction's change, only where it is used
        if self.motion_input or (self.residual and self.base == "linear"):
            change = (factor.to(frame_t.dtype) - 1.0) * (frame_t - frame0)
        inputs = [frame0, frame_t, change, pe] if self.motion_input else [frame0, frame_t, pe]
        x = torch.cat(inputs, dim=1)
        x = pad_to_multiple(x, self.size_multiple)
        skips = [self.inc(x)]
        for down in self.downs:
            skips.append(down(F.max_pool2d(skips[-1], 2)))
        x = skips.pop()
        for up in self.ups:
            x = up(x, skips.pop())
        head = self.outc(x)[..., :height, :width]
        if self.residual:
            eps = RESIDUAL_EPS
            start = frame_t
            if self.base == "linear":
                start = frame_t + change
            head = head + torch.logit(start.clamp(eps, 1.0 - eps))
        return torch.sigmoid(head)
