"""Inference-only copies of the learned networks with oneDNN's fused convolutions (CPU).

What matters:

- The networks are long chains of ``reflect pad -> conv3x3 -> ReLU`` and ResBlocks
  ``x + conv(relu(conv(x)))``. In eager PyTorch every ReLU and every residual add is a
  separate pass over the activations; in bfloat16 on our 2-core CPU each costs about half
  a convolution (profile of ha2024's decoder at 640x360: convolutions 52 %, reflect
  padding 18 %, adds 10 %, ReLUs 11 %). oneDNN can apply both inside the convolution
  (post-ops), which is what ``torch.compile`` emits on the CPU
  (``torch.ops.mkldnn._convolution_pointwise`` and its ``.binary`` form). Calling those
  ops directly gives the fusion without compiling: ha2024's bf16 decoder alone at
  640x360 went from 57 to 42.5 ms on one thread (1.34x), and end to end, static mode, 2
  threads, ha2024 in bf16 from 21.4 to 25.4 fps (1.18x; fp32 1.09x, oh2018 1.03x fp32
  and 1.15x bf16: ``python benchmarks/bench_fused.py``, results in
  ``benchmarks/results/bench_fused.json``).
- **Same numbers.** In fp32 the fused result is bit-identical to the module's (the ReLU
  and the add act on the same fp32 values; with the upsampling at the low resolution,
  below, equal up to the order of summation, about 1e-7). In bf16 it is *more* accurate: the add is
  done before the one rounding to bf16, where the module rounds the convolution's output
  and then the sum (measured: mean 0.003, at most 0.023 of the [-1, 1] output range apart).
- :func:`fuse_for_inference` returns a deep copy of a network in which every
  :class:`~torch.nn.Sequential` or ResBlock child is replaced by a :class:`FusedStack`;
  the caller's network is not changed. Patterns fused: ``[ReflectionPad2d] Conv2d
  [ReLU]`` and ResBlocks (with or without activation or skip, ``nets.removal``).
  Anything else (a switched ResBlock during learning-to-remove) runs as its module. The
  reflect padding itself stays a separate op: oneDNN pads with zeros only.
- **Upsampling at the low resolution** (``subpixel=True``, the default): each nearest x2
  upsampling and the 3x3 convolution after it run as one convolution at the low
  resolution with 4x the output channels (and, at the decoder's end, the 7x7 convolution
  after that on the same 2x2-phase form), then ``F.pixel_shuffle``
  (``nets/subpixel.py``); equal up to the order of summation.
- Used only where it can be: on the CPU, with grad disabled (``torch.inference_mode``
  or ``no_grad``), and when this torch build has the ops for the weights' dtype on this
  CPU (:func:`fused_ops_available`; bf16 needs AVX-512 or AVX-NE-CONVERT);
  otherwise a FusedStack runs its original module, so results never depend on it.
  ``torch.ops.mkldnn._convolution_pointwise`` is a private op of PyTorch (stable since
  2.0, used by its own compiler); should a torch release drop it, the plain path runs.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .oh2018 import ResBlock, Upsample2x
from .removal import PrunedResBlock
from .subpixel import phase_conv_weight, phase_padding, phase_reflect_ring, subpixel_weight


def fused_ops_available(dtype: torch.dtype = torch.float32) -> bool:
    """True when this torch build has oneDNN and its fused convolution ops for ``dtype``.

    For a dtype other than fp32 the op is tried once on a tiny input (the answer is kept):
    oneDNN's bf16 convolution needs AVX-512 (BW, VL, DQ) or AVX-NE-CONVERT and raises a
    RuntimeError on other CPUs (seen on an AVX2-only AMD EPYC), where torch's own bf16
    convolution still runs, emulated.
    """
    if not torch.backends.mkldnn.is_available():
        return False
    try:
        found = hasattr(torch.ops.mkldnn, "_convolution_pointwise") and hasattr(
            torch.ops.mkldnn._convolution_pointwise, "binary"
        )
    except (AttributeError, RuntimeError):
        return False
    if not found or dtype == torch.float32:
        return found
    if dtype not in _DTYPE_PROBES:
        _DTYPE_PROBES[dtype] = _fused_conv_runs(dtype)
    return _DTYPE_PROBES[dtype]


#: whether the fused convolution runs in a dtype on this CPU (filled by the first probe)
_DTYPE_PROBES: dict[torch.dtype, bool] = {}


def _fused_conv_runs(dtype: torch.dtype) -> bool:
    """Run one fused 1x1 convolution in ``dtype``; False if oneDNN refuses it here."""
    x = torch.ones(1, 1, 2, 2, dtype=dtype).contiguous(memory_format=torch.channels_last)
    weight = torch.ones(1, 1, 1, 1, dtype=dtype).contiguous(memory_format=torch.channels_last)
    try:
        with torch.inference_mode():
            torch.ops.mkldnn._convolution_pointwise(
                x, weight, None, [0, 0], [1, 1], [1, 1], 1, "relu", [], ""
            )
    except RuntimeError:
        return False
    return True


@dataclass
class _ConvStep:
    """``[reflect pad] -> conv2d [+ other] [-> relu]``, one oneDNN call after the pad."""

    weight: torch.Tensor
    bias: torch.Tensor | None
    reflect: tuple[int, int, int, int] | None  # F.pad order (left, right, top, bottom)
    padding: list[int]  # the convolution's own zero padding
    stride: list[int]
    relu: bool

    def __call__(
        self, x: torch.Tensor, other: torch.Tensor | None = None, ring: bool = False
    ) -> torch.Tensor:
        """The step on ``x``; with ``ring`` (inside a :class:`_PaddedChain`) ``x`` and
        ``other`` already carry their 1 px reflected ring, and so does the output."""
        padding = self.padding
        if ring:
            padding = [1, 1]  # zeros read only by the ring's outputs, rewritten below
        elif self.reflect is not None:
            x = F.pad(x, self.reflect, mode="reflect")
        ops = torch.ops.mkldnn._convolution_pointwise
        args = (padding, self.stride, [1, 1], 1)
        if other is None:
            out = ops(x, self.weight, self.bias, *args, "relu" if self.relu else "none", [], "")
        else:
            unary = "relu" if self.relu else None
            out = ops.binary(x, other, self.weight, self.bias, *args, "add", None, unary, [], None)
        return _reflect_ring(out) if ring else out


@dataclass
class _ResStep:
    """``conv2(act(conv1(x))) (+ x)``: the activation fused into conv1, the skip into conv2."""

    conv1: _ConvStep
    conv2: _ConvStep
    skip: bool

    def __call__(self, x: torch.Tensor, ring: bool = False) -> torch.Tensor:
        hidden = self.conv1(x, ring=ring)
        return self.conv2(hidden, x if self.skip else None, ring=ring)


#: the reflect padding a chain step keeps around its activations (F.pad order)
_RING = (1, 1, 1, 1)


def _reflect_ring(x: torch.Tensor) -> torch.Tensor:
    """Rewrite, in place, the 1 px border of ``x`` (N, C, H + 2, W + 2) as the reflection
    of its interior (what ``F.pad(interior, (1, 1, 1, 1), mode="reflect")`` holds there)."""
    x[:, :, 0] = x[:, :, 2]
    x[:, :, -1] = x[:, :, -3]
    x[:, :, :, 0] = x[:, :, :, 2]
    x[:, :, :, -1] = x[:, :, :, -3]
    return x


def _ring_step(step) -> bool:
    """True for steps a :class:`_PaddedChain` can run: 3x3, stride 1, reflect pad 1 only."""
    if isinstance(step, _ResStep):
        return _ring_step(step.conv1) and _ring_step(step.conv2)
    return (
        isinstance(step, _ConvStep)
        and step.reflect == _RING
        and step.padding == [0, 0]
        and step.stride == [1, 1]
        and tuple(step.weight.shape[-2:]) == (3, 3)
    )


@dataclass
class _PaddedChain:
    """Consecutive 3x3 reflect-padded steps run on activations that keep their padding.

    Reflect-padding every activation is a copy of the whole tensor: about a quarter of
    ha2024's bf16 time at 640x360 went into ``F.pad``. Here the input is padded once (N, C,
    H + 2, W + 2); each convolution runs on the padded tensor with oneDNN's own zero padding
    of 1 px (``step(x, ring=True)``), so its interior H x W outputs read only real data and
    equal the convolution of the reflect-padded activation; its ring is garbage and is
    rewritten in place as the interior's reflection (:func:`_reflect_ring`, O(H + W)); the
    interior is returned at the end. The ring costs (2H + 2W + 4) / HW more convolution
    work, 3.5 % at ha2024's 90x160 latent, and oneDNN's zero-padded kernel is itself slower
    than its unpadded one, so the gain is small: ha2024 bf16, batch 4, 640x360, 1.034x (36.5
    against 37.8 ms a frame); oh2018 0.995x, i.e. none (5 alternating rounds, ``python
    benchmarks/bench_padded_chain.py``). Bit-identical in fp32 (``tests/test_fused.py``).
    """

    steps: list

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = F.pad(x, _RING, mode="reflect")
        for step in self.steps:
            x = step(x, ring=True)
        return x[:, :, 1:-1, 1:-1].contiguous(memory_format=torch.channels_last)


def _chain_rings(steps: list) -> list:
    """``steps`` with every run of :func:`_ring_step` steps holding two or more convolutions
    as one :class:`_PaddedChain` (a lone convolution gains nothing: it pads once anyway)."""
    out: list = []
    run: list = []
    for step in [*steps, None]:
        if step is not None and _ring_step(step):
            run.append(step)
            continue
        if len(run) > 1 or (run and isinstance(run[0], _ResStep)):  # two or more convolutions
            out.append(_PaddedChain(run))
        else:
            out.extend(run)
        run = []
        if step is not None:
            out.append(step)
    return out


def _channels_last(weight: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return weight.to(like.dtype).contiguous(memory_format=torch.channels_last)


def _phase_bias(bias: torch.Tensor | None, phase_major: bool) -> torch.Tensor | None:
    """A convolution's bias for its 4 phases, in the order of the phase weights."""
    if bias is None:
        return None
    return bias.repeat(4) if phase_major else bias.repeat_interleave(4)


def _plain_conv(weight: torch.Tensor, bias: torch.Tensor | None, relu: bool) -> _ConvStep:
    """A conv step without padding of any kind, stride 1 (its input comes padded)."""
    return _ConvStep(weight, bias, None, [0, 0], [1, 1], relu)


@dataclass
class _SubpixelConv:
    """``nearest x2 -> reflect pad 1 -> conv3x3 [-> relu]`` run at the low resolution
    (``nets/subpixel.py``: replicate pad 1, phase weights, ``F.pixel_shuffle``)."""

    conv: _ConvStep

    @classmethod
    def of(cls, conv: _ConvStep, phase_major: bool = False) -> _SubpixelConv:
        weight = _channels_last(subpixel_weight(conv.weight, phase_major), conv.weight)
        return cls(_plain_conv(weight, _phase_bias(conv.bias, phase_major), conv.relu))

    def phases(self, x: torch.Tensor, margin: int = 0) -> torch.Tensor:
        """(N, C, h, w) -> the upsampled convolution's 2x2 blocks (N, 4 C_out, h, w), with
        ``margin`` more px each side computed from the input's replicated border."""
        return self.conv(F.pad(x, (1 + margin,) * 4, mode="replicate"))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return F.pixel_shuffle(self.phases(x), 2)


@dataclass
class _SubpixelTail:
    """``nearest x2 -> conv3x3 [-> relu] -> reflect pad r -> conv (2r+1)^2 [-> relu]``
    without forming the full-resolution activation (``nets/subpixel.py``): the first
    convolution in phase form, the second on its phase form, one ``F.pixel_shuffle``."""

    first: _SubpixelConv
    second: _ConvStep
    pad: int

    @classmethod
    def of(cls, first: _ConvStep, second: _ConvStep) -> _SubpixelTail:
        weight = _channels_last(phase_conv_weight(second.weight), second.weight)
        last = _plain_conv(weight, _phase_bias(second.bias, phase_major=False), second.relu)
        pad = phase_padding(second.weight.shape[-1] // 2)
        return cls(_SubpixelConv.of(first, phase_major=True), last, pad)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        # the first convolution computes a margin of ``pad`` px, then rewritten in place as
        # the padding the second one needs: no padded copy of the 4 x C channels
        phases = phase_reflect_ring(self.first.phases(x, self.pad), self.pad)
        return F.pixel_shuffle(self.second(phases), 2)


def _subpixel_ready(step, radius: int | None = 1) -> bool:
    """True for a stride-1 conv step with symmetric reflect padding of ``radius`` (any
    when None) equal to its kernel's radius and no zero padding of its own."""
    if not isinstance(step, _ConvStep) or step.padding != [0, 0] or step.stride != [1, 1]:
        return False
    k = step.weight.shape[-1]
    r = k // 2
    square = step.weight.shape[-2] == k and k % 2 == 1
    return square and step.reflect == (r,) * 4 and (radius is None or r == radius)


def _fold_subpixel(steps: list) -> list:
    """``steps`` with each ``Upsample2x, 3x3 conv step [, (2r+1)^2 conv step]`` run at
    the low resolution (:class:`_SubpixelTail`, else :class:`_SubpixelConv`)."""
    out: list = []
    i = 0
    while i < len(steps):
        step = steps[i]
        if type(step) is Upsample2x and i + 1 < len(steps) and _subpixel_ready(steps[i + 1]):
            after = steps[i + 2] if i + 2 < len(steps) else None
            if _subpixel_ready(after, radius=None):
                out.append(_SubpixelTail.of(steps[i + 1], after))
                i += 3
            else:
                out.append(_SubpixelConv.of(steps[i + 1]))
                i += 2
            continue
        out.append(step)
        i += 1
    return out


def _conv_step(pad: nn.Module | None, conv: nn.Conv2d, relu: bool) -> _ConvStep | None:
    """The fused step of ``pad -> conv [-> relu]``, or None when oneDNN cannot fuse it."""
    if conv.groups != 1 or conv.dilation != (1, 1) or conv.padding_mode != "zeros":
        return None
    if isinstance(conv.padding, str):
        return None
    reflect = None
    if pad is not None:
        if not isinstance(pad, nn.ReflectionPad2d):
            return None
        reflect = tuple(int(p) for p in pad.padding)
    weight = conv.weight.detach().contiguous(memory_format=torch.channels_last)
    bias = None if conv.bias is None else conv.bias.detach()
    return _ConvStep(weight, bias, reflect, list(conv.padding), list(conv.stride), relu)


def _leaves(module: nn.Module) -> list[nn.Module]:
    """A Sequential flattened into the modules it runs in order (Sequentials are compositions)."""
    if type(module) is nn.Sequential or (
        isinstance(module, nn.Sequential) and type(module).forward is nn.Sequential.forward
    ):
        return [leaf for child in module for leaf in _leaves(child)]
    return [module]


def _res_step(block: nn.Module) -> _ResStep | None:
    activation, skip = True, True
    if isinstance(block, PrunedResBlock):
        activation, skip = block.activation, block.skip
    elif type(block) is not ResBlock:
        return None
    parts = []
    for conv, relu in ((block.conv1, activation), (block.conv2, False)):
        leaves = _leaves(conv)
        if len(leaves) != 2 or not isinstance(leaves[1], nn.Conv2d):
            return None
        parts.append(_conv_step(leaves[0], leaves[1], relu))
    if None in parts:
        return None
    return _ResStep(parts[0], parts[1], skip)


def _compile(module: nn.Module, subpixel: bool = True) -> list:
    """The steps of ``module``: fused conv / ResBlock steps, or modules run as they are;
    with ``subpixel``, upsampling and the convolutions after it at the low resolution."""
    leaves = _leaves(module)
    steps: list = []
    i = 0
    while i < len(leaves):
        leaf = leaves[i]
        res = _res_step(leaf)
        if res is not None:
            steps.append(res)
            i += 1
            continue
        pad = None
        j = i
        if isinstance(leaf, nn.ReflectionPad2d) and j + 1 < len(leaves):
            pad, j = leaf, j + 1
        if isinstance(leaves[j], nn.Conv2d):
            relu = j + 1 < len(leaves) and type(leaves[j + 1]) is nn.ReLU
            step = _conv_step(pad, leaves[j], relu)
            if step is not None:
                steps.append(step)
                i = j + 1 + int(relu)
                continue
        steps.append(leaf)
        i += 1
    if subpixel:
        steps = _fold_subpixel(steps)
    return _chain_rings(steps)


#: > 0 inside :func:`unfused` (nesting depth)
_unfused_depth = 0


@contextlib.contextmanager
def unfused() -> Iterator[None]:
    """Run every FusedStack as its original modules inside this block.

    For counting: ``torch.utils.flop_counter`` knows aten's convolution, not oneDNN's
    fused op, so ``motionmag bench`` counts a frame's FLOPs on the plain path (the same
    arithmetic).
    """
    global _unfused_depth
    _unfused_depth += 1
    try:
        yield
    finally:
        _unfused_depth -= 1


class FusedStack(nn.Module):
    """A Sequential or ResBlock run as fused oneDNN steps at inference, as itself otherwise.

    The steps hold the weights as they are now (detached, channels-last): build it after
    loading weights and casting, and do not train it.
    """

    def __init__(self, module: nn.Module, subpixel: bool = True) -> None:
        super().__init__()
        self.module = module
        self._steps = _compile(module, subpixel)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if _unfused_depth or torch.is_grad_enabled() or x.device.type != "cpu":
            return self.module(x)
        for step in self._steps:
            x = step(x)
        return x


def fuse_for_inference(net: nn.Module, subpixel: bool = True) -> nn.Module:
    """A copy of ``net`` whose Sequential and ResBlock children run fused (see the module doc).

    ``subpixel`` also runs each nearest x2 upsampling and the convolutions after it at
    the low resolution (``nets/subpixel.py``; equal up to the order of summation, so
    ``subpixel=False`` gives the bit-identical copy).

    Returns ``net`` itself (unchanged, not copied) when this torch has no fused ops, or
    none for the dtype of ``net``'s weights on this CPU.
    """
    weights = next(net.parameters(), None)
    if not fused_ops_available(torch.float32 if weights is None else weights.dtype):
        return net
    fused = copy.deepcopy(net)
    for name, child in list(fused.named_children()):
        if isinstance(child, (nn.Sequential, ResBlock, PrunedResBlock)):
            setattr(fused, name, FusedStack(child, subpixel))
    return fused
