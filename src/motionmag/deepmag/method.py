"""DeepMag behind the library's stream interface: the ``deepmag-color`` method's builder.

What matters: DeepMag filters the accumulated change with a *zero-phase* band-pass over the
whole clip (Eq. 16), so it cannot stream: :class:`DeepMagColorMagnifier` holds every frame
it is given and returns them all, magnified, from ``flush()`` (memory O(video), the one
exception to the library's O(window) rule; ``latency_frames`` is 0 only because no
count describes "the whole clip"). ``alpha`` is the total gain of the pulse amplitude,
turned into the step gamma by the calibration in the model card; the options ``n_iter``
and ``gamma`` set the paper's hyper-parameters directly (``gamma`` overrides ``alpha``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import UsageError
from ..magnify.base import Magnifier
from .magnify import N_ITER, PULSE_BAND_HZ, gamma_for_alpha, magnify_color

MODEL_NAME = "deepmag-color"


@dataclass
class DeepMagColorOptions:
    """Method options (``MagnifyConfig.options``) of ``deepmag-color``."""

    n_iter: int = N_ITER
    gamma: float | None = None  # None: from alpha and the model card's calibration
    weights: str | None = None  # a .safetensors file instead of the shipped weights
    batch_size: int = 512


class DeepMagColorMagnifier(Magnifier):
    """Whole-clip magnifier: ``push`` stores, ``flush`` magnifies (see module docstring)."""

    latency_frames = 0

    def __init__(
        self,
        model,
        fps: float,
        n_iter: int,
        gamma: float,
        band: tuple[float, float] = PULSE_BAND_HZ,
        batch_size: int = 512,
        device: str = "cpu",
    ) -> None:
        self.model, self.fps, self.n_iter, self.gamma = model, fps, n_iter, gamma
        self.band, self.batch_size, self.device = band, batch_size, device
        self._frames: list[np.ndarray] = []

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        self._frames.append(np.asarray(frame))
        return []

    def flush(self) -> list[np.ndarray]:
        if not self._frames:
            return []
        frames = np.stack(self._frames)
        self._frames = []
        out = magnify_color(
            frames, self.fps, self.model, self.n_iter, self.gamma, self.band,
            batch_size=self.batch_size, device=self.device,
        )  # fmt: skip
        return list(out)


def build_deepmag_color(config) -> DeepMagColorMagnifier:
    """Builder of the ``deepmag-color`` method (a ``MagnifyConfig`` in, a magnifier out)."""
    from ..magnify.builders import options_for
    from ..models.registry import create_model, model_card

    options = options_for(DeepMagColorOptions, config, MODEL_NAME)
    if config.fps is None:
        raise UsageError("deepmag-color needs the frame rate: pass --fps.")
    if options.weights is not None:
        model = create_model(MODEL_NAME, weights=options.weights, device=config.device)
        card_path = Path(options.weights).with_suffix(".json")
        card = json.loads(card_path.read_text()) if card_path.is_file() else None
    else:
        model = create_model(MODEL_NAME, device=config.device)
        card = model_card(MODEL_NAME)
    gamma = options.gamma
    if gamma is None:
        calibration = (card or {}).get("calibration")
        if calibration is None:
            raise UsageError(
                "these deepmag-color weights have no alpha calibration in their model card: "
                "give the step directly with the option gamma (the paper's is 6e-5)."
            )
        gamma = gamma_for_alpha(config.alpha, options.n_iter, calibration)
    band = config.band or PULSE_BAND_HZ
    return DeepMagColorMagnifier(
        model, config.fps, options.n_iter, gamma, band, options.batch_size, config.device
    )
