"""The real-time learned magnification network of Ha et al. (2024), as we read it.

What matters (Ha, Oh, Kim, Kim, Oh, "Revisiting Learning-based Video Motion
Magnification for Real-time Processing", 2024; ../shared/specs/METHODS.md section 2):

- **Oh et al.'s network, changed as in Fig. 11** (its four rows, each a finding):
  (1) "+1/4x spatial resolution": the decoder works on a latent at 1/4 resolution
  instead of Oh's 1/2 (Sec. 4.2: 1.85x faster, same SSIM, better under noise);
  (2) "+single linear encoder": the encoder is *one* linear layer and *one* branch
  (abstract, Sec. 4.3 and Table 1: the encoder needs no non-linearity and no
  ResBlocks, and one branch instead of Oh's texture and shape branches); (3) "+scaling
  d_D and c_D": the decoder is about 4x deeper with half the channels (Sec. 4.4); (4)
  a perceptual loss, which needs VGG weights we cannot get: the trainer replaces it by
  an image-gradient L1 (``train.losses.ha2024_loss``).
- **Same interface as** :class:`~motionmag.nets.oh2018.Oh2018Net` (both derive from
  :class:`~motionmag.nets.oh2018.MagnificationNet`): ``encode`` -> (texture, shape),
  ``amplify`` / ``manipulate`` (Eq. 3 with frame b as the base and the added gain
  ``alpha - 1``: alpha is the total factor, alpha = 1 returns ``M_b`` exactly because every
  convolution is bias-free), ``decode`` / ``decode_raw``, and ``forward(a, b, alpha)``
  that reflect-pads any size to a multiple of 4 (and at least 16 px) and crops back.
  The engine's static, dynamic and temporal paths (``magnify/learned.py``) and the
  exporter run it unchanged.
- **One branch, read as two channel groups.** The single linear layer writes one latent
  tensor L (N, 32, H/4, W/4). Its first ``texture_channels`` channels are read as the
  texture V and the rest as the shape M; only M goes through the manipulator, and the
  decoder sees ``cat(V, M')``. This keeps Oh's regularisers (V motion-invariant, M
  colour-invariant), which "the paper's L1 + regularisers" needs, without a second
  branch: a channel split costs nothing. (Our reading: the paper does not spell out
  how its single branch feeds the texture regulariser. ``texture_channels=0`` is the
  literal "no split": the whole latent is manipulated and the trainer drops the
  regularisers, which would then contradict reconstruction.)

Layer by layer (defaults; [choice] = ours where the paper gives no number):

- Encoder: one bias-free conv, 3 -> 32 channels (Oh's 32 + 32 halved: 16 texture + 16
  shape), kernel 8x8 [choice], stride 4, reflect padding 2 px each side, *no*
  activation. Window i covers input pixels 4i-2 .. 4i+5, centred on 4i + 1.5: the
  centre of the 4x4 block the decoder's two nearest x2 upsamplings paint from latent i,
  so the latent grid and the output grid agree (an odd kernel would be off by 0.5 px).
  Input RGB in [0, 1] is mapped to [-1, 1] first (Oh's convention).
- Manipulator (Oh's Eq. 3 on the 16 shape channels at 1/4 resolution): g = conv7x7 +
  ReLU, h = conv3x3 + 1 ResBlock [Oh's released layers at half width; Table 1 says
  h's ResBlock is removable, which learning-to-remove (Eq. 3-5, ``nets.removal``) tests].
- Decoder at 1/4 resolution: conv3x3 32 -> 32 + ReLU [choice: an entry layer, Oh's
  ``texture_up`` conv moved to 1/4 resolution], 36 ResBlocks(32) (Oh: 9 ResBlocks(64):
  4x the depth, half the width, Fig. 11 row 3), then nearest x2, conv3x3 32 -> 16 +
  ReLU (1/2 res), nearest x2, conv3x3 16 -> 16 + ReLU (full res), conv7x7 16 -> 3 (Oh's
  last layer at half width). ResBlock = conv3-ReLU-conv3 + skip, reflect padding,
  bias-free, truncated-normal init std 0.02: all as Oh2018Net.

Size (tests/test_ha2024_net.py; torch.utils.flop_counter, which counts **2 x
multiply-add**, the convention of EVALUATION.md and of Oh2018Net's 79.5): 707,632
parameters; **14.70 GFLOPs** for one pair at 384x384 (two encodes 2 x 0.11, manipulator
0.36, decoder 14.11), i.e. 7.35 G multiply-adds, 5.4x fewer than Oh2018Net here. Ha et
al.'s Fig. 11 "FLOPs" are multiply-adds: 9.86 G for their final model (19.7 GFLOPs in our
convention) vs 41.3 G for Oh (4.2x). So the default keeps the paper's structural rule
(4x depth, half width) at 3/4 of the paper's budget; the issue's "~10 GFLOPs" (2 x
multiply-add) is ``decoder_blocks=24`` (10.62 GFLOPs, 486,448 parameters). Each decoder
ResBlock costs 0.34 GFLOPs at 384x384 (``decoder_blocks=54``: 20.81, the paper's budget).
One engine frame in static mode (encode the new frame, manipulate, decode) is 14.58.
"""

from __future__ import annotations

import torch
from torch import nn

from .oh2018 import (
    Conv,
    MagnificationNet,
    ResBlock,
    Upsample2x,
    check_size,
    conv_radius_px,
    conv_relu,
    res_blocks,
)

#: stride of the linear encoder: the latent is at 1/4 resolution
LATENT_STRIDE = 4


class LinearEncoder(nn.Sequential):
    """One bias-free strided convolution, no activation (Ha et al. Sec. 4.3).

    Reflect-pads ``(kernel - 4) // 2`` px on the left/top and the rest on the right/
    bottom, so H/4 x W/4 outputs come from H x W inputs (H, W multiples of 4) and, for
    even kernels, window i is centred on input pixel ``4i + 1.5``.
    """

    def __init__(self, c_out: int, kernel: int = 8) -> None:
        if kernel < LATENT_STRIDE:
            raise ValueError(f"encoder kernel {kernel} must be at least {LATENT_STRIDE}")
        before = (kernel - LATENT_STRIDE) // 2
        after = kernel - LATENT_STRIDE - before
        super().__init__(
            nn.ReflectionPad2d((before, after, before, after)),
            nn.Conv2d(3, c_out, kernel, stride=LATENT_STRIDE, bias=False),
        )


class Ha2024Net(MagnificationNet):
    """Linear one-layer encoder, Oh's manipulator, a deep narrow decoder at 1/4 resolution.

    See the module docstring for the layers and where each number comes from. The
    constructor arguments are stored in ``self.config`` (the model card's
    ``network.config``, as for Oh2018Net).

    Args:
        texture_channels: latent channels read as texture V (16; 0 = no split, the
            whole latent is the shape M and is manipulated).
        shape_channels: latent channels read as shape M (16).
        encoder_kernel: side of the linear encoder's kernel in px (8).
        decoder_channels: width of the decoder's 1/4-resolution ResBlocks (32: Oh's 64
            halved).
        decoder_blocks: number of those ResBlocks (36: Oh's 9, x4).
        upsample_channels: width of the 1/2- and full-resolution decoder layers (16).
        manipulator_kernel: kernel of g (7, Oh's released value).
        linear_manipulator: Eq. 2 (``M_a + alpha (M_b - M_a)``) instead of Eq. 3.
        removed: ``{kind: [module paths]}`` of residual-block components taken out by
            learning-to-remove (``nets.removal``: kinds ``activation``, ``skip``,
            ``block``); recorded as ``config["removed"]`` only when not empty, so the
            config of an unpruned network is unchanged.
    """

    #: a 4x4 latent is the smallest g's 7x7 reflect padding (3 px) accepts
    min_size_px = 16

    def __init__(
        self,
        texture_channels: int = 16,
        shape_channels: int = 16,
        encoder_kernel: int = 8,
        decoder_channels: int = 32,
        decoder_blocks: int = 36,
        upsample_channels: int = 16,
        manipulator_kernel: int = 7,
        linear_manipulator: bool = False,
        removed: dict[str, list[str]] | None = None,
    ) -> None:
        super().__init__()
        self.config = {
            "texture_channels": int(texture_channels),
            "shape_channels": int(shape_channels),
            "encoder_kernel": int(encoder_kernel),
            "decoder_channels": int(decoder_channels),
            "decoder_blocks": int(decoder_blocks),
            "upsample_channels": int(upsample_channels),
            "manipulator_kernel": int(manipulator_kernel),
            "linear_manipulator": bool(linear_manipulator),
        }
        if removed:
            from .removal import canonical_removed

            removed = canonical_removed(removed)
            self.config["removed"] = removed
        ct, cs = int(texture_channels), int(shape_channels)
        cd, cu = int(decoder_channels), int(upsample_channels)
        if ct < 0 or cs < 1 or cd < 1 or cu < 1 or decoder_blocks < 0:
            raise ValueError(f"invalid Ha2024Net configuration {self.config}")
        self.texture_channels = ct
        self.linear_manipulator = bool(linear_manipulator)
        self.encoder = LinearEncoder(ct + cs, int(encoder_kernel))
        if self.linear_manipulator:
            self.manipulator_g = None
            self.manipulator_h = None
        else:
            self.manipulator_g = conv_relu(cs, cs, int(manipulator_kernel))
            self.manipulator_h = nn.Sequential(Conv(cs, cs, 3), ResBlock(cs))
        self.decoder = nn.Sequential(
            conv_relu(ct + cs, cd, 3),
            res_blocks(cd, int(decoder_blocks)),
            Upsample2x(),
            conv_relu(cd, cu, 3),
            Upsample2x(),
            conv_relu(cu, cu, 3),
            Conv(cu, 3, 7),
        )
        self.reset_parameters()
        if removed:
            from .removal import apply_removed

            apply_removed(self, removed)

    # --- encoder -------------------------------------------------------------------
    def latent(self, frame: torch.Tensor) -> torch.Tensor:
        """Frames (N, 3, H, W) in [0, 1], H and W multiples of 4 -> L (N, C, H/4, W/4).

        A single linear map of the frame (no activation): ``L = K * (2 x - 1)``.
        """
        check_size(frame)
        return self.encoder(frame * 2.0 - 1.0)

    def encode(self, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames -> texture V (N, ct, H/4, W/4) and shape M (N, cs, H/4, W/4).

        Both are channel groups of the one latent :meth:`latent` (V is empty, 0
        channels, when ``texture_channels=0``).
        """
        latent = self.latent(frame)
        return latent[:, : self.texture_channels], latent[:, self.texture_channels :]

    def receptive_radius_px(self) -> tuple[int, int]:
        """Bounds (px) on how far :meth:`encode` and manipulator + decoder look around a pixel."""
        manipulator = [self.manipulator_g, self.manipulator_h]
        return conv_radius_px([self.encoder]), conv_radius_px([*manipulator, self.decoder], 4.0)

    # --- decoder -------------------------------------------------------------------
    def decode_raw(self, texture: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
        """(V, M) at 1/4 resolution -> frames (N, 3, 4h, 4w) in [-1, 1] units, not clipped."""
        if texture.shape[-2:] != shape.shape[-2:]:
            raise ValueError(
                f"texture {tuple(texture.shape[-2:])} and shape {tuple(shape.shape[-2:])} "
                "must have the same (1/4) resolution."
            )
        return self.decoder(torch.cat([texture, shape], dim=1))
