"""Learned Eulerian magnification in the engine: Oh et al. (2018), Ha et al. (2024), every mode.

What matters:

- One method class for every network with Oh2018Net's interface
  (:class:`~motionmag.nets.oh2018.MagnificationNet`: ``encode``, ``amplify``,
  ``decode``): ``oh2018`` and ``ha2024`` differ only in the registered model they load
  (:func:`build_learned`). For ha2024 texture and shape are two channel groups of one
  1/4-resolution latent; everything below holds unchanged.

- The network is an :class:`~motionmag.magnify.base.EulerianMethod`: ``encode`` runs the
  encoder on the current frame and keeps (texture, shape); the representation the
  temporal selector sees is the shape M alone. ``decode`` adds the manipulator's change
  for the selection and decodes with the *current* frame's texture (Oh et al. Sec. 3.4):
  ``decoder(V(t), M(t) + h((alpha - 1) g(S(t))))`` where S is the selection:
  ``M(t) - M(ref)`` (static; Eq. 3 with the reference as frame a), ``M(t) - M(t-1)``
  (dynamic), or a band-passed ``T(M)(t)`` (temporal, Eq. 4). alpha is the total factor,
  so alpha = 1 decodes the frame unchanged (h(0) = 0) and 0 < alpha < 1 attenuates.
- Any frame size: frames are reflect-padded to a multiple of 4 (and to the network's
  ``min_size_px``) and cropped back. The
  reference encoding of static mode is computed once (the selector keeps it). Runs in
  ``torch.inference_mode``, on the engine's device, channels-last.
- Speed path (method options, :class:`Oh2018Options`): ``backend="onnx"`` runs the
  encoder and the manipulator + decoder with ONNX Runtime (``magnify/onnx_backend.py``;
  EVALUATION.md 7: 2x faster than torch at 1080p for the Oh net, CPU only).
  ``precision="bf16"`` runs the *decoder* in bfloat16 on a copy of the network whose
  weights are cast once (``torch.autocast``, our first version, re-cast them at every
  call and was far slower; bench numbers in the README); the encoder,
  the selection ``M(t) - M(ref)`` and the manipulator stay fp32: a bf16 encoder rounds M
  to 8 mantissa bits and loses most of a 0.05 px motion's ``M_b - M_a`` (measured 29-46 %
  relative error with random weights, tests/test_learned_speed_path.py), while the
  decoder sees the already amplified change. ``tile=PX`` runs both parts on overlapping
  tiles of at most PX x PX px plus a margin of the network's receptive-field bound
  (``receptive_radius_px``), so activation memory is bounded by the tile, not the frame
  (the representations kept for the selector are whole: 1/4 and 1/2 resolution); with
  that margin a tiled frame equals the untiled one up to float rounding. Frames are
  pushed one at a time by the engine (no batching across frames).
- Fused convolutions (``fused=True``, the default; torch backend on the CPU): the
  runner works on copies of the network whose convolution chains run as oneDNN
  convolutions with the ReLU and the residual add fused in (``nets/fused.py``): the same
  numbers in fp32, one rounding fewer in bf16; ha2024 in bf16 1.18x faster end to end
  (``benchmarks/bench_fused.py``). ``fused=False`` runs the network's own modules.
- Self-ensemble (``views=2`` or ``4``; ours in this field, after the "geometric
  self-ensemble" of Lim et al. 2017, EDSR, and Timofte et al. 2016): each frame is also
  run mirrored left-right (2) and up-down and both (4), as extra batch entries through
  encoder, selector, manipulator and decoder; the outputs are mirrored back and
  averaged. The magnified motion is unchanged in expectation (mirroring is an exact
  symmetry of the task), the networks' direction-dependent errors partly cancel:
  validation SSIM 0.819 -> 0.824 / 0.827 (ha2024) and 0.816 -> 0.821 / 0.824 (oh2018)
  at 2 / 4 views, for 2x / 4x the compute (README, Shipped weights). Transposes (the
  other 4 of EDSR's 8) would change a non-square frame's shape, so they are left out.
- Weights: the shipped ``<name>`` weights (``motionmag.models.create_model``), or a file
  given with the method option ``weights=PATH.safetensors`` (e.g. a run exported with
  ``motionmag train <name> --export``). The method is always registered; it becomes the
  default method only when its model card says so (``registry.default_method``).
"""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass

import torch

from ..allocator import keep_freed_memory
from ..errors import UsageError
from ..nets.fused import fuse_for_inference
from ..temporal import Rep
from .base import EulerianMagnifier, EulerianMethod, Magnifier, PassThrough
from .config import MagnifyConfig, check_alpha


@dataclass
class Oh2018Options:
    """Options of the learned methods ``oh2018`` and ``ha2024`` (``--set KEY=VALUE``)."""

    weights: str | None = None  # a .safetensors file instead of the shipped weights
    pretrained: bool = True  # False: random weights (tests only)
    channels_last: bool = True
    backend: str = "torch"  # "torch" | "onnx" (ONNX Runtime, CPU; needs the [onnx] extra)
    precision: str = "fp32"  # "fp32" | "bf16" (decoder, torch only) | "auto" (bf16 if native)
    tile: int | None = None  # px: run on overlapping tiles of at most this size (None: whole)
    tile_margin_px: int | None = None  # overlap each side (None: the receptive-field bound)
    threads: int | None = None  # ONNX Runtime intra-op threads (None: torch's thread count)
    fused: bool = True  # oneDNN-fused convolutions on the CPU (nets/fused.py; torch backend)
    batch: int = 1  # frames decoded together (> 1: faster on CPU, batch - 1 frames of latency)
    views: int = 1  # self-ensemble: 1, 2 (+ mirrored left-right) or 4 (+ up-down, both)
    # each output takes its input frame's colour distribution (ours, see match_colours)
    color_match: bool = True


BACKENDS = ("torch", "onnx")
#: the mirror images of the self-ensemble, as the dims ``torch.flip`` flips: view k of
#: ``views`` is ``MIRRORS[k]`` (identity, left-right, up-down, both)
MIRRORS: tuple[tuple[int, ...], ...] = ((), (-1,), (-2,), (-2, -1))
VIEWS = (1, 2, 4)


#: pixels the colour statistics of :func:`match_colours` are read from, at most (every
#: k-th pixel): the mean and covariance of 65k pixels are those of the frame to ~1e-3
COLOUR_SAMPLE_PX = 65536
#: added to both covariances' diagonals ([0, 1] units: about 2.5 grey levels squared;
#: ours), so a flat or grey frame maps by a finite matrix; equal covariances still map by
#: the identity
COLOUR_VARIANCE_FLOOR = 1e-4


def match_colours(out: torch.Tensor, frame: torch.Tensor) -> torch.Tensor:
    """``out`` (N, 3, H, W) in [0, 1] given the mean and covariance of ``frame``'s colours,
    image by image, by the linear map that changes its colours least (the linear
    Monge-Kantorovitch colour transfer of Pitie and Kokaram 2007:
    ``T = C_o^-1/2 (C_o^1/2 C_f C_o^1/2)^1/2 C_o^-1/2``, ``out' = m_f + T (out - m_o)``).

    Ours, not in the papers: the networks trained here shift colours wherever they run
    (a lawn turned olive, up to -21 levels of green in a frame with no motion; review,
    stop 59), a bias of their decoders on photographs unlike the synthetic training
    scenes. A motion moves colours without changing their distribution, so a global map
    leaves it alone, where local colour means (tried first) drew a colour ghost around a
    coloured object moved 12 px. On three photos and the grey clock moved 0.3 px at alpha
    10 the reference frame's bias fell from up to -21 levels to 0.12 at most, the static
    gain moved by 0.025 at most (``benchmarks/colour_match.py``)."""
    x = out.flatten(2)
    step = max(1, x.shape[-1] // COLOUR_SAMPLE_PX)
    xs, ys = x[..., ::step].double(), frame.flatten(2)[..., ::step].double()
    mean_out, mean_in = xs.mean(-1, keepdim=True), ys.mean(-1, keepdim=True)

    def covariance(v: torch.Tensor, mean: torch.Tensor) -> torch.Tensor:
        centred = v - mean
        return centred @ centred.transpose(-1, -2) / v.shape[-1]

    def power(c: torch.Tensor, exponent: float) -> torch.Tensor:
        values, vectors = torch.linalg.eigh(c)
        values = values.clamp_min(1e-12) ** exponent
        return vectors @ torch.diag_embed(values) @ vectors.transpose(-1, -2)

    floor = COLOUR_VARIANCE_FLOOR * torch.eye(3, dtype=xs.dtype, device=xs.device)
    c_out, c_in = covariance(xs, mean_out) + floor, covariance(ys, mean_in) + floor
    half, inverse_half = power(c_out, 0.5), power(c_out, -0.5)
    transfer = inverse_half @ power(half @ c_in @ half, 0.5) @ inverse_half
    shift = (mean_in - transfer @ mean_out).to(x.dtype)  # the statistics in float64 only
    mapped = torch.baddbmm(shift, transfer.to(x.dtype), x)
    return mapped.view_as(out).clamp_(0.0, 1.0)


def mirrored(x: torch.Tensor, mirrors: tuple[tuple[int, ...], ...]) -> torch.Tensor:
    """Frames (N, ...) -> their images under each of ``mirrors``, view-major (K * N, ...)."""
    if len(mirrors) == 1:
        return x
    return torch.cat([x.flip(dims) if dims else x for dims in mirrors])


def average_mirrored(out: torch.Tensor, mirrors: tuple[tuple[int, ...], ...]) -> torch.Tensor:
    """Outputs of :func:`mirrored` inputs (K * N, ...) -> (N, ...): mirrored back, averaged."""
    if len(mirrors) == 1:
        return out
    views = out.unflatten(0, (len(mirrors), -1))
    pairs = zip(views, mirrors, strict=True)
    return torch.stack([v.flip(dims) if dims else v for v, dims in pairs]).mean(dim=0)


#: precisions of the decoder, at inference here and in training (``train/oh2018.py``)
PRECISIONS = ("fp32", "bf16")


#: at inference also "auto" (:func:`resolve_precision`)
INFERENCE_PRECISIONS = (*PRECISIONS, "auto")


def check_precision(precision: str, choices: tuple[str, ...] = PRECISIONS) -> None:
    """UsageError unless ``precision`` is one of ``choices`` (:data:`PRECISIONS`)."""
    if precision not in choices:
        raise UsageError(f"unknown precision '{precision}': choose one of {', '.join(choices)}.")


def cpu_has_bf16() -> bool:
    """True when this CPU computes bfloat16 natively (AVX512-BF16 or AMX), as oneDNN uses it.

    Elsewhere torch emulates bf16 and ``precision="bf16"`` is far slower than fp32: 6.6x
    for ``ha2024`` and ``oh2018`` at 640x360 on an AVX2-only AMD EPYC (``motionmag bench
    oh2018 ha2024 --precision bf16 --sizes 640x360 --frames 8 --runs 3 --no-memory --json
    benchmarks/results/bench_bf16_no_native.json``). Unknown (an older torch): assumed native.
    """
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    found = [getattr(torch.cpu, name, None) for name in probes]
    if not any(found):
        return True
    return any(bool(probe()) for probe in found if probe is not None)


def resolve_precision(precision: str, device: torch.device, backend: str = "torch") -> str:
    """``"auto"`` as a precision for inference: bf16 where it is native and runs, else fp32.

    bf16 is chosen on a CPU with bf16 instructions (:func:`cpu_has_bf16`) and the torch
    backend: there it was 1.6-4x faster than fp32 for the decoder (README, Speed); on
    other CPUs it is emulated and far slower, ONNX Runtime runs fp32 only, and on a GPU
    fp32 is fast already (ours). Other values are returned as they are.
    """
    if precision != "auto":
        return precision
    native = device.type == "cpu" and backend == "torch" and cpu_has_bf16()
    return "bf16" if native else "fp32"


def warn_if_bf16_is_emulated(device: torch.device, flag: str) -> None:
    """Warn that bf16 will be slow when ``device`` is a CPU without bf16 instructions."""
    if device.type == "cpu" and not cpu_has_bf16():
        warnings.warn(
            "this CPU has no bfloat16 instructions (AVX512-BF16 or AMX): precision bf16 is "
            f"emulated here, several times slower than fp32 (6.6x on an AVX2-only CPU); drop "
            f"{flag}.",
            stacklevel=3,
        )


#: tile positions and margins are multiples of this (the networks' total stride)
TILE_ALIGN_PX = 4


class TorchRunner:
    """The network's per-frame parts in torch: ``encode`` and ``decode`` (manipulator + decoder).

    ``precision="bf16"`` runs only the decoder in bfloat16, on a bf16 copy of the network
    made here (weights cast once; the caller's model is not changed); the encoder and the
    manipulator's ``h((alpha - 1) g(S))`` stay fp32 (see the module docstring).
    """

    def __init__(
        self,
        model: torch.nn.Module,
        channels_last: bool = True,
        precision: str = "fp32",
        fused: bool = True,
    ) -> None:
        self.model = model
        self.channels_last = bool(channels_last)
        self.precision = precision
        # fused: a copy with oneDNN-fused convolutions (nets/fused.py), the same fp32 numbers
        fuse = fuse_for_inference if fused else (lambda net: net)
        self.fused_model = fuse(model)
        self.decoder_model = self.fused_model
        if precision == "bf16":
            self.decoder_model = fuse(copy.deepcopy(model).to(torch.bfloat16))
            warn_if_bf16_is_emulated(next(model.parameters()).device, "--set precision=bf16")

    def _layout(self, x: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            return x.contiguous(memory_format=torch.channels_last)
        return x.contiguous()

    def encode(self, frame: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Frames (N, 3, H, W) in [0, 1], H and W multiples of 4 -> (texture, shape), fp32."""
        return self.fused_model.encode(self._layout(frame))

    def change(self, selection: torch.Tensor, alpha: float) -> torch.Tensor:
        """The manipulator's ``h((alpha - 1) g(S))``, always in fp32 (zero for alpha = 1)."""
        if alpha == 1.0:
            return torch.zeros_like(selection)
        return self.fused_model.amplify(self._layout(selection).float(), alpha)

    def decode(
        self,
        texture: torch.Tensor,
        shape: torch.Tensor,
        selection: torch.Tensor,
        alpha: float,
    ) -> torch.Tensor:
        """``decode(V, M + h((alpha - 1) g(S)))`` -> frames in [0, 1], fp32."""
        shape = self._layout(shape)
        if alpha != 1.0:
            shape = shape + self.change(selection, alpha)
        texture = self._layout(texture)
        if self.precision == "bf16":
            texture, shape = texture.to(torch.bfloat16), shape.to(torch.bfloat16)
        return self.decoder_model.decode(texture, shape, clip=True).float()


def _windows(size: int, tile: int, margin: int, least: int):
    """(start, stop, crop_start, crop_stop) of each tile along one axis of ``size`` px."""
    for start in range(0, size, tile):
        stop = min(start + tile, size)
        low, high = max(0, start - margin), min(size, stop + margin)
        if high - low < least:  # a network's smallest input (min_size_px)
            high = min(size, low + least)
            low = max(0, high - least)
        yield start, stop, low, high


def check_learned_options(
    model: torch.nn.Module,
    backend: str,
    precision: str,
    batch: int,
    views: int,
    tile: int | None,
    tile_margin_px: int | None,
) -> tuple[str, int | None, tuple[int, int]]:
    """UsageError for settings a learned method cannot run with; else the resolved
    precision, the tile side and its (encode, decode) margins (:class:`Oh2018Method`).

    Checked before anything is built, at alpha 1 too, where the method returns the
    frames unchanged: it accepted any setting there (``batch=0``, ``views=3``)."""
    device = next(model.parameters()).device
    precision = check_speed_settings(backend, precision, batch, views, tile, device)
    return precision, *_tiling(model, tile, tile_margin_px)


def check_speed_settings(
    backend: str = "torch",
    precision: str = "fp32",
    batch: int = 1,
    views: int = 1,
    tile: int | None = None,
    device: torch.device | str = "cpu",
) -> str:
    """UsageError for speed settings that cannot run together on ``device``; else the
    resolved precision. Needs no network: ``motionmag bench`` checks its flags with it
    before timing anything."""
    device = torch.device(device)
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise UsageError(f"batch {batch} is not a whole number of frames >= 1: give e.g. 4.")
    if isinstance(views, bool) or views not in VIEWS:
        choices = ", ".join(map(str, VIEWS))
        raise UsageError(f"views {views!r} is not one of {choices}: give e.g. --set views=4.")
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend '{backend}': choose one of {', '.join(BACKENDS)}.")
    check_precision(precision, INFERENCE_PRECISIONS)
    precision = resolve_precision(precision, device, backend)
    if backend == "onnx" and precision != "fp32":
        raise UsageError(
            f"precision '{precision}' runs only with backend torch: drop one of the two."
        )
    if backend == "onnx" and device.type != "cpu":
        raise UsageError(
            "backend 'onnx' runs on the CPU only: add --device cpu, or use --backend torch "
            "on the GPU."
        )
    if batch > 1 and (backend == "onnx" or tile is not None):
        why = "ONNX Runtime" if backend == "onnx" else "tiles"
        raise UsageError(
            f"batch decodes frames together on the untiled torch path; with {why} each "
            "frame is decoded alone, so batch would only add latency: drop batch."
        )
    return precision


def _tiling(
    model: torch.nn.Module, tile: int | None, margin: int | None
) -> tuple[int | None, tuple[int, int]]:
    """Tile side and (encode, decode) margins, rounded up to :data:`TILE_ALIGN_PX`."""
    if tile is None:
        return None, (0, 0)

    def align(px: int) -> int:
        return -(-int(px) // TILE_ALIGN_PX) * TILE_ALIGN_PX

    least = max(16, int(getattr(model, "min_size_px", 0)))
    if not isinstance(tile, int) or tile < least:
        raise UsageError(f"tile {tile} is not a whole number of px >= {least}: give e.g. 512.")
    if margin is not None:
        if not isinstance(margin, int) or margin < 0:
            raise UsageError(f"tile_margin_px {margin} is not a whole number of px >= 0.")
        return align(tile), (align(margin), align(margin))
    bound = getattr(model, "receptive_radius_px", None)
    if bound is None:
        raise UsageError(
            f"{type(model).__name__} does not say its receptive field: give tile_margin_px too."
        )
    encode_px, decode_px = bound()
    return align(tile), (align(encode_px), align(decode_px))


class Oh2018Method(EulerianMethod):
    """A learned encoder / manipulator / decoder (Oh et al. 2018) as an Eulerian method.

    Args:
        alpha: total magnification factor (>= 0).
        model: an :class:`~motionmag.nets.oh2018.Oh2018Net`, a
            :class:`~motionmag.nets.ha2024.Ha2024Net` or any
            :class:`~motionmag.nets.oh2018.MagnificationNet` (eval mode).
        channels_last: run convolutions channels-last (faster on CPU).
        backend: ``"torch"`` or ``"onnx"`` (ONNX Runtime on the CPU).
        precision: ``"fp32"`` or ``"bf16"`` (decoder only; torch backend), or ``"auto"``
            (:func:`resolve_precision`: bf16 where the CPU has it natively).
        tile: side (px) of the tiles each frame is processed in; None: the whole frame.
        tile_margin_px: overlap (px) around each tile; None: the network's
            ``receptive_radius_px()`` bound, for which tiled equals untiled.
        threads: ONNX Runtime intra-op threads (None: torch's thread count).
        fused: run the convolutions with oneDNN's fused ReLU and residual add on the CPU
            and each upsampling at the low resolution (``nets/fused.py``; equal in fp32
            up to the order of summation, torch backend).
        batch: frames the manipulator and decoder run on together (``decode_many``); the
            engine then returns outputs ``batch - 1`` frames later, in bursts.
        views: self-ensemble of 1, 2 or 4 mirror images (:data:`MIRRORS`), averaged.
        color_match: give each output its input frame's colour distribution
            (:func:`match_colours`); False: the network's colours.
    """

    def __init__(
        self,
        alpha: float,
        model: torch.nn.Module,
        channels_last: bool = True,
        backend: str = "torch",
        precision: str = "fp32",
        tile: int | None = None,
        tile_margin_px: int | None = None,
        threads: int | None = None,
        fused: bool = True,
        batch: int = 1,
        views: int = 1,
        color_match: bool = False,
    ) -> None:
        self.alpha = check_alpha(alpha)
        self.color_match = bool(color_match)
        precision, self.tile, self.margins = check_learned_options(
            model, backend, precision, batch, views, tile, tile_margin_px
        )
        self.batch_frames = batch
        self.mirrors = MIRRORS[:views]
        self.model = model.eval()
        self.backend = backend
        self.precision = precision
        self.channels_last = bool(channels_last) and backend == "torch"
        self.min_size_px = int(getattr(self.model, "min_size_px", 0))
        if backend == "onnx":
            from .onnx_backend import OnnxRunner

            self.runner = OnnxRunner(self.model, threads=threads)
        else:
            if next(self.model.parameters()).device.type == "cpu":
                keep_freed_memory()  # no page faults for per-frame tensors (allocator.py)
            if self.channels_last:
                self.model = self.model.to(memory_format=torch.channels_last)
            self.runner = TorchRunner(self.model, self.channels_last, precision, bool(fused))

    def _prepare(self, frame: torch.Tensor) -> torch.Tensor:
        """Frames (N, 3, H, W) -> padded (N, 3, H', W'); with views > 1 the frames'
        mirror images follow, each padded after mirroring (view-major: entry ``k * N + n``
        is frame n under ``MIRRORS[k]``), so view k is the network run on that image."""
        from ..nets.oh2018 import pad_to_multiple

        device = next(self.model.parameters()).device
        x = frame.to(device=device, dtype=torch.float32)
        return pad_to_multiple(mirrored(x, self.mirrors), min_size=self.min_size_px)

    def _merge_views(self, out: torch.Tensor, height: int, width: int) -> torch.Tensor:
        """Decoded views (K * N, 3, H', W') -> (N, 3, H, W): cropped, mirrored back, averaged."""
        return average_mirrored(out[..., :height, :width], self.mirrors).contiguous()

    def _tiles(self, height: int, width: int, margin: int):
        for y in _windows(height, self.tile, margin, self.min_size_px):
            for x in _windows(width, self.tile, margin, self.min_size_px):
                yield y, x

    def _encode_tiled(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Encode each tile with its margin; keep the representation of the tile itself."""
        height, width = x.shape[-2:]
        texture = shape = None
        for (y0, y1, ya, yb), (x0, x1, xa, xb) in self._tiles(height, width, self.margins[0]):
            part_t, part_s = self.runner.encode(x[..., ya:yb, xa:xb])
            ft, fs = (yb - ya) // part_t.shape[-2], (yb - ya) // part_s.shape[-2]
            if texture is None:
                texture = part_t.new_empty((*part_t.shape[:2], height // ft, width // ft))
                shape = part_s.new_empty((*part_s.shape[:2], height // fs, width // fs))
            texture[..., y0 // ft : y1 // ft, x0 // ft : x1 // ft] = part_t[
                ..., (y0 - ya) // ft : (y1 - ya) // ft, (x0 - xa) // ft : (x1 - xa) // ft
            ]
            shape[..., y0 // fs : y1 // fs, x0 // fs : x1 // fs] = part_s[
                ..., (y0 - ya) // fs : (y1 - ya) // fs, (x0 - xa) // fs : (x1 - xa) // fs
            ]
        return texture, shape

    def _decode_tiled(
        self,
        texture: torch.Tensor,
        shape: torch.Tensor,
        selection: torch.Tensor,
        padded: tuple[int, int],
    ) -> torch.Tensor:
        """Decode each tile from its margin-extended crop of the representations."""
        height, width = padded
        ft, fs = height // texture.shape[-2], height // shape.shape[-2]
        out = None
        for (y0, y1, ya, yb), (x0, x1, xa, xb) in self._tiles(height, width, self.margins[1]):
            part = self.runner.decode(
                texture[..., ya // ft : yb // ft, xa // ft : xb // ft],
                shape[..., ya // fs : yb // fs, xa // fs : xb // fs],
                selection[..., ya // fs : yb // fs, xa // fs : xb // fs],
                self.alpha,
            )
            if out is None:
                out = part.new_empty((*part.shape[:2], height, width))
            out[..., y0:y1, x0:x1] = part[..., y0 - ya : y1 - ya, x0 - xa : x1 - xa]
        return out

    @torch.inference_mode()
    def encode(self, frame: torch.Tensor) -> tuple[tuple, Rep]:
        """Frame (N, 3, H, W) in [0, 1] -> kept (texture, shape, (H, W), padded (H, W)), [shape]."""
        height, width = frame.shape[-2:]
        x = self._prepare(frame)
        if self.tile is None:
            texture, shape = self.runner.encode(x)
        else:
            texture, shape = self._encode_tiled(x)
        source = frame if self.color_match else None  # kept for match_colours
        return (texture, shape, (height, width), tuple(x.shape[-2:]), source), [shape]

    def _finish(self, out: torch.Tensor, source: torch.Tensor | None) -> torch.Tensor:
        """The decoded frames, their colours matched to ``source``'s (when kept)."""
        if source is None:
            return out
        return match_colours(out, source.to(out.device, out.dtype))

    @torch.inference_mode()
    def decode(self, kept: tuple, selected: Rep) -> torch.Tensor:
        """Decode ``M + h((alpha - 1) g(selection))`` with the frame's texture; [0, 1]."""
        texture, shape, (height, width), padded, source = kept
        (selection,) = selected
        if self.tile is None:
            out = self.runner.decode(texture, shape, selection, self.alpha)
        else:
            out = self._decode_tiled(texture, shape, selection, padded)
        return self._finish(self._merge_views(out, height, width), source)

    @torch.inference_mode()
    def decode_many(self, kept: list[tuple], selected: list[Rep]) -> list[torch.Tensor]:
        """Decode frames of one size as one batch (torch, untiled); one at a time otherwise."""
        sizes = {(k[2], k[3]) for k in kept}
        if len(kept) < 2 or self.tile is not None or self.backend != "torch" or len(sizes) > 1:
            return super().decode_many(kept, selected)
        (((height, width), _),) = sizes
        texture = torch.cat([k[0] for k in kept])
        shape = torch.cat([k[1] for k in kept])
        selection = torch.cat([s[0] for s in selected])
        out = self.runner.decode(texture, shape, selection, self.alpha)
        frames = out.split([k[0].shape[0] for k in kept])  # each frame's views
        return [
            self._finish(self._merge_views(views, height, width), k[4])
            for views, k in zip(frames, kept, strict=True)
        ]


#: the learned method class under its general name
LearnedMethod = Oh2018Method


def load_learned(name: str, options, device: str | torch.device = "cpu") -> torch.nn.Module:
    """Model ``name`` for ``options`` (any options with ``weights`` and ``pretrained``):
    shipped weights, a given file, or random weights."""
    from ..models import create_model

    if options.weights is not None:
        return create_model(name, weights=options.weights, device=str(device))
    return create_model(name, pretrained=options.pretrained, device=str(device))


def load_oh2018(options: Oh2018Options, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The oh2018 network for ``options`` (:func:`load_learned`)."""
    return load_learned("oh2018", options, device)


def _refuse_ignored_options(given: dict, options: Oh2018Options) -> None:
    """UsageError for a setting given where it would change nothing: a tile margin without
    tiles, ONNX Runtime's threads with the torch backend, the torch path's ``fused`` and
    ``channels_last`` with the ONNX one."""
    if "tile_margin_px" in given and options.tile is None:
        raise UsageError("tile_margin_px sets the margin of tiles: add --set tile=PX, or drop it.")
    if "threads" in given and options.backend != "onnx":
        raise UsageError(
            "threads sets ONNX Runtime's threads: add --set backend=onnx, or drop it (torch "
            "takes OMP_NUM_THREADS)."
        )
    torch_only = [name for name in ("fused", "channels_last") if name in given]
    if torch_only and options.backend == "onnx":
        raise UsageError(
            f"{' and '.join(torch_only)} {'shapes' if len(torch_only) == 1 else 'shape'} the "
            "torch path, not ONNX Runtime's: drop "
            f"{'it' if len(torch_only) == 1 else 'them'} or use --set backend=torch."
        )


def build_learned(config: MagnifyConfig, name: str) -> Magnifier:
    """A learned method: registered model ``name`` run by :class:`Oh2018Method`."""
    from .builders import options_for, selector_for

    options = options_for(Oh2018Options, config, name)
    _refuse_ignored_options(config.options, options)
    if options.backend == "onnx":  # fail before loading anything
        from .onnx_backend import require_onnx

        require_onnx(export=True)
    model = load_learned(name, options, config.device)  # checks the weights
    if config.alpha == 1.0:  # the encoder/decoder round trip is not the identity
        check_learned_options(
            model, options.backend, options.precision, options.batch, options.views,
            options.tile, options.tile_margin_px,
        )  # fmt: skip
        return PassThrough()
    method = Oh2018Method(
        config.alpha,
        model,
        channels_last=options.channels_last,
        backend=options.backend,
        precision=options.precision,
        tile=options.tile,
        tile_margin_px=options.tile_margin_px,
        threads=options.threads,
        fused=options.fused,
        batch=options.batch,
        views=options.views,
        color_match=options.color_match,
    )
    return EulerianMagnifier(method, selector_for(config), config.device)


def build_oh2018(config: MagnifyConfig) -> EulerianMagnifier:
    """Builder of the ``oh2018`` method (``MethodSpec.builder``)."""
    return build_learned(config, "oh2018")


def build_ha2024(config: MagnifyConfig) -> EulerianMagnifier:
    """Builder of the ``ha2024`` method (``MethodSpec.builder``)."""
    return build_learned(config, "ha2024")


def build_ha2024_fast(config: MagnifyConfig) -> EulerianMagnifier:
    """Builder of the ``ha2024-fast`` method: ha2024's network with 24 decoder blocks,
    distilled from the shipped ``ha2024`` (``MethodSpec.builder``)."""
    return build_learned(config, "ha2024-fast")
