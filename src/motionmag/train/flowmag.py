"""Training FlowMag (Pan, Geng, Owens 2023): a U-Net taught through a frozen optical flow.

What matters:

- **The loss** (:func:`flowmag_loss`, Eqs. 3-5): ``L = L_mag + 10 L_color`` with
  ``L_mag = |alpha F(I_0, I_t) - F(I_0, ~I_t)|_1`` and ``L_color = |warp(I_t, F(I_0,
  I_t)) - warp(~I_t, F(I_0, ~I_t))|_1`` (backward warps into I_0's frame, mean over
  pixels). ``F`` is :class:`~motionmag.flow.differentiable.DifferentiableFlow`, a
  weightless pyramidal Lucas-Kanade unrolled in torch (no RAFT/ARFlow weights can be
  downloaded here; METHODS.md sec. 3): frozen by construction, differentiable, so the
  gradient of both terms reaches the generator through ``F(I_0, ~I_t)``. ``F(I_0, I_t)``
  does not depend on the generator and is computed without a graph. Evaluate with
  OpenCV DIS / Farneback, never with this ``F``.
- **The recipe** (Sec. 4.1, App. A2): alpha per sample with ``log2 alpha ~ U(0, 4)``
  (1..16), Adam 3e-4, augmentations applied identically to both frames (:func:`augment`):
  random resized crop (area 0.7-1.0, aspect 3/4-4/3), horizontal and vertical flips
  (p = 0.5 each), rotation +-15 degrees, strong colour jitter (brightness, contrast,
  saturation 0.6-1.4, hue +-0.1 turn). Ours: one affine ``grid_sample`` does crop, flip
  and rotation with border padding (no black corners); 128 px crops and width 16 by
  default so that it trains on a CPU (the paper: 512 px, width 64, batch 40 on 4 GPUs).
- **Data, unlabeled pairs**: frames A and B of the Oh et al. generator
  (``synth/oh2018.py``; its ground truth is ignored) rendered on the fly with small
  motion (``max_motion_px``, default 2 px: FlowMag keeps pairs whose 80th flow
  percentile is < 2 px, and our LK ``F`` is reliable only while alpha x motion stays
  within ~8 px on such scenes), plus optionally frame pairs of the user's videos
  (``--videos FOLDER``): non-overlapping pairs ``(i, i + stride)``, kept as App. A3
  filters them (DIS flow magnitude: 99.9th percentile < 20 px, 80th < 2 px, 0.01st <
  0.1 px; MSE between the frames >= 10 in 0-255 units), every other sample then. The
  frames are filtered at a longest side of 512 px and each augmented crop is then
  resized to ``size_px``: at 64 px the motion trained on is about a quarter of what the
  filter measured, where the paper's 512 px crops keep it (ours: CPU-sized crops).
- **Resumable and exportable** like ``train/oh2018.py`` (the run folder, counters and
  step loop are the shared ``train/run_state.py`` and ``train/loop.py``):
  ``checkpoint.pt`` (model, optimiser, step, samples, time, the alpha RNG),
  written atomically every ``checkpoint_every`` steps and on SIGTERM / Ctrl-C;
  ``--resume`` continues exactly; validation on a held-out seed and the last tenth of
  the video pairs, never trained on (the loss at fixed alphas, no augmentation
  randomness beyond the seed) keeps the best weights in
  ``best.pt``; :func:`export_weights` writes safetensors + a JSON card for
  ``create_model("flowmag")``.
- **bf16** (``precision="bf16"``, ours, :func:`generate`): the generator runs under
  bfloat16 autocast; its output, the frozen flow, the loss, the master weights and
  validation stay fp32 (a bf16 frame would round away the sub-pixel motion the flow
  measures). 1.38x the steps per hour on our CPU (``benchmarks/bench_train_precision.py
  --models flowmag``).
- **Test-time adaptation** (Sec. 3.5, :func:`adapt`): fine-tunes a *copy* of a model on
  a clip's own frame pairs with light crop and colour augmentation and the same loss.

Measured (2-core AMD EPYC, torch CPU, 1 torch thread, fp32, workers 0, while two other
training runs loaded the machine, load average ~4.9): 128 px crops, batch 4, width 16,
10 steps: 0.36 s per step including rendering and augmentation (~40,000 pairs/h).
"""

from __future__ import annotations

import copy
import datetime as _dt
import math
import os
import sys
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from ..atomic import write_json
from ..devices import resolve_device
from ..errors import UsageError
from ..flow.warp import backward_warp
from ..magnify.flowmag import check_tta_loss
from ..magnify.learned import check_precision, warn_if_bf16_is_emulated
from ..nets.flowmag import BASES
from .loop import TrainResult, check_schedule, run_steps
from .oh2018 import EpochSampler, count_parameters
from .run_state import (
    BEST,
    RunState,
    atomic_save,
    load_init,
    open_run,
    pick_checkpoint,
    read_checkpoint_file,
    save_weights,
    start_files,
)

CHECKPOINT_FORMAT = "motionmag-train-flowmag/1"
#: the settings that make the validation pairs (``_validation_batches``: rendered layers
#: and video pairs, augmented alike): another value on ``--resume`` validates on other
#: cases (``RunState.restore``)
VALIDATION_FIELDS = (
    "val_seed", "val_samples", "size_px", "alpha_range", "max_motion_px", "synthetic",
    "images", "videos", "video_stride", "video_max_side_px", "video_max_pairs",
    "crop_scale", "rotate_deg", "flips", "jitter", "hue",
)  # fmt: skip
NETWORK = "motionmag.nets.flowmag:FlowMagNet"
PAPER = "Pan, Geng, Owens 2023 (FlowMag, NeurIPS)"

#: App. A3 filters of real frame pairs: flow-magnitude percentile -> (bound px, "<")
FLOW_PERCENTILE_LIMITS_PX = ((99.9, 20.0), (80.0, 2.0), (0.01, 0.1))
#: App. A3: pairs whose mean squared difference (0-255 units) is below this are dropped
MIN_PAIR_MSE = 10.0
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v")

_LOG_PARTS = ("mag", "color", "warp")  # log.csv columns after run_state.LOG_FIELDS
#: what the generator is trained toward (FlowMagTrainConfig.target)
TARGETS = ("flow", "truth")
_VAL_FIELDS = ("step", "samples_seen", "train_hours", "loss", "mag", "color", "truth_l1")


@dataclass
class FlowMagTrainConfig:
    """Everything that defines a FlowMag run (defaults: the paper's loss and alphas, CPU size)."""

    MODEL: ClassVar[str] = "flowmag"

    size_px: int = 128  # crop side (the paper: 512)
    batch: int = 4  # (the paper: 40)
    steps: int = 100_000  # total steps of the run
    lr: float = 3e-4
    betas: tuple[float, float] = (0.9, 0.999)
    width: int = 16  # U-Net base channels (the paper: 64)
    residual: bool = True  # residual output head (our choice; nets/flowmag.py); False: paper's
    # What the residual head starts from: linear | frame (nets/flowmag.py). Our choice, measured
    # on 16 validation pairs (max motion 1 px, Eq. 3-5 loss; identity 0.960): the frame base
    # reached 0.901 after 22k samples (3k warm-up steps, then the warm-up loss only; the paper
    # loss alone had raised it from 0.923 to 0.969 in 500 steps); the linear base starts at 0.730.
    base: str = "linear"
    # (alpha - 1)(I_t - I_0) as three more input channels (our choice; nets/flowmag.py, where
    # the measurement is). False: the paper's input. Runs saved before it existed resume
    # without it (from_dict).
    motion_input: bool = True
    # Steps of the warp warm-up (our choice; 0: none). It helps the frame base; on the linear
    # base it raised the validation loss from 0.73 to 0.81 in 1,500 steps, hence 0.
    warmup_steps: int = 0
    color_weight: float = 10.0  # lambda_color (Eq. 5)
    # "flow": the paper's self-supervised loss (Eq. 3-5). "truth" (ours, a control, not
    # FlowMag): L1 to the generator's true magnified frame, the sample rendered at its
    # alpha; it separates "the flow loss cannot guide the net" from "the net cannot learn".
    target: str = "flow"
    # "bf16": the generator runs under torch.autocast(bfloat16) (ours); the frozen flow, the
    # loss and the master weights stay fp32, and validation is fp32
    precision: str = "fp32"
    alpha_range: tuple[float, float] = (1.0, 16.0)  # log-uniform
    seed: int = 0
    dataset_size: int = 100_000  # samples per epoch
    max_motion_px: float = 2.0  # synthetic pairs: motion of each layer, 0..this px
    synthetic: bool = True  # False: video pairs only (needs videos)
    images: tuple[str, ...] = ()  # extra photo folders for the synthetic pairs
    videos: str | None = None  # folder of videos whose frame pairs are added
    video_stride: int = 1  # frames between the two frames of a video pair
    video_max_side_px: int = 512  # video frames are downscaled to this longest side
    video_max_pairs: int = 20_000
    crop_scale: tuple[float, float] = (0.7, 1.0)  # area fraction of the random crop
    rotate_deg: float = 15.0
    flips: bool = True
    jitter: float = 0.4  # brightness / contrast / saturation factors in 1 +- jitter
    hue: float = 0.1  # hue rotation, in turns, +-
    workers: int = 0
    device: str = "cpu"
    checkpoint_every: int = 500
    log_every: int = 50
    validate_every: int = 2000  # 0: never
    val_samples: int = 16
    val_seed: int = 1_000_000

    def validate(self) -> None:
        """UsageError for settings that can never work."""
        if self.size_px < 32 or self.size_px % 16:
            raise UsageError(f"--size {self.size_px} must be a multiple of 16 and at least 32.")
        check_schedule(
            self, ("batch", "steps", "dataset_size", "checkpoint_every", "log_every", "width")
        )
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise UsageError(f"learning rate {self.lr} must be a positive number.")
        if not (self.color_weight >= 0 and math.isfinite(self.color_weight)):
            raise UsageError(f"--color-weight {self.color_weight} must be >= 0.")
        if not (self.max_motion_px > 0 and math.isfinite(self.max_motion_px)):
            raise UsageError(f"--max-motion {self.max_motion_px} must be a positive number of px.")
        low, high = self.alpha_range
        if not 0 < low <= high:
            raise UsageError(f"alpha range {self.alpha_range} must satisfy 0 < low <= high.")
        if not self.synthetic and self.videos is None:
            raise UsageError("no training data: give --videos FOLDER or keep the synthetic pairs.")
        if self.val_seed == self.seed and self.validate_every:
            raise UsageError(f"the validation seed {self.val_seed} equals the training seed.")
        if self.base not in BASES or (self.base != "frame" and not self.residual):
            raise UsageError(
                f"--base must be one of {', '.join(BASES)} (linear needs the residual head), "
                f"not {self.base}."
            )
        if self.warmup_steps < 0:
            raise UsageError(f"--warmup-steps must not be negative, not {self.warmup_steps}.")
        if self.video_stride < 1:
            raise UsageError(f"--video-stride must be at least 1, not {self.video_stride}.")
        if self.target not in TARGETS:
            raise UsageError(f"--target must be one of {', '.join(TARGETS)}, not {self.target}.")
        if self.target == "truth" and (self.videos is not None or not self.synthetic):
            raise UsageError("--target truth needs the synthetic pairs alone: drop --videos.")
        check_precision(self.precision)

    def to_dict(self) -> dict:
        data = asdict(self)
        for key in ("betas", "alpha_range", "images", "crop_scale"):
            data[key] = list(data[key])
        return data

    @classmethod
    def from_dict(cls, data: dict) -> FlowMagTrainConfig:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values.setdefault("motion_input", False)  # runs from before the option
        for key in ("betas", "alpha_range", "images", "crop_scale"):
            if key in values:
                values[key] = tuple(values[key])
        return cls(**values)


#: the flags that shape the generator (a resumed or --init run must match them)
SHAPE_FLAGS = ("--width", "--base", "--paper-head", "--no-motion-input")


# ------------------------------------------------------------------------------ the loss


def sample_alphas(
    n: int, alpha_range: tuple[float, float], generator: torch.Generator | None = None
) -> torch.Tensor:
    """``n`` factors with ``log2 alpha ~ U(log2 low, log2 high)`` (Sec. 4.1), float32 (n,)."""
    low, high = (math.log2(a) for a in alpha_range)
    u = torch.rand(n, generator=generator)
    return torch.exp2(low + (high - low) * u)


def generate(
    net: torch.nn.Module,
    frame0: torch.Tensor,
    frame_t: torch.Tensor,
    alpha: torch.Tensor,
    precision: str = "fp32",
) -> torch.Tensor:
    """``net(frame0, frame_t, alpha)`` in fp32, or under ``torch.autocast(bfloat16)``.

    The output is fp32 either way, so the frozen flow and the loss see fp32 frames
    (a bf16 frame would round away the sub-pixel motion the flow has to measure).
    """
    if precision != "bf16":
        return net(frame0, frame_t, alpha)
    with torch.autocast(frame_t.device.type, dtype=torch.bfloat16):
        out = net(frame0, frame_t, alpha)
    return out.float()


def flowmag_loss(
    net: torch.nn.Module,
    flow: torch.nn.Module,
    frame0: torch.Tensor,
    frame_t: torch.Tensor,
    alpha: torch.Tensor,
    color_weight: float = 10.0,
    precision: str = "fp32",
) -> tuple[torch.Tensor, dict[str, float]]:
    """FlowMag's loss ``L_mag + color_weight * L_color`` (Eqs. 3-5) of one batch.

    Args:
        net: the generator, ``net(frame0, frame_t, alpha)``.
        flow: the frozen flow ``F(a, b)`` -> (N, 2, H, W) px, ``a(x) ~ b(x + F(x))``.
        frame0, frame_t: (N, 3, H, W) in [0, 1].
        alpha: (N,) total factors.
        precision: ``"bf16"`` runs the generator under autocast (:func:`generate`).

    Returns ``(loss, {"total", "mag", "color"})`` (the parts as floats).
    """
    alpha = alpha.to(frame_t.device, frame_t.dtype)
    with torch.no_grad():
        flow_src = flow(frame0, frame_t)
    magnified = generate(net, frame0, frame_t, alpha, precision)
    mag, color = _paper_terms(flow, frame0, frame_t, flow_src, magnified, alpha)
    loss = mag + color_weight * color
    parts = {"total": loss.detach(), "mag": mag.detach(), "color": color.detach()}
    parts["warp"] = torch.zeros(())
    return loss, {key: float(value) for key, value in parts.items()}


def truth_loss(
    net: torch.nn.Module,
    frame0: torch.Tensor,
    frame_t: torch.Tensor,
    alpha: torch.Tensor,
    target: torch.Tensor,
    precision: str = "fp32",
) -> tuple[torch.Tensor, dict[str, float]]:
    """The control loss (``--target truth``, ours): L1 between the output and the true
    magnified frame ``target`` (N, 3, H, W) of the same augmented sample."""
    alpha = alpha.to(frame_t.device, frame_t.dtype)
    magnified = generate(net, frame0, frame_t, alpha, precision)
    loss = (magnified - target).abs().mean()
    value = float(loss.detach())
    return loss, {"total": value, "mag": 0.0, "color": 0.0, "warp": value}


def _paper_terms(
    flow: torch.nn.Module,
    frame0: torch.Tensor,
    frame_t: torch.Tensor,
    flow_src: torch.Tensor,
    magnified: torch.Tensor,
    alpha: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(L_mag, L_color)`` of Eqs. 3-4 for a generated batch (``flow_src`` = F(I_0, I_t))."""
    flow_tgt = flow(frame0, magnified)
    mag = (alpha.view(-1, 1, 1, 1) * flow_src - flow_tgt).abs().mean()
    with torch.no_grad():
        warped_t = backward_warp(frame_t, flow_src)
    color = (warped_t - backward_warp(magnified, flow_tgt)).abs().mean()
    return mag, color


def warp_target(frame_t: torch.Tensor, flow_src: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """``I_t`` moved on by ``(alpha - 1) F(I_0, I_t)``: ``~I_t(y) = I_t(y - (alpha - 1) F(y))``.

    With ``I_0(x) = I_t(x + F(x))`` the magnified frame satisfies ``I_0(x) = ~I_t(x + alpha
    F(x))``; the backward warp above is that when ``F`` is locally smooth (the paper's
    "Warp Bilinear" baseline, built from the frozen ``F`` alone: no ground truth).
    """
    return backward_warp(frame_t, -(alpha.view(-1, 1, 1, 1) - 1.0) * flow_src)


def warmup_loss(
    net: torch.nn.Module,
    flow: torch.nn.Module,
    frame0: torch.Tensor,
    frame_t: torch.Tensor,
    alpha: torch.Tensor,
    color_weight: float = 10.0,
    precision: str = "fp32",
) -> tuple[torch.Tensor, dict[str, float]]:
    """The warm-up loss (our choice): L1 between the output and :func:`warp_target`.

    Why: through our weightless Lucas-Kanade ``F`` the paper's loss gives the generator
    a weak, noisy signal at the start; a CPU run of 1,000 steps from the identity did not
    move its validation loss (0.961 vs 0.960 for the identity). Imitating the flow-warped
    frame first is still self-supervised (only the frozen ``F``, no labels) and gives a
    dense per-pixel signal; the paper's loss then refines it. ``L_mag`` and ``L_color``
    are reported (without gradient) so the log reads the same in both phases.
    """
    alpha = alpha.to(frame_t.device, frame_t.dtype)
    with torch.no_grad():
        flow_src = flow(frame0, frame_t)
        target = warp_target(frame_t, flow_src, alpha)
    magnified = generate(net, frame0, frame_t, alpha, precision)
    loss = (magnified - target).abs().mean()
    with torch.no_grad():
        mag, color = _paper_terms(flow, frame0, frame_t, flow_src, magnified, alpha)
    value = float(loss.detach())
    parts = {"total": value, "mag": float(mag), "color": float(color), "warp": value}
    return loss, parts


# ------------------------------------------------------------------------ augmentation


@dataclass(frozen=True)
class AugmentConfig:
    """Random resized crop, flips, rotation and colour jitter, the same for both frames."""

    crop_scale: tuple[float, float] = (0.7, 1.0)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)
    rotate_deg: float = 15.0
    flips: bool = True
    jitter: float = 0.4
    hue: float = 0.1

    @classmethod
    def light(cls) -> AugmentConfig:
        """Test-time adaptation's "minor cropping and color augmentations" (Sec. 3.5)."""
        return cls(
            crop_scale=(0.8, 1.0),
            crop_ratio=(1.0, 1.0),
            rotate_deg=0.0,
            flips=False,
            jitter=0.1,
            hue=0.02,
        )


def _u(generator: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=generator))


def augment(
    frames: torch.Tensor,
    size_px: int,
    generator: torch.Generator,
    config: AugmentConfig,
    mean_frames: int | None = None,
) -> torch.Tensor:
    """Augment frames (N, 3, H, W) in [0, 1] alike -> (N, 3, size_px, size_px); N = 2: a pair.

    Crop side: ``min(H, W) * sqrt(scale * ratio)`` by ``... sqrt(scale / ratio)`` px
    (clipped to the frame), centred uniformly where it fits, rotated about its centre,
    flipped, resampled bilinearly to ``size_px`` (border padding); then brightness,
    contrast (about the mean luma), saturation (about each pixel's luma) and a hue
    rotation of the YIQ chroma plane, with one set of factors for every frame (contrast
    about the mean luma of the first ``mean_frames``; None: all).
    """
    n, _, height, width = frames.shape
    g = generator
    base = min(height, width)
    scale = _u(g, *config.crop_scale)
    ratio = math.exp(_u(g, math.log(config.crop_ratio[0]), math.log(config.crop_ratio[1])))
    crop_w = min(width, base * math.sqrt(scale * ratio))
    crop_h = min(height, base * math.sqrt(scale / ratio))
    cx = _u(g, -(width - crop_w) / 2, (width - crop_w) / 2)  # px from the frame centre
    cy = _u(g, -(height - crop_h) / 2, (height - crop_h) / 2)
    angle = math.radians(_u(g, -config.rotate_deg, config.rotate_deg))
    fx = -1.0 if config.flips and _u(g, 0, 1) < 0.5 else 1.0
    fy = -1.0 if config.flips and _u(g, 0, 1) < 0.5 else 1.0
    # output normalised u -> output px offset (crop/2 * u) -> rotate -> input normalised
    cos, sin = math.cos(angle), math.sin(angle)
    ax, ay = crop_w / 2 * fx, crop_h / 2 * fy
    theta = torch.tensor(
        [
            [2 / width * cos * ax, -2 / width * sin * ay, 2 * cx / width],
            [2 / height * sin * ax, 2 / height * cos * ay, 2 * cy / height],
        ],
        dtype=frames.dtype,
    )
    grid = F.affine_grid(
        theta[None].expand(n, -1, -1), [n, 3, size_px, size_px], align_corners=False
    )
    out = F.grid_sample(
        frames, grid.to(frames.device), mode="bilinear", padding_mode="border", align_corners=False
    )
    return color_jitter(out, generator, config.jitter, config.hue, mean_frames)


_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def color_jitter(
    frames: torch.Tensor,
    generator: torch.Generator,
    jitter: float,
    hue: float,
    mean_frames: int | None = None,
) -> torch.Tensor:
    """Brightness, contrast, saturation factors in ``1 +- jitter`` and a hue rotation of
    ``+- hue`` turns, the same for every frame of ``frames`` (N, 3, H, W); clipped to [0, 1].
    Contrast scales about the mean luma of the first ``mean_frames`` frames (None: all)."""
    if jitter <= 0 and hue <= 0:
        return frames
    g = generator
    brightness, contrast, saturation = (_u(g, 1 - jitter, 1 + jitter) for _ in range(3))
    turn = _u(g, -hue, hue) * 2 * math.pi
    x = frames * brightness
    yiq = torch.einsum("ij,njhw->nihw", _YIQ.to(x), x)
    luma = yiq[:, :1]
    mean = luma[:mean_frames].mean(dim=(0, 2, 3), keepdim=True)
    luma = mean + contrast * (luma - mean)
    i, q = yiq[:, 1:2] * saturation * contrast, yiq[:, 2:3] * saturation * contrast
    c, s = math.cos(turn), math.sin(turn)
    yiq = torch.cat([luma, c * i - s * q, s * i + c * q], dim=1)
    rgb = torch.einsum("ij,njhw->nihw", torch.linalg.inv(_YIQ).to(x), yiq)
    return rgb.clamp(0.0, 1.0)


# -------------------------------------------------------------------------------- data


def pair_passes_filters(a: np.ndarray, b: np.ndarray) -> bool:
    """App. A3's filter of a real pair (uint8 RGB): small motion, not near-identical."""
    from ..flow.opencv import estimate_flow

    diff = a.astype(np.float32) - b.astype(np.float32)
    if float(np.mean(diff * diff)) < MIN_PAIR_MSE:
        return False
    magnitude = np.hypot(*np.moveaxis(estimate_flow(a, b, "dis"), -1, 0))
    return all(float(np.percentile(magnitude, q)) < limit for q, limit in FLOW_PERCENTILE_LIMITS_PX)


def load_video_pairs(
    folder: str | os.PathLike, stride: int = 1, max_side_px: int = 512, max_pairs: int = 20_000
) -> tuple[list[np.ndarray], dict]:
    """Filtered frame pairs (2, H, W, 3) uint8 of every video in ``folder``.

    Pairs are ``(i, i + stride)`` with ``i`` stepping by ``stride + 1`` (non-overlapping
    for stride 1, as App. A3), frames downscaled so the longest side is at most
    ``max_side_px``, kept when :func:`pair_passes_filters`. Returns (pairs, statistics).
    """
    import cv2

    from ..video.reader import VideoReader

    root = Path(folder)
    if not root.is_dir():
        raise UsageError(f"--videos '{root}' is not a folder: give a folder of video files.")
    files = sorted(p for p in root.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES)
    if not files:
        raise UsageError(f"--videos '{root}' holds no videos ({', '.join(VIDEO_SUFFIXES)}).")
    pairs: list[np.ndarray] = []
    raw = 0
    for path in files:
        window: list[np.ndarray] = []
        with VideoReader(path) as reader:
            for index, frame in enumerate(reader):
                scale = max_side_px / max(frame.shape[:2])
                if scale < 1:
                    size = (round(frame.shape[1] * scale), round(frame.shape[0] * scale))
                    frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
                position = index % (stride + 1)
                if position == 0:
                    window = [frame]
                elif position == stride:
                    raw += 1
                    if pair_passes_filters(window[0], frame):
                        pairs.append(np.stack([window[0], frame]))
                    if len(pairs) >= max_pairs:
                        break
        if len(pairs) >= max_pairs:
            break
    stats = {
        "videos": len(files),
        "raw_pairs": raw,
        "kept_pairs": len(pairs),
        "stride": stride,
        "max_side_px": max_side_px,
    }
    return pairs, stats


#: share of the filtered video pairs held out for validation (the last ones read: the
#: end of the last videos, so not the neighbours of most training pairs; ours)
VIDEO_VAL_SHARE = 0.1


def held_out_pairs(
    pairs: list[np.ndarray] | None,
) -> tuple[list[np.ndarray] | None, list[np.ndarray] | None]:
    """(training pairs, validation pairs) of the filtered video pairs: the last
    :data:`VIDEO_VAL_SHARE` (at least one) are validation's alone. With fewer than two
    pairs there is nothing to hold out, and validation scores the training pair."""
    if not pairs or len(pairs) < 2:
        return pairs, pairs
    held = max(1, round(VIDEO_VAL_SHARE * len(pairs)))
    return pairs[:-held], pairs[-held:]


class FlowMagPairs(Dataset):
    """Augmented unlabeled pairs: item ``i`` -> {"frame0", "frame_t"} (3, S, S), "index".

    Synthetic pairs (frames A, B of ``Oh2018Generator(seed)`` sample ``i``; its ground
    truth unused) and, when ``video_pairs`` are given, every odd item a video pair
    (all items when ``synthetic`` is False). Augmentation draws from a generator seeded
    by (seed, i), so an item is a pure function of its index (resumable, worker-safe).
    With ``config.target == "truth"`` (the control) item ``i`` also draws its alpha
    (log-uniform in ``config.alpha_range``, after the augmentation's draws) and carries
    "alpha" and "target": the sample rendered at that alpha, its Y augmented with A and B.
    """

    def __init__(
        self,
        n: int,
        config: FlowMagTrainConfig,
        seed: int,
        video_pairs: list[np.ndarray] | None = None,
    ) -> None:
        from ..synth.oh2018 import Oh2018Config, Oh2018Generator
        from ..synth.photos import PhotoPool

        self.n = int(n)
        self.size_px = config.size_px
        self.seed = int(seed)
        self.synthetic = config.synthetic
        self.video_pairs = list(video_pairs or [])
        self.generator_config = Oh2018Config(
            size_px=config.size_px, alpha_range=(1.0, 1.0), max_motion_px=config.max_motion_px
        )
        self.generator = (
            Oh2018Generator(
                self.generator_config, seed=seed, photos=PhotoPool(tuple(config.images))
            )
            if config.synthetic
            else None
        )
        self.alpha_range = tuple(config.alpha_range)
        self.with_targets = config.target == "truth"
        self.augment = AugmentConfig(
            crop_scale=tuple(config.crop_scale),
            rotate_deg=config.rotate_deg,
            flips=config.flips,
            jitter=config.jitter,
            hue=config.hue,
        )

    def __len__(self) -> int:
        return self.n

    def _pair(self, index: int) -> torch.Tensor:
        use_video = self.video_pairs and (not self.synthetic or index % 2 == 1)
        if use_video:
            k = (index // 2 if self.synthetic else index) % len(self.video_pairs)
            frames = self.video_pairs[k]
        else:
            frames = self.generator(index).frames()[:2]  # A, B
        tensor = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)
        return tensor.to(torch.float32).div_(255.0)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.n:
            raise IndexError(f"sample {index} outside 0..{self.n - 1}")
        if self.with_targets:
            return self.with_truth(int(index))
        return self.pair_item(int(index))

    def _generator(self, index: int) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed * 1_000_003 + int(index))

    def pair_item(self, index: int) -> dict[str, torch.Tensor]:
        """Item ``index`` without a target (the paper's unlabeled pair)."""
        pair = augment(self._pair(index), self.size_px, self._generator(index), self.augment)
        return {
            "frame0": pair[0],
            "frame_t": pair[1],
            "index": torch.tensor(index, dtype=torch.int64),
        }

    def with_truth(self, index: int, alpha: float | None = None) -> dict[str, torch.Tensor]:
        """Synthetic item ``index`` with its true magnified frame: A, B and Y rendered at
        ``alpha`` (None: drawn log-uniformly in ``alpha_range`` after the augmentation's
        draws), augmented alike (contrast about the pair's mean, as :meth:`pair_item`)."""
        from ..synth.oh2018 import render

        generator = self._generator(index)
        if alpha is None:
            state = generator.get_state()
            augment(torch.zeros(2, 3, 8, 8), 8, generator, self.augment)  # the pair's draws
            alpha = float(sample_alphas(1, self.alpha_range, generator)[0])
            generator.set_state(state)
        params = replace(self.generator.params(index), alpha=float(alpha))
        sample = render(params, self.generator_config, self.generator.photos)
        frames = np.stack([sample.A, sample.B, sample.Y])
        tensor = torch.from_numpy(frames).permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
        out = augment(tensor, self.size_px, generator, self.augment, mean_frames=2)
        return {
            "frame0": out[0],
            "frame_t": out[1],
            "target": out[2],
            "alpha": torch.tensor(float(alpha)),
            "index": torch.tensor(index, dtype=torch.int64),
        }


# ----------------------------------------------------------------------------- training


def make_flow() -> torch.nn.Module:
    """The frozen ``F`` of the loss (default :class:`DifferentiableFlow`)."""
    from ..flow.differentiable import DifferentiableFlow

    return DifferentiableFlow().eval()


def load_checkpoint(path: str | os.PathLike) -> dict:
    """A FlowMag checkpoint (tensors and plain data only); InputError otherwise."""
    data = read_checkpoint_file(path)
    if data.get("format") != CHECKPOINT_FORMAT:
        raise UsageError(f"'{path}' is not a flowmag run: choose another --run folder.")
    return data


@torch.no_grad()
def evaluate(net, flow, batches: list[dict], device, color_weight: float) -> dict:
    """Mean loss parts of the network on fixed validation batches (eval mode), and
    ``truth_l1``, the L1 to the true magnified frame, where the batches carry one."""
    was_training = net.training
    net.eval()
    totals: dict[str, float] = {}
    for batch in batches:
        frame0, frame_t = batch["frame0"].to(device), batch["frame_t"].to(device)
        _, parts = flowmag_loss(net, flow, frame0, frame_t, batch["alpha"], color_weight)
        if "target" in batch:
            out = net(frame0, frame_t, batch["alpha"].to(device, frame_t.dtype))
            parts["truth_l1"] = float((out - batch["target"].to(device)).abs().mean())
        for key, value in parts.items():
            totals[key] = totals.get(key, 0.0) + value / len(batches)
    net.train(was_training)
    return totals


def _validation_batches(config: FlowMagTrainConfig, video_pairs) -> list[dict]:
    from torch.utils.data import default_collate

    dataset = FlowMagPairs(max(config.val_samples, 1), config, config.val_seed, video_pairs)
    alphas = sample_alphas(
        config.val_samples,
        tuple(config.alpha_range),
        torch.Generator().manual_seed(config.val_seed),
    )
    items = [dataset.pair_item(i) for i in range(config.val_samples)]
    if config.synthetic and not video_pairs:  # the true magnified frame, at the val alpha
        for i, item in enumerate(items):
            item["target"] = dataset.with_truth(i, float(alphas[i]))["target"]
    batches = []
    for start in range(0, len(items), config.batch):
        batch = default_collate(items[start : start + config.batch])
        batch["alpha"] = alphas[start : start + config.batch]
        batches.append(batch)
    return batches


def train_flowmag(
    config: FlowMagTrainConfig,
    run_dir: str | os.PathLike,
    resume: bool = False,
    progress: bool = True,
    command: str | None = None,
    max_seconds: float | None = None,
    init_from: str | os.PathLike | None = None,
    banner: str | None = None,
) -> TrainResult:
    """Train (or continue) a FlowMag generator; see the module docstring.

    Args:
        config: the run's settings.
        run_dir: run folder (checkpoint.pt, best.pt, config.json, log.csv, validation.csv).
        resume: continue from ``run_dir/checkpoint.pt``; without it an existing run is refused.
        progress: tqdm bar on stderr.
        command: the command line for the model card.
        max_seconds: stop (with a checkpoint) after this much wall time.
        init_from: start a new run from exported weights (``.safetensors`` with the model
            card beside them, e.g. the shipped ``flowmag`` weights): the weights, step,
            samples seen (the position in the data stream) and session history continue
            from the card; Adam's moments start afresh.
        banner: a line printed to stderr once every input is checked, as the run
            folder is made.
    """
    from ..nets.flowmag import FlowMagNet

    config.validate()
    device = resolve_device(config.device)
    if config.precision == "bf16":
        warn_if_bf16_is_emulated(device, "--precision bf16")
    run, state = open_run(run_dir, resume, load_checkpoint)
    torch.manual_seed(config.seed)
    net = FlowMagNet(
        width=config.width,
        residual=config.residual,
        base=config.base,
        motion_input=config.motion_input,
    ).to(device)
    flow = make_flow().to(device)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, betas=tuple(config.betas))
    alpha_rng = torch.Generator().manual_seed(config.seed * 7919 + 23)
    counters = RunState(best={"loss": math.inf, "step": None})
    if state is None and init_from is not None:
        counters.step, counters.samples_seen, counters.train_seconds, counters.sessions = load_init(
            net, init_from, NETWORK, "flowmag", f"match {' / '.join(SHAPE_FLAGS)} to them."
        )
    if state is not None:
        counters.restore(state, net, optimizer, config.lr, config.betas, shape_flags=SHAPE_FLAGS,
                         config=config.to_dict(), validation_fields=VALIDATION_FIELDS,
                         best_path=run / BEST)  # fmt: skip
        alpha_rng.set_state(state["rng"]["alpha"])
        torch.set_rng_state(state["rng"]["torch"])
    video_pairs, video_stats = None, None
    if config.videos is not None:
        video_pairs, video_stats = load_video_pairs(
            config.videos, config.video_stride, config.video_max_side_px, config.video_max_pairs
        )
        if not video_pairs and not config.synthetic:
            raise UsageError(f"no frame pair of '{config.videos}' passed the filters.")
        if not video_pairs:  # training goes on, on the synthetic pairs alone: say so
            print(
                f"note: no frame pair of the {video_stats['raw_pairs']} in '{config.videos}' "
                "passed the filters (motion and change, FlowMag App. A3): training on "
                "synthetic pairs only; try a larger --video-stride for slow videos.",
                file=sys.stderr,
            )
    video_pairs, val_pairs = held_out_pairs(video_pairs)
    if video_stats is not None:
        video_stats["held_out_pairs"] = len(val_pairs) if val_pairs is not video_pairs else 0
    counters.begin_session(command if command is not None else " ".join(sys.argv), device)
    log, val_log = start_files(
        run,
        config.to_dict(),
        _LOG_PARTS,
        _VAL_FIELDS,
        keep_upto=counters.step if state else None,
        banner=banner,
    )
    dataset = FlowMagPairs(config.dataset_size, config, config.seed, video_pairs)
    sources = (["synthetic pairs (frames A, B of motionmag.synth.oh2018; labels unused)"]
               if config.synthetic else []) + (["video pairs"] if video_pairs else [])  # fmt: skip
    data_card = {
        "source": (
            "synthetic samples A, B and their true magnified frame Y at a drawn alpha "
            "(motionmag.synth.oh2018; the --target truth control, not FlowMag)"
            if config.target == "truth"
            else " and ".join(sources)
        ),
        "generator_config": dataset.generator_config.to_dict() if config.synthetic else None,
        "seed": config.seed,
        "dataset_size": config.dataset_size,
        "images": list(config.images),
        "videos": video_stats and {**video_stats, "folder": str(config.videos)},
        "augmentation": asdict(dataset.augment),
    }
    loader = DataLoader(
        dataset,
        batch_size=config.batch,
        sampler=EpochSampler(len(dataset), config.seed, counters.samples_seen),
        num_workers=config.workers,
        multiprocessing_context="spawn" if config.workers else None,
        drop_last=True,
    )
    val_batches = _validation_batches(config, val_pairs) if config.validate_every else []

    def snapshot() -> dict:
        rng = {"alpha": alpha_rng.get_state(), "torch": torch.get_rng_state()}
        return counters.checkpoint(
            CHECKPOINT_FORMAT, net, optimizer, rng, config.to_dict(), data_card
        )

    def run_validation() -> None:
        result = evaluate(net, flow, val_batches, device, config.color_weight)
        counters.validation = {
            "step": counters.step,
            "samples_seen": counters.samples_seen,
            "seed": config.val_seed,
            **result,
        }
        val_log.write(
            {
                "step": counters.step,
                "samples_seen": counters.samples_seen,
                "train_hours": counters.train_seconds / 3600,
                "loss": result["total"],
                "mag": result["mag"],
                "color": result["color"],
                "truth_l1": result.get("truth_l1", ""),
            }
        )
        # the control keeps its best by the L1 to the truth, FlowMag by its own loss
        score = result["truth_l1"] if config.target == "truth" else result["total"]
        if score < counters.best["loss"]:
            counters.best.update(loss=score, step=counters.step)
            atomic_save({**snapshot(), "optimizer": None}, run / BEST)

    def train_step(batch: dict) -> tuple[int, torch.Tensor, dict[str, float]]:
        n = int(batch["frame0"].shape[0])
        if "target" in batch:  # the control (--target truth): alphas drawn per item
            loss, parts = truth_loss(
                net,
                batch["frame0"].to(device),
                batch["frame_t"].to(device),
                batch["alpha"],
                batch["target"].to(device),
                config.precision,
            )
            return n, loss, parts
        alpha = sample_alphas(n, tuple(config.alpha_range), alpha_rng)
        loss_fn = warmup_loss if counters.step < config.warmup_steps else flowmag_loss
        loss, parts = loss_fn(
            net,
            flow,
            batch["frame0"].to(device),
            batch["frame_t"].to(device),
            alpha,
            config.color_weight,
            config.precision,
        )
        return n, loss, parts

    net.train()
    return run_steps(
        counters,
        config,
        optimizer,
        loader,
        train_step,
        run=run,
        snapshot=snapshot,
        log=log,
        log_parts=_LOG_PARTS,
        validate=run_validation,
        resumed=state is not None,
        desc="flowmag",
        progress=progress,
        max_seconds=max_seconds,
    )


def _loss_description(config: dict, step: int) -> str:
    """What the exported weights were trained with, for the card."""
    flow = "F = motionmag.flow.differentiable.DifferentiableFlow (pyramidal LK, frozen)"
    paper = f"L_mag + color_weight * L_color (Pan et al. 2023, Eqs. 3-5), {flow}"
    if config.get("target") == "truth":
        return "L1 to the true magnified frame (the --target truth control, not FlowMag)"
    warmup = int(config.get("warmup_steps", 0))
    if warmup <= 0:
        return paper
    warp = f"warp imitation (ours, no labels): L1 to I_t warped by (alpha - 1) F(I_0, I_t), {flow}"
    if warmup >= step:
        return f"{warp}; the best checkpoint chosen by the paper's loss on validation"
    return f"{warp} for {warmup} steps, then {paper}"


def export_weights(
    run_dir: str | os.PathLike, out_path: str | os.PathLike, which: str = "best"
) -> dict:
    """Write a run's weights (``best``: lowest validation loss, else ``last``) as
    safetensors and a JSON model card beside them; returns the card."""
    from .. import __version__

    last, chosen, source = pick_checkpoint(
        run_dir, which, lambda path, _last: load_checkpoint(path), "motionmag train flowmag"
    )
    net_config = dict(chosen["net_config"])
    tensors = save_weights(chosen["model"], net_config, out_path)
    out = Path(out_path)
    config = chosen["config"]
    card = {
        "name": out.stem,
        "network": {
            "class": NETWORK,
            "config": net_config,
            "parameters": count_parameters(tensors),
        },
        "paper": PAPER,
        "alpha": "total factor: output motion = alpha x input motion; trained on "
        f"{config['alpha_range'][0]}..{config['alpha_range'][1]}, larger ones applied recursively",
        "input": "frame 0 and frame t, RGB float in [0, 1], any size (reflect-padded to 16)",
        "data": {**chosen["data"], "crop_px": config["size_px"]},
        "training": {
            "checkpoint": source,
            "step": chosen["step"],
            "samples_seen": chosen["samples_seen"],
            "batch": config["batch"],
            "optimizer": {"name": "Adam", "lr": config["lr"], "betas": config["betas"]},
            "loss": _loss_description(config, chosen["step"]),
            "color_weight": config["color_weight"],
            "alpha_sampling": f"log2 alpha ~ U(log2 {config['alpha_range'][0]}, "
            f"log2 {config['alpha_range'][1]})",
            "train_hours": chosen["train_seconds"] / 3600,
            "run_steps": last["step"],
            "sessions": last["sessions"],
            "torch": chosen.get("torch"),
        },
        "metrics": {"validation": chosen.get("validation")},
        "motionmag": __version__,
        "exported": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
    }
    write_json(out.with_suffix(".json"), card)
    return card


# ------------------------------------------------------------------ test-time adaptation


def adapt(
    net: torch.nn.Module,
    pairs: list[tuple[np.ndarray, np.ndarray]],
    epochs: int,
    lr: float = 1e-4,
    batch: int = 4,
    size_px: int = 256,
    alpha_range: tuple[float, float] = (1.0, 16.0),
    color_weight: float = 10.0,
    seed: int = 0,
    progress: bool = True,
    loss: str = "paper",
    freeze_norm: bool = True,
) -> tuple[torch.nn.Module, list[float]]:
    """Test-time adaptation (Sec. 3.5): fine-tune a **copy** of ``net`` on ``pairs``.

    Args:
        net: a FlowMag generator (left untouched).
        pairs: (frame 0, frame t) uint8 RGB (H, W, 3) pairs of the clip to magnify.
        epochs: passes over the pairs (shuffled, ``batch`` pairs per step).
        size_px: square crop side (at most the frame's smaller side, a multiple of 16).
        alpha_range: log-uniform factors, as in training.
        seed: shuffling, augmentation and alpha draws.
        progress: tqdm bar on stderr.
        loss: ``"paper"`` (Eq. 3-5, :func:`flowmag_loss`) or ``"warp"`` (ours,
            :func:`warmup_loss`: imitate the frame warped by (alpha - 1) x the frozen
            flow, the loss the shipped weights were trained with).
        freeze_norm: keep every BatchNorm layer in eval mode, so the statistics of
            training normalise the clip's batches and are not replaced by them (ours).

    Returns ``(adapted copy in eval mode, loss per step)``. Augmentation is
    :meth:`AugmentConfig.light` (crops of 80-100 % area, mild colour jitter).
    """
    from tqdm import tqdm

    if not pairs:
        raise UsageError("test-time adaptation needs at least two frames.")
    check_tta_loss(loss)
    loss_fn = warmup_loss if loss == "warp" else flowmag_loss
    model = copy.deepcopy(net)
    device = next(model.parameters()).device
    model.train()
    if freeze_norm:
        for module in model.modules():
            if isinstance(module, (torch.nn.BatchNorm1d, torch.nn.BatchNorm2d)):
                module.eval()
    for parameter in model.parameters():
        parameter.requires_grad_(True)
    flow = make_flow().to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    height, width = pairs[0][0].shape[:2]
    side = max(32, min(size_px, height, width) // 16 * 16)
    light = AugmentConfig.light()
    generator = torch.Generator().manual_seed(seed)
    per_epoch = math.ceil(len(pairs) / batch)
    losses: list[float] = []
    with (
        torch.enable_grad(),
        tqdm(
            total=epochs * per_epoch,
            unit="step",
            desc="flowmag tta",
            file=sys.stderr,
            disable=not progress,
        ) as bar,
    ):
        for _ in range(epochs):
            order = torch.randperm(len(pairs), generator=generator).tolist()
            for start in range(0, len(order), batch):
                chosen = [pairs[i] for i in order[start : start + batch]]
                crops = []
                for a, b in chosen:
                    pair = torch.from_numpy(np.stack([a, b])).permute(0, 3, 1, 2).float() / 255
                    crops.append(augment(pair, side, generator, light))
                stacked = torch.stack(crops).to(device)  # (B, 2, 3, S, S)
                alpha = sample_alphas(len(chosen), alpha_range, generator)
                value, parts = loss_fn(
                    model, flow, stacked[:, 0], stacked[:, 1], alpha, color_weight
                )
                optimizer.zero_grad(set_to_none=True)
                value.backward()
                optimizer.step()
                losses.append(parts["total"])
                bar.update(1)
                bar.set_postfix(loss=f"{parts['total']:.4f}")
    return model.eval(), losses
