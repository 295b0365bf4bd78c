"""The learning-based motion magnification network of Oh et al. (2018), as released.

What matters (Oh, Jaroensri, Kim, Elgharib, Durand, Freeman, Matusik, "Learning-based
Video Motion Magnification", ECCV 2018, Sec. 3.2, Fig. 2; ../shared/specs/METHODS.md
section 1; the authors' released configuration ``o3f_hmhm2_bg_qnoise_mix4_nl_n_t_ds3``):

- **Three parts.** The encoder (shared by every frame) maps a frame to a *texture*
  representation V (32 ch, 1/4 resolution) and a *shape* representation M (32 ch, 1/2
  resolution). The manipulator amplifies the change of M between two frames. The
  decoder maps (V, M) back to a frame.
- **alpha is the total factor** (ARCHITECTURE.md): output motion = alpha x the motion of
  frame b relative to frame a. Like the released code, the manipulator takes frame b
  as the base and applies the *added* gain ``alpha - 1`` (Eq. 3):
  ``M = M_b + h((alpha - 1) * g(M_b - M_a))``, g = conv7x7 + ReLU, h = conv3x3 + 1
  ResBlock. Every convolution is bias-free, so h(0) = 0: alpha = 1 returns ``M_b``
  exactly. The linear manipulator (Eq. 2) is ``M_b + (alpha - 1)(M_b - M_a)``
  ``= M_a + alpha (M_b - M_a)``.
- **Temporal mode (Eq. 4)** replaces the difference by a band-passed ``T(M)``:
  ``M(t) + h((alpha - 1) g(T(M)(t)))``, which is :meth:`Oh2018Net.amplify` (the released
  code does the same: manipulator(0, T(M)) + M - T(M)).
- Frames come in as float RGB in [0, 1] (N, 3, H, W); the network works in [-1, 1]
  inside (released convention) and :meth:`decode` returns [0, 1] (clipped only when
  ``clip=True``; training uses the raw output). :meth:`encode` / :meth:`decode` need
  H and W to be multiples of 4 (two stride-2 levels); :meth:`forward` pads any size
  with reflection (:func:`pad_to_multiple`) and crops back.
- No file is opened here: weights are loaded by ``motionmag.models``.

Layer by layer (the released code's options in brackets): encoder conv7x7->16, ReLU,
conv3x3/2->32, ReLU, 3 ResBlocks [num_enc_resblk=3]; texture branch conv3x3/2->32, ReLU,
2 ResBlocks [use_texture_conv, texture_downsample, num_texture_resblk=2]; shape branch 2
ResBlocks [num_shape_resblk=2, use_shape_conv left at its default False: METHODS.md lists
a conv3x3 here, the released config has none; ``shape_conv=True`` adds it]; manipulator
g = conv7x7 + ReLU [num_man_conv=1 with k=7 in ``res_manipulator``; the paper's text says
3x3: ``manipulator_kernel=3``], h = conv3x3 [num_man_aft_conv=1] + 1 ResBlock
[num_man_resblk=1]; decoder: texture nearest x2, conv3x3->32, ReLU; concat with shape
(64 ch); 9 ResBlocks [num_dec_resblk=9]; nearest x2, conv3x3->32, ReLU; conv7x7->3.
ResBlock = conv3-ReLU-conv3 + skip, no ReLU after the add. Init: truncated normal, std
0.02 (TF's ``truncated_normal_initializer``: cut at 2 std). Padding: reflection for every
convolution (the released code zero-pads its two stride-2 convs with TF's asymmetric
'SAME'; reflection keeps the grid centred and the borders clean; weights are trained
here, so nothing depends on it).

Size (tests/test_oh2018_net.py): 918,928 parameters; 79.5 GFLOPs (2 x multiply-add,
torch.utils.flop_counter) for one pair at 384x384 (two encodes, manipulator, decode),
against METHODS.md's "about 0.9 M, ~78 GFLOPs" and Ha et al.'s 41.3 G multiply-adds.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: H and W of :meth:`Oh2018Net.encode` inputs must be multiples of this
SIZE_MULTIPLE = 4


def pad_to_multiple(
    x: torch.Tensor, multiple: int = SIZE_MULTIPLE, min_size: int = 0
) -> torch.Tensor:
    """Reflect-pad (N, C, H, W) at the bottom and right to multiples of ``multiple``.

    ``min_size``: pad H and W to at least this many px too (a network whose smallest
    representation must fit its kernels, ``MagnificationNet.min_size_px``). Crop back
    with ``y[..., :H, :W]``. Reflection needs H, W > the pad; otherwise the frame is
    replicate-padded.
    """
    height, width = x.shape[-2:]
    pad_h = (-height) % multiple + max(0, min_size - height - (-height) % multiple)
    pad_w = (-width) % multiple + max(0, min_size - width - (-width) % multiple)
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if height > pad_h and width > pad_w else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def check_size(frame: torch.Tensor) -> None:
    """ValueError unless H and W of ``frame`` are multiples of :data:`SIZE_MULTIPLE`."""
    height, width = frame.shape[-2:]
    if height % SIZE_MULTIPLE or width % SIZE_MULTIPLE:
        raise ValueError(
            f"frame size {height}x{width} is not a multiple of {SIZE_MULTIPLE}: "
            "pad it with pad_to_multiple() first (forward() does)."
        )


class Conv(nn.Sequential):
    """Reflect padding + bias-free convolution (``k // 2`` px each side)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1) -> None:
        super().__init__(
            nn.ReflectionPad2d(kernel // 2),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, bias=False),
        )


def conv_relu(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(Conv(c_in, c_out, kernel, stride), nn.ReLU(inplace=True))


class ResBlock(nn.Module):
    """``x + conv3(relu(conv3(x)))``: no normalisation, no ReLU after the sum."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1 = Conv(channels, channels, 3)
        self.conv2 = Conv(channels, channels, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv2(F.relu(self.conv1(x)))


def res_blocks(channels: int, n: int) -> nn.Sequential:
    return nn.Sequential(*(ResBlock(channels) for _ in range(n)))


class Upsample2x(nn.Module):
    """Nearest-neighbour x2 (followed by a convolution: no checkerboard, Odena et al.)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2.0, mode="nearest")


def conv_radius_px(modules: list[nn.Module | None], scale_px: float = 1.0) -> int:
    """Upper bound (px of the network's input) on the receptive-field radius of ``modules``.

    The modules run one after the other on a tensor whose unit is ``scale_px`` input px
    (1 for the frame, 2 or 4 for a representation). Their Conv2d and :class:`Upsample2x`
    leaves are walked in registration order: a k x k convolution with stride s widens the
    radius by ``(k // 2 + s - 1)`` units of its input, a nearest x2 upsampling by one unit
    of its (coarse) input. Used to size the overlap of tiled inference (``magnify/learned``).
    """
    radius = 0.0
    scale = float(scale_px)
    for module in modules:
        if module is None:
            continue
        for leaf in module.modules():
            if isinstance(leaf, nn.Conv2d):
                radius += (leaf.kernel_size[0] // 2 + leaf.stride[0] - 1) * scale
                scale *= leaf.stride[0]
            elif isinstance(leaf, Upsample2x):
                radius += scale
                scale /= 2.0
    return int(-(-radius // 1))


class MagnificationNet(nn.Module):
    """The algebra shared by the learned Eulerian networks (Oh2018Net, Ha2024Net).

    A subclass provides ``encode`` (frames -> texture, shape), ``decode_raw`` ((texture,
    shape) -> [-1, 1] frames), ``linear_manipulator`` and, unless linear, the bias-free
    modules ``manipulator_g`` and ``manipulator_h``. This class holds no parameters (a
    subclass's state dict is its own), only the manipulator (Eq. 2-4), the [0, 1]
    decode and the padded pair ``forward`` that the engine and the trainer call.
    """

    #: frames smaller than this (px) are padded up to it (0: only to a multiple of 4)
    min_size_px: int = 0

    def reset_parameters(self) -> None:
        """Truncated normal, std 0.02, cut at +-2 std (TF's truncated_normal_initializer)."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.trunc_normal_(module.weight, mean=0.0, std=0.02, a=-0.04, b=0.04)

    # --- manipulator ---------------------------------------------------------------
    def amplify(self, difference: torch.Tensor, alpha: torch.Tensor | float) -> torch.Tensor:
        """The change the manipulator adds to the base shape: ``h((alpha-1) g(diff))``.

        ``difference`` is ``M_b - M_a`` (Eq. 3) or a band-passed ``T(M)`` (Eq. 4); alpha
        is the total factor, a float or a tensor of N per-sample factors. With the
        linear manipulator this is ``(alpha - 1) * difference``.

        alpha < 1 (interpolation, attenuation) takes Eq. 2, the linear manipulator, with
        either manipulator (ours): the non-linear one was trained for alpha in [1, 100] and,
        given a negative added gain, attenuates only in part (static mode, 0.5-1 px: x0.72-
        0.78 for alpha 0.5 and x0.23-0.34 for alpha 0 with ``oh2018``, x0.91-0.96 for both
        with ``ha2024``), where Eq. 2 puts the shape between the two frames' (x0.50 / x0.00
        and x0.47 / x-0.03; tests/test_learned_weights.py).
        """
        gain = self._gain(alpha, difference)
        if self.linear_manipulator:
            return gain * difference
        if isinstance(gain, float) and gain < 0:
            return gain * difference
        amplified = self.manipulator_h(gain * self.manipulator_g(difference))
        if isinstance(gain, float):
            return amplified
        return torch.where(gain < 0, gain * difference, amplified)

    def manipulate(
        self, shape_a: torch.Tensor, shape_b: torch.Tensor, alpha: torch.Tensor | float
    ) -> torch.Tensor:
        """Eq. 3 with frame b as the base: ``M_b + h((alpha - 1) g(M_b - M_a))``."""
        return shape_b + self.amplify(shape_b - shape_a, alpha)

    @staticmethod
    def _gain(alpha: torch.Tensor | float, like: torch.Tensor) -> torch.Tensor | float:
        if isinstance(alpha, torch.Tensor):
            alpha = alpha.to(device=like.device, dtype=like.dtype)
            if alpha.dim() > 0:
                alpha = alpha.reshape(-1, 1, 1, 1)
            return alpha - 1.0
        return float(alpha) - 1.0

    def decode(self, texture: torch.Tensor, shape: torch.Tensor, clip: bool = True) -> torch.Tensor:
        """(texture, shape) -> frames (N, 3, H, W) in [0, 1] (clipped when ``clip``)."""
        out = (self.decode_raw(texture, shape) + 1.0) * 0.5
        return out.clamp(0.0, 1.0) if clip else out

    def forward(
        self,
        frame_a: torch.Tensor,
        frame_b: torch.Tensor,
        alpha: torch.Tensor | float,
        clip: bool = True,
    ) -> torch.Tensor:
        """Frame b with its motion relative to frame a magnified alpha times (total factor).

        Frames (N, 3, H, W) float in [0, 1], any H, W (reflect-padded to multiples of 4
        and cropped back); alpha a float or (N,) tensor. Returns (N, 3, H, W) in [0, 1].
        """
        height, width = frame_b.shape[-2:]
        pair = pad_to_multiple(torch.cat([frame_a, frame_b], dim=0), min_size=self.min_size_px)
        texture, shape = self.encode(pair)
        n = frame_a.shape[0]
        shape_m = self.manipulate(shape[:n], shape[n:], alpha)
        out = self.decode(texture[n:], shape_m, clip=clip)
        return out[..., :height, :width]


class Oh2018Net(MagnificationNet):
    """Encoder, manipulator and decoder of Oh et al. 2018 (see the module docstring).

    Args:
        linear_manipulator: use Eq. 2 (``M_a + alpha (M_b - M_a)``, no parameters)
            instead of the non-linear Eq. 3.
        shape_conv: add a conv3x3 + ReLU before the shape ResBlocks (METHODS.md's
            reading; the released configuration has none).
        manipulator_kernel: kernel of g (7 released, 3 in the paper's text).
        channels: width of the encoder, texture and shape representations (32).
    """

    #: at 1/4 resolution the reflection pads need 2 px: a frame of 4 px or less failed
    min_size_px = 8

    def __init__(
        self,
        linear_manipulator: bool = False,
        shape_conv: bool = False,
        manipulator_kernel: int = 7,
        channels: int = 32,
    ) -> None:
        super().__init__()
        self.config = {
            "linear_manipulator": bool(linear_manipulator),
            "shape_conv": bool(shape_conv),
            "manipulator_kernel": int(manipulator_kernel),
            "channels": int(channels),
        }
        c = int(channels)
        self.linear_manipulator = bool(linear_manipulator)
        self.encoder = nn.Sequential(
            conv_relu(3, c // 2, 7),
            conv_relu(c // 2, c, 3, stride=2),
            res_blocks(c, 3),
        )
        self.texture_branch = nn.Sequential(conv_relu(c, c, 3, stride=2), res_blocks(c, 2))
        shape_layers: list[nn.Module] = [conv_relu(c, c, 3)] if shape_conv else []
        self.shape_branch = nn.Sequential(*shape_layers, res_blocks(c, 2))
        if self.linear_manipulator:
            self.manipulator_g = None
            self.manipulator_h = None
        else:
            self.manipulator_g = conv_relu(c, c, int(manipulator_kernel))
            self.manipulator_h = nn.Sequential(Conv(c, c, 3), ResBlock(c))
        self.texture_up = nn.Sequential(Upsample2x(), conv_relu(c, c, 3))
        self.decoder = nn.Sequential(
            res_blocks(2 * c, 9),
            Upsample2x(),
            conv_relu(2 * c, c, 3),
            Conv(c, 3, 7),
        )
        self.reset_parameters()

    # --- encoder -------------------------------------------------------------------
    def trunk(self, frame: torch.Tensor) -> torch.Tensor:
        """Common encoding (N, 32, H/2, W/2) of frames (N, 3, H, W) in [0, 1]."""
        check_size(frame)
        return self.encoder(frame * 2.0 - 1.0)

    def encode(self, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames (N, 3, H, W) in [0, 1] -> texture (N, 32, H/4, W/4), shape (N, 32, H/2, W/2)."""
        common = self.trunk(frame)
        return self.texture_branch(common), self.shape_branch(common)

    def receptive_radius_px(self) -> tuple[int, int]:
        """Bounds (px) on how far :meth:`encode` and manipulator + decoder look around a pixel."""
        encode = max(
            conv_radius_px([self.encoder, self.texture_branch]),
            conv_radius_px([self.encoder, self.shape_branch]),
        )
        manipulator = [self.manipulator_g, self.manipulator_h]
        decode = max(
            conv_radius_px([*manipulator, self.decoder], 2.0),
            conv_radius_px([self.texture_up, self.decoder], 4.0),
        )
        return encode, decode

    # --- decoder -------------------------------------------------------------------
    def decode_raw(self, texture: torch.Tensor, shape: torch.Tensor) -> torch.Tensor:
        """(texture, shape) -> frames in the network's [-1, 1] units, not clipped."""
        if texture.shape[-2] * 2 != shape.shape[-2] or texture.shape[-1] * 2 != shape.shape[-1]:
            raise ValueError(
                f"texture {tuple(texture.shape[-2:])} must be half the size of the shape "
                f"representation {tuple(shape.shape[-2:])}."
            )
        return self.decoder(torch.cat([self.texture_up(texture), shape], dim=1))
