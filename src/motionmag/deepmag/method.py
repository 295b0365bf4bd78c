"""DeepMag behind the library's stream interface: the ``deepmag-color`` and ``deepmag-motion``
methods' builders.

What matters: DeepMag filters the accumulated change with a *zero-phase* band-pass over the
whole clip (Eq. 16), so it cannot stream: :class:`DeepMagColorMagnifier` holds every frame
it is given and returns them all, magnified, from ``flush()`` (memory O(video), the one
exception to the library's O(window) rule; ``latency_frames`` is 0 only because no
count describes "the whole clip"). ``alpha`` is the total gain of the pulse amplitude,
turned into the step gamma by the calibration in the model card; the options ``n_iter``
and ``gamma`` set the paper's hyper-parameters directly (``gamma`` overrides ``alpha``).

``deepmag-motion`` is the same with the respiration CNN on steerable-pyramid phase
differences (:mod:`.motion`, Eq. 19-23): ``alpha`` is the total gain of the chest's
breathing displacement (calibrated on synthetic train videos, see
:func:`.calibration.calibrate_motion`), the band defaults to 0.16-0.5 Hz, and the pyramid
scale ``r0`` to the one closest to the net's input size (option ``scale`` overrides it).
Both hold the whole clip (:class:`WholeClipMagnifier`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..magnify.base import Magnifier
from .calibration import calibration_for
from .magnify import (
    GAMMA,
    GATE_SIGMAS,
    N_ITER,
    PULSE_BAND_HZ,
    SMOOTH_CELLS,
    STEP,
    WEIGHT_SMOOTH_S,
    check_step,
    gamma_for_alpha,
    magnify_color,
)
from .motion import (
    MOTION_GAMMA,
    MOTION_N_ITER,
    RESPIRATION_BAND_HZ,
    SMOOTH_PX,
    SizedPredictor,
    magnify_motion,
    scale_for_size,
)

MODEL_NAME = "deepmag-color"
MOTION_MODEL_NAME = "deepmag-motion"


@dataclass
class DeepMagColorOptions:
    """Method options (``MagnifyConfig.options``) of ``deepmag-color``."""

    n_iter: int = N_ITER
    gamma: float | None = None  # None: from alpha and the model card's calibration
    weights: str | None = None  # a .safetensors file instead of the shipped weights
    batch_size: int = 512
    smooth_cells: float = SMOOTH_CELLS  # blur of the change, cells of 36 x 36; 0 = paper's
    gate_sigmas: float = GATE_SIGMAS  # noise gate of the step, robust sigmas; 0 = paper's
    step: str = STEP  # "linear" (ours) or "sign" (the paper's |G| sgn(X))
    weight_smooth_s: float = WEIGHT_SMOOTH_S  # time smoothing of |G|, s; 0 = paper's


def zero_phase_frames_needed(band: tuple[float, float], fps: float) -> int:
    """The fewest frames DeepMag's zero-phase band-pass (``sosfiltfilt``, order
    ``FILTER_ORDER``) takes: more than its padding, as ``magnify.bandpass_change`` and
    ``motion.phase_change`` check."""
    from ..temporal.iir import butterworth_sos, filtfilt_padlen
    from .magnify import FILTER_ORDER

    return filtfilt_padlen(butterworth_sos(band[0], band[1], fps, FILTER_ORDER)) + 2


class WholeClipMagnifier(Magnifier):
    """``push`` stores, ``flush`` magnifies the whole clip (see module docstring)."""

    latency_frames = 0
    whole_clip = True

    def __init__(self) -> None:
        self._frames: list[np.ndarray] = []

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        self._frames.append(np.asarray(frame))
        return []

    def flush(self) -> list[np.ndarray]:
        if not self._frames:
            return []
        frames = np.stack(self._frames)
        self._frames = []
        return list(self.magnify_clip(frames))

    def magnify_clip(self, frames: np.ndarray) -> np.ndarray:
        """uint8 RGB (T, H, W, 3) -> the magnified clip, same shape and dtype."""
        raise NotImplementedError


#: the green channel's robust frame-to-frame noise (``magnify.noise_sigma`` of X, the
#: 36x36 normalised difference) of the 4 videos the shipped colour calibration was
#: measured on (train split 10000-10003, 128 px, 10 s; measured 2026-12-04): the gain
#: follows it, as the linear step is scaled by 1 / (3 sigma). A face with 0.25 / 1 / 3
#: grey levels of noise has 0.0012 / 0.0032 / 0.0092 and gave x11.5 / x3.0 / x1.45 at
#: alpha 3 (``benchmarks/deepmag_selectivity.py``)
CALIBRATION_SIGMA_G = (0.00207, 0.00689)


def noise_notes(noise) -> list[str]:
    """A note when the clip's colour noise (``ramp_sigma``'s (R, G, B)) lies well outside
    the calibration videos' (:data:`CALIBRATION_SIGMA_G`): its pulse gain will be far
    from alpha."""
    sigma = float(noise[1])
    low, high = CALIBRATION_SIGMA_G
    if sigma < 0.7 * low:
        said = f"{sigma:.2g}" if sigma > 0 else "none: a rendered or still clip"
        return [
            f"this clip's frame-to-frame colour noise ({said}) is below that of every "
            f"video alpha was calibrated on ({low:.2g}-{high:.2g}), and the step grows as the "
            "noise falls, so the pulse may come out several times the alpha asked for (on a "
            "test face with a quarter of the calibration's noise, alpha 3 gave x11.5): ask "
            "for a smaller --alpha, and check the result."
        ]
    if sigma > 1.4 * high:
        return [
            f"this clip's frame-to-frame colour noise ({sigma:.2g}) is above that of every "
            f"video alpha was calibrated on ({low:.2g}-{high:.2g}): the pulse may come out "
            "well below the alpha asked for (on a test face with 3 times the noise, alpha 3 "
            "gave x1.45)."
        ]
    return []


class DeepMagColorMagnifier(WholeClipMagnifier):
    """Whole-clip pulse-colour magnifier (Eq. 15-18)."""

    #: peak RSS over 300 more frames of 160x96 (2026-12-04, `/usr/bin/time -v motionmag
    #: magnify` with --end 10 and 20): 877 MB, 190 bytes a pixel; rounded up
    clip_bytes_per_pixel = 200.0

    def __init__(
        self,
        model,
        fps: float,
        n_iter: int,
        gamma: float,
        band: tuple[float, float] = PULSE_BAND_HZ,
        batch_size: int = 512,
        device: str = "cpu",
        smooth_cells: float = 0.0,
        gate_sigmas: float = 0.0,
        step: str = "sign",
        weight_smooth_s: float = 0.0,
    ) -> None:
        super().__init__()
        self.model, self.fps, self.n_iter, self.gamma = model, fps, n_iter, gamma
        self.band, self.batch_size, self.device = band, batch_size, device
        self.frames_needed = zero_phase_frames_needed(band, fps)
        self.smooth_cells, self.gate_sigmas = smooth_cells, gate_sigmas
        self.step, self.weight_smooth_s = step, weight_smooth_s

    def magnify_clip(self, frames: np.ndarray) -> np.ndarray:
        noise = None
        if self.step == "linear":  # read once: for the note and the step
            from .magnify import ramp_sigma

            noise = ramp_sigma(frames)
            self.notes = noise_notes(noise)
        return magnify_color(
            frames, self.fps, self.model, self.n_iter, self.gamma, self.band,
            batch_size=self.batch_size, device=self.device, smooth_cells=self.smooth_cells,
            gate_sigmas=self.gate_sigmas, step=self.step, weight_smooth_s=self.weight_smooth_s,
            noise=noise,
        )  # fmt: skip


@dataclass
class DeepMagMotionOptions:
    """Method options (``MagnifyConfig.options``) of ``deepmag-motion``."""

    n_iter: int = MOTION_N_ITER
    gamma: float | None = None  # rad; None: from alpha and the model card's calibration
    scale: int | None = None  # pyramid scale r0; None: the band closest to the net's input
    weights: str | None = None  # a .safetensors file instead of the shipped weights
    batch_size: int = 64
    smooth_px: float = SMOOTH_PX  # phase-change smoothing, px of the r0 band; 0 = paper's


class DeepMagMotionMagnifier(WholeClipMagnifier):
    """Whole-clip respiration-motion magnifier (Eq. 19-23, :func:`.motion.magnify_motion`).

    Args:
        model: the motion net (its ``config["size_px"]`` is the input side it wants).
        fps: frames per second.
        n_iter, gamma: N and the step in rad.
        band: the band-pass of the rebuilt phase change, Hz.
        scale: pyramid scale r0 (None: :func:`.motion.scale_for_size` per clip).
        smooth_px: sigma of the phase change's amplitude-weighted smoothing, px of the r0
            band (:func:`.motion.smooth_phase_change`; 0 = off, the paper's rebuild).
    """

    #: measured as deepmag-color's: 636 MB over 300 more frames of 160x96, 138 bytes a
    #: pixel; rounded up
    clip_bytes_per_pixel = 150.0

    def __init__(
        self,
        model,
        fps: float,
        n_iter: int,
        gamma: float,
        band: tuple[float, float] = RESPIRATION_BAND_HZ,
        scale: int | None = None,
        batch_size: int = 64,
        device: str = "cpu",
        smooth_px: float = SMOOTH_PX,
    ) -> None:
        super().__init__()
        self.predictor = SizedPredictor(model)
        self.fps, self.n_iter, self.gamma, self.band = fps, n_iter, gamma, band
        self.frames_needed = zero_phase_frames_needed(band, fps)
        self.scale, self.batch_size, self.device = scale, batch_size, device
        self.smooth_px = smooth_px

    def magnify_clip(self, frames: np.ndarray) -> np.ndarray:
        height, width = frames.shape[1:3]
        if min(height, width) < 16:
            raise UsageError(
                f"frames of {width}x{height} px are too small for deepmag-motion's pyramid: "
                "give frames of at least 16 px."
            )
        orientations = int(self.predictor.net.config.get("orientations", 4))
        scale = self.scale
        if scale is None:
            scale = scale_for_size(height, width, self.predictor.size_px, orientations)
        return magnify_motion(
            frames, self.fps, self.predictor, n_iter=self.n_iter, gamma=self.gamma,
            band=self.band, scale=scale, orientations=orientations,
            batch_size=self.batch_size, device=self.device, smooth_px=self.smooth_px,
        )  # fmt: skip


def _model_and_gamma(config, name: str, options, paper_gamma: float):
    """The model of ``name`` (shipped or ``options.weights``) and the step for ``alpha``.

    ``options.gamma`` wins; otherwise alpha goes through the card's calibration."""
    from ..models.registry import create_model, model_card

    if config.fps is None:
        raise UsageError(f"{name} needs the frame rate: pass --fps.")
    if options.weights is not None:
        model = create_model(name, weights=options.weights, device=config.device)
        card_path = Path(options.weights).with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.is_file() else None
    else:
        model = create_model(name, device=config.device)
        card = model_card(name)
    for p in model.parameters():
        p.requires_grad_(False)
    gamma = options.gamma
    if gamma is None:
        smooth = getattr(options, "smooth_cells", None)  # the colour path's calibrations
        gate = getattr(options, "gate_sigmas", 0.0)
        step = getattr(options, "step", "sign")
        weight = getattr(options, "weight_smooth_s", 0.0)
        calibration = calibration_for(card, smooth, gate, step, weight)
        if calibration is None:
            measured = ""
            if smooth is not None:
                measured = (
                    f" with smooth_cells={smooth:g}, gate_sigmas={gate:g}, step={step}, "
                    f"weight_smooth_s={weight:g}"
                )
            raise UsageError(
                f"these {name} weights have no alpha calibration{measured} in their model "
                f"card: give the step directly with the option gamma (the paper's is "
                f"{paper_gamma:g}), or measure one (benchmarks/recalibrate_deepmag.py)."
            )
        gamma = gamma_for_alpha(config.alpha, options.n_iter, calibration)
    return model, gamma


def _nonnegative(option: str, value, what: str) -> float:
    """``value`` of an option as a float; UsageError unless a finite number >= 0."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not 0 <= value < float("inf")
    ):
        raise UsageError(f"{option} {value} must be >= 0 (0 turns {what} off).")
    return float(value)


def _smoothing(option: str, value) -> float:
    """``value`` of a smoothing option as a float; UsageError unless a number >= 0."""
    return _nonnegative(option, value, "smoothing")


def build_deepmag_color(config) -> DeepMagColorMagnifier:
    """Builder of the ``deepmag-color`` method (a ``MagnifyConfig`` in, a magnifier out)."""
    from ..magnify.builders import options_for

    options = options_for(DeepMagColorOptions, config, MODEL_NAME)
    smooth = _smoothing("smooth_cells", options.smooth_cells)
    options.gate_sigmas = _nonnegative("gate_sigmas", options.gate_sigmas, "the gate")
    check_step(options.step)  # before the model loads
    options.weight_smooth_s = _smoothing("weight_smooth_s", options.weight_smooth_s)
    model, gamma = _model_and_gamma(config, MODEL_NAME, options, GAMMA)
    band = config.band or PULSE_BAND_HZ
    return DeepMagColorMagnifier(
        model, config.fps, options.n_iter, gamma, band, options.batch_size, config.device,
        smooth, options.gate_sigmas, options.step, options.weight_smooth_s,
    )  # fmt: skip


def build_deepmag_motion(config) -> DeepMagMotionMagnifier:
    """Builder of the ``deepmag-motion`` method (a ``MagnifyConfig`` in, a magnifier out)."""
    from ..magnify.builders import options_for

    options = options_for(DeepMagMotionOptions, config, MOTION_MODEL_NAME)
    if options.scale is not None and options.scale < 0:
        raise UsageError(f"scale {options.scale} is negative: give a pyramid scale >= 0.")
    _smoothing("smooth_px", options.smooth_px)
    model, gamma = _model_and_gamma(config, MOTION_MODEL_NAME, options, MOTION_GAMMA)
    band = config.band or RESPIRATION_BAND_HZ
    return DeepMagMotionMagnifier(
        model, config.fps, options.n_iter, gamma, band, options.scale, options.batch_size,
        config.device, options.smooth_px,
    )  # fmt: skip
