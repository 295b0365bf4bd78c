"""FlowMag in the engine (Pan, Geng, Owens 2023): a generator fed (reference, frame, alpha).

What matters:

- **Not Eulerian**: the U-Net (``nets/flowmag.py``) takes the reference frame ``I_0``,
  the frame ``I_t`` and the factor, and draws the magnified frame directly (Algorithm 2).
  Modes: ``static`` (``I_0`` = frame ``--reference``; frames before it wait for it) and
  ``dynamic`` (``I_0`` = the previous input frame, so each output magnifies only the
  motion since the frame before). No temporal mode: the network sees two frames, not a
  band-passed signal. alpha is the total factor; alpha = 1 returns the input frame
  exactly (the network would only approximate the identity).
- **alpha above the training range** (1..16, Sec. 4.1: "recursive application"): the
  model is applied ``k`` times with ``alpha ** (1 / k)``, ``k`` the fewest passes with
  ``alpha ** (1 / k) <= 16`` (:func:`pass_alphas`), each pass fed (``I_0``, previous
  output). So 16 < alpha <= 256 is the paper's twice-with-sqrt(alpha), and alpha = 16 is
  one pass. The authors' ``inference.py`` tests ``alpha > max_alpha and sqrt(alpha) <
  max_alpha`` / ``alpha < max_alpha`` and raises "alpha out of range" otherwise, so it
  fails at exactly alpha = 16 (the top of its own training range) and for every alpha >=
  256; here both work (256 is 2 passes of 16, above it up to 4096 3 passes, and so on).
  Below 1 (attenuation) one pass extrapolates outside the training range.
- **Targeted magnification** (Sec. 3.4, Algorithm 2): option ``alpha_map=PATH``, a
  greyscale image (white = alpha, black = 1; soft edges allowed) or a ``.npy`` array of
  weights in [0, 1], resized to the frame. Each pixel gets the embedding of its own
  factor ``1 + m (alpha - 1)`` (per pass ``(1 + m (alpha - 1)) ** (1 / k)``). The authors'
  code blends the *embeddings* of alpha and 1 with the mask instead; for a binary mask
  the two are the same, for soft edges ours stays on the embedding of a real factor.
  The generic ``--mask`` (a blend of output frames, ``magnify/mask.py``) works too.
- **Test-time adaptation** (Sec. 3.5): option ``tta_epochs=N`` (CLI ``--tta N``)
  fine-tunes a *copy* of the model on the clip's own pairs (those the mode magnifies)
  with light crop and colour augmentation and the training loss (option ``tta_loss``:
  ``warp``, the shipped weights' loss, by default; ``paper`` for Eq. 3-5;
  :func:`motionmag.train.flowmag.adapt`), then magnifies. Our choice: the BatchNorm
  layers keep training's statistics while it adapts (option ``tta_freeze_norm``).
  Measured with the shipped weights (540k samples) on the real-video clip, 3 epochs,
  DIS motion error at alpha 4 / 10: 0.272 / 0.981 before; 0.332 / 1.514 when the
  statistics follow the clip's batches; 0.186 / 0.812 with them kept
  (``benchmarks/flowmag_checks.py [--tta-clip-norm]``). It needs the whole clip
  first, so with TTA the magnifier holds every frame and returns them all from
  ``flush()`` (memory O(video), like ``deepmag-color``). Shipped weights are never
  written. Layering note: the loss lives in ``train/``; it is imported lazily, only
  when TTA is asked for.
- Weights: the shipped ``flowmag`` weights, a file (``weights=PATH.safetensors``), or
  random ones (``pretrained=False``, tests only). Any frame size (the network pads to 16).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import UsageError
from .base import (
    Magnifier,
    attenuation_dither,
    check_rgb_frame,
    frame_to_tensor,
    tensor_to_frame,
)
from .config import MagnifyConfig, check_alpha

MODEL_NAME = "flowmag"


@dataclass
class FlowMagOptions:
    """Options of the ``flowmag`` method (``--option KEY=VALUE``)."""

    weights: str | None = None  # a .safetensors file instead of the shipped weights
    pretrained: bool = True  # False: random weights (tests only)
    alpha_map: str | None = None  # greyscale image / .npy weights: alpha inside, 1 outside
    max_alpha: float = 16.0  # largest factor of one pass (the training range's top)
    tta_epochs: int = 0  # test-time adaptation epochs (0: none)
    tta_lr: float = 1e-4
    # paper (Eq. 3-5) | warp (ours: imitate the flow-warped frame, the shipped weights'
    # training loss; train/flowmag.py adapt)
    tta_loss: str = "warp"
    tta_batch: int = 4
    tta_size_px: int = 256  # TTA crop side
    # keep the BatchNorm statistics of training while adapting (ours, measured in the
    # module docstring); False: they follow the clip's batches
    tta_freeze_norm: bool = True
    tta_progress: bool = True
    seed: int = 0  # TTA shuffling, augmentation and alphas


#: the losses test-time adaptation can fine-tune with (train/flowmag.py ``adapt``)
TTA_LOSSES = ("paper", "warp")


def check_tta_loss(name: str) -> None:
    """UsageError unless ``name`` is one of :data:`TTA_LOSSES`."""
    if name not in TTA_LOSSES:
        raise UsageError(f"unknown tta_loss '{name}': choose {' or '.join(TTA_LOSSES)}.")


def pass_alphas(alpha: float, max_alpha: float = 16.0) -> list[float]:
    """Per-pass factors: ``k`` passes of ``alpha ** (1 / k)``, the fewest with each <= max."""
    if max_alpha <= 1:
        raise UsageError(f"max_alpha must be above 1, not {max_alpha}.")
    if alpha <= max_alpha:
        return [float(alpha)]
    k = math.ceil(math.log(alpha) / math.log(max_alpha) - 1e-9)
    return [float(alpha) ** (1.0 / k)] * k


def pass_notes(passes: list[float], options: FlowMagOptions) -> list[str]:
    """A note when alpha takes more than one pass (our check): the network runs beyond
    its training range by recursion, and with the shipped weights the output is a clean
    shift only up to about 2 px of output motion (README, 'How far the shipped net moves
    things'), an input motion under 2 / alpha px: above alpha 16, a tenth of a pixel.
    Beyond it the gain does not follow alpha: on fine textures moved 0.3 px, alpha 16
    gave x5.9-15.3, 16.01 x12.7-14.5 and 64 x-1.1 to x-4.2
    (``benchmarks/flowmag_fine_texture.py``)."""
    if len(passes) < 2:
        return []
    alpha = math.prod(passes)
    note = (
        f"alpha {alpha:.4g} is above the {options.max_alpha:g} of one flowmag pass, so it "
        f"runs {len(passes)} passes of x{passes[0]:.3g} (Pan et al. Sec. 4.1)"
    )
    if options.weights is None and options.pretrained:
        note += (
            "; the shipped weights keep a clean shift up to about 2 px of output motion "
            f"(input motion under {2 / alpha:.2g} px here), and beyond it the gain falls "
            "off and on fine texture can turn negative"
        )
    return [note + ": check the output with motionmag measure."]


#: how far a .npy alpha map may stray outside [0, 1] and be clipped (a resampling's
#: overshoot; ours): further out it is refused, as a 0-255 map would be
ALPHA_MAP_SLACK = 0.05


def load_alpha_map(path: str | Path, width: int, height: int, geometry=None) -> np.ndarray:
    """Weights (H, W) float32 in [0, 1] for frames of ``width`` x ``height`` from a
    greyscale image or a ``.npy`` array, placed as a ``--mask`` is (``mask.load_mask``):
    a map of the source frame's size is cut by ``geometry``'s crop (a
    :class:`~motionmag.magnify.geometry.FrameGeometry`, None: the frames as given)."""
    from .geometry import FrameGeometry
    from .mask import load_mask

    if geometry is None or tuple(geometry.size) != (width, height):
        geometry = FrameGeometry((width, height), None, (width, height))
    path = Path(path)
    if path.suffix.lower() != ".npy":
        return load_mask(path, geometry, flag="--set alpha_map")[..., 0]
    if not path.is_file():
        raise UsageError(f"alpha map '{path}' does not exist: give an image or a .npy file.")
    try:  # no pickles: an object array, or a text file named .npy, is not a map
        weights = np.asarray(np.load(path, allow_pickle=False))
    except (OSError, ValueError, EOFError) as error:
        raise UsageError(
            f"alpha map '{path}' is not a NumPy array file ({error}): save the weights with "
            "numpy.save, or give a greyscale image."
        ) from None
    if weights.dtype.kind not in "biuf":  # complex, strings: no weights
        raise UsageError(f"alpha map '{path}' holds {weights.dtype} values, not weights in [0, 1].")
    weights = weights.astype(np.float32)
    if weights.ndim != 2 or not weights.size or not np.isfinite(weights).all():
        raise UsageError(f"alpha map '{path}' must be a finite 2-D array of weights in [0, 1].")
    if weights.min() < -ALPHA_MAP_SLACK or weights.max() > 1 + ALPHA_MAP_SLACK:
        raise UsageError(  # clipped, a 0-255 map lost its soft edge and grew
            f"alpha map '{path}' holds values from {weights.min():g} to {weights.max():g}: "
            "give weights in [0, 1] (divide a 0-255 map by 255)."
        )
    weights = np.clip(weights, 0.0, 1.0)  # a resampling's overshoot
    return load_mask(weights, geometry, flag="--set alpha_map", name=f"'{path}'")[..., 0]


@torch.inference_mode()
def magnify_pair(
    model: torch.nn.Module,
    reference: torch.Tensor,
    frame: torch.Tensor,
    alpha: float,
    weights: torch.Tensor | None = None,
    max_alpha: float = 16.0,
) -> torch.Tensor:
    """One magnified frame (1, 3, H, W) in [0, 1] from ``reference`` and ``frame``.

    ``weights`` (1, 1, H, W) in [0, 1]: per-pixel factor ``1 + weights (alpha - 1)``.
    A factor of 1 everywhere (alpha 1, or a map with no weight anywhere) returns ``frame``
    exactly: the network only approximates the identity (SSIM about 0.998 against the
    input for the shipped weights). So do the pixels of weight 0 [our choice]: the
    network's near-identity there, dithered at alpha < 1, changed about 0.7 % of them by
    a level.
    """
    if alpha == 1.0 or (weights is not None and not bool(weights.any())):
        return frame.clone()
    passes = pass_alphas(alpha, max_alpha)
    k = len(passes)
    factor: float | torch.Tensor = passes[0]
    if weights is not None:
        factor = (1.0 + weights * (alpha - 1.0)).clamp_min(1e-6) ** (1.0 / k)
    out = frame
    for _ in range(k):
        out = model(reference, out, factor)
    if weights is not None:
        out = torch.where(weights > 0, out, frame)
    return out


class FlowMagMagnifier(Magnifier):
    """FlowMag over a frame stream (static or dynamic mode); see the module docstring.

    Args:
        alpha: total factor (>= 0).
        model: a :class:`~motionmag.nets.flowmag.FlowMagNet` (put in eval mode).
        mode: ``static`` | ``dynamic``.
        reference: static mode's reference frame index.
        options: :class:`FlowMagOptions` (alpha map, TTA).
        device: where the network runs.
        name: the method's name in messages (other pair networks reuse this class:
            ``magnify/thesis.py``).
    """

    def __init__(
        self,
        alpha: float,
        model: torch.nn.Module,
        mode: str = "static",
        reference: int = 0,
        options: FlowMagOptions | None = None,
        device: str | torch.device = "cpu",
        name: str = MODEL_NAME,
        geometry=None,
    ) -> None:
        """``geometry``: how the frames were cut from the source (``MagnifyConfig.
        frame_geometry``), for the alpha map."""
        if mode not in ("static", "dynamic"):
            raise UsageError(f"{name} has no {mode} mode: choose static or dynamic.")
        if reference < 0:
            raise UsageError(f"reference frame {reference} is negative: give an index >= 0.")
        self.alpha = check_alpha(alpha)
        self._dither = attenuation_dither(self.alpha)
        self.options = options or FlowMagOptions()
        if self.options.tta_epochs < 0:
            raise UsageError(f"tta_epochs must be >= 0, not {self.options.tta_epochs}.")
        if self.options.tta_batch < 1:  # 0 divided by zero after the whole clip was read
            raise UsageError(f"tta_batch must be at least 1, not {self.options.tta_batch}.")
        check_tta_loss(self.options.tta_loss)
        passes = pass_alphas(max(self.alpha, 1.0), self.options.max_alpha)  # checks max_alpha
        self.notes = pass_notes(passes, self.options)
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.mode = mode
        self.geometry = geometry
        self.reference = int(reference) if mode == "static" else 0
        self.latency_frames = 0 if self.options.tta_epochs else self.reference
        self.whole_clip = bool(self.options.tta_epochs)  # TTA adapts on the whole clip first
        # TTA holds every frame: 200 frames of 1280x720 peaked 1.84 GB above the same run
        # without it (review, stop 57), 10 bytes a pixel; rounded up (the engine's check)
        self.clip_bytes_per_pixel = 12.0 if self.whole_clip else 0.0
        self.tta_losses: list[float] = []
        self._weights: torch.Tensor | None = None
        self._ref: torch.Tensor | None = None
        self._held: list[np.ndarray] = []
        self._seen = 0

    def _check(self, frame: np.ndarray) -> np.ndarray:
        if self.options.alpha_map is not None and self._weights is None:
            height, width = frame.shape[:2]
            weights = load_alpha_map(self.options.alpha_map, width, height, self.geometry)
            self._weights = torch.from_numpy(weights)[None, None].to(self.device)
        return frame

    def _magnify(self, reference: torch.Tensor, frame: np.ndarray, same: bool = False):
        if same:  # the reference itself: zero motion, returned unchanged
            return frame.copy()
        tensor = frame_to_tensor(frame, self.device)
        out = magnify_pair(
            self.model, reference, tensor, self.alpha, self._weights, self.options.max_alpha
        )
        return tensor_to_frame(out, self._dither)

    def _stream(self, frame: np.ndarray) -> list[np.ndarray]:
        if self.mode == "dynamic":
            previous = self._ref
            self._ref = frame_to_tensor(frame, self.device)
            return [self._magnify(previous, frame, same=previous is None)]
        index = self._seen
        self._seen += 1
        if self._ref is None:
            self._held.append(frame)
            if index < self.reference:
                return []
            self._ref = frame_to_tensor(frame, self.device)
            held, self._held = self._held, []
            return [self._magnify(self._ref, f, same=f is frame) for f in held]
        return [self._magnify(self._ref, frame)]

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        frame = self._check(check_rgb_frame(frame).copy())
        if self.options.tta_epochs:
            self._held.append(frame)
            return []
        return self._stream(frame)

    def _tta_pairs(self, frames: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        if self.mode == "dynamic":
            return list(itertools.pairwise(frames))
        reference = frames[self.reference]
        return [(reference, f) for i, f in enumerate(frames) if i != self.reference]

    def flush(self) -> list[np.ndarray]:
        if self.options.tta_epochs:
            frames, self._held = self._held, []
            if self.mode == "static" and self.reference >= len(frames):
                raise UsageError(
                    f"reference frame {self.reference} is beyond the end of the video "
                    f"({len(frames)} frames): choose a smaller --reference."
                )
            pairs = self._tta_pairs(frames)
            if pairs and self.alpha != 1.0:  # alpha 1 returns the frames: nothing to adapt
                from ..train.flowmag import adapt

                o = self.options
                self.model, self.tta_losses = adapt(
                    self.model,
                    pairs,
                    o.tta_epochs,
                    lr=o.tta_lr,
                    batch=o.tta_batch,
                    size_px=o.tta_size_px,
                    seed=o.seed,
                    progress=o.tta_progress,
                    loss=o.tta_loss,
                    freeze_norm=o.tta_freeze_norm,
                )
            out: list[np.ndarray] = []
            for frame in frames:
                out.extend(self._stream(frame))
            return out
        if self._held:
            raise UsageError(
                f"reference frame {self.reference} is beyond the end of the video "
                f"({self._seen} frames): choose a smaller --reference."
            )
        return []


def load_flowmag(options: FlowMagOptions, device: str | torch.device = "cpu") -> torch.nn.Module:
    """The flowmag network for ``options``: shipped weights, a given file, or random ones."""
    from .learned import load_learned

    return load_learned(MODEL_NAME, options, device)


def build_flowmag(config: MagnifyConfig) -> FlowMagMagnifier:
    """Builder of the ``flowmag`` method (``MethodSpec.builder``)."""
    from .builders import options_for

    options = options_for(FlowMagOptions, config, config.method)
    model = load_flowmag(options, config.device)
    return FlowMagMagnifier(
        config.alpha,
        model,
        mode=config.resolved_mode(),
        reference=config.reference,
        options=options,
        device=config.device,
        geometry=config.frame_geometry,
    )
