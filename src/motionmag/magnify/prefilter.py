"""The thesis networks as methods (:func:`build_pair_network`), and their temporal mode:
a phase-based band-pass first, then the network.

What matters (Singh 2024, Secs 3.2.4, 4.3, 6.3.3; THESIS.md s.1.4): the thesis networks
have no temporal filter, and filtering their features is unsafe for nets trained without
it (Oh et al.). For frequency selectivity the thesis first magnifies the video with the
phase-based method (Wadhwa et al. 2013) and its temporal band-pass at factor 4, then
feeds that output to the network in dynamic mode. ``--mode temporal`` of ``sigma-theta``
and ``mdmm-*`` is this chain.

- The factor [choice: the thesis does not say how the two factors combine into one]:
  alpha is split as ``prefilter = min(4, alpha)`` for the phase stage and ``alpha /
  prefilter`` for the network, so the band's frame-to-frame motion is magnified alpha
  times in all (4 x alpha / 4). Motion outside the band passes the phase stage unchanged
  and is magnified by the network's factor only in its frame-to-frame (dynamic-mode)
  sense, as in the thesis. alpha <= 4 leaves the network at 1 (the identity).
- The phase stage is the ``phase`` method with its defaults (octave pyramid, 4
  orientations: THESIS.md's suggestion) and the run's band, filter and fps.
- With ``alpha_map`` the phase stage's change is weighted by the map too
  (:class:`MapBlended`: ``x + w (phase(x) - x)``, our choice, as the phase method has no
  per-pixel factor), so a black region stays at factor 1 through both stages (it was
  magnified 4x by the phase stage alone). The network takes the map as it is (``1 + w
  (alpha / 4 - 1)``); the phase stage's weights are set so the two factors multiply to
  the map's ``1 + w (alpha - 1)`` on a soft edge too (:func:`first_stage_weights`; with
  ``w`` in both, a half-weight pixel at alpha 20 got 7.5, 0.71 of its 10.5).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import torch

from ..errors import UsageError
from .base import Magnifier
from .config import MagnifyConfig
from .flowmag import FlowMagMagnifier, FlowMagOptions

#: the phase-based pre-filter's factor (the thesis's)
PREFILTER_ALPHA = 4.0


def split_factor(alpha: float) -> tuple[float, float]:
    """``(phase factor, network factor)`` whose product is ``alpha`` (see the docstring)."""
    prefilter = min(PREFILTER_ALPHA, float(alpha))
    return prefilter, (float(alpha) / prefilter if prefilter > 0 else 1.0)


class ChainedMagnifier(Magnifier):
    """``second`` run on the output of ``first``, frame by frame, in order."""

    def __init__(self, first: Magnifier, second: Magnifier) -> None:
        self.first = first
        self.second = second
        self.latency_frames = first.latency_frames + second.latency_frames
        self.own_notes: list[str] = []

    @property
    def notes(self) -> list[str]:  # type: ignore[override]
        """The chain's own notes, then each stage's (they were dropped)."""
        return [*self.own_notes, *self.first.notes, *self.second.notes]

    def _forward(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        out: list[np.ndarray] = []
        for frame in frames:
            out.extend(self.second.push(frame))
        return out

    def prepare(self, height: int, width: int) -> None:
        self.first.prepare(height, width)
        self.second.prepare(height, width)

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        return self._forward(self.first.push(frame))

    def flush(self) -> list[np.ndarray]:
        return self._forward(self.first.flush()) + self.second.flush()


def first_stage_weights(weights: np.ndarray, first: float, second: float) -> np.ndarray:
    """The phase stage's blend weights ``w1`` for an alpha map's weights ``w`` in [0, 1],
    with the stages' factors ``first`` (phase) and ``second`` (network, which takes ``w``
    itself): ``(1 + w1 (first - 1)) (1 + w (second - 1)) = 1 + w (first second - 1)``,
    the map's factor (small-motion approximation of a blend, as :class:`MapBlended`).
    ``w1`` is in [0, 1], 0 and 1 where ``w`` is, for ``first`` and ``second`` >= 1."""
    if first == 1.0:  # the phase stage is the identity: any weight does
        return weights
    total = 1.0 + weights * (first * second - 1.0)
    network = 1.0 + weights * (second - 1.0)
    return ((total / network - 1.0) / (first - 1.0)).astype(weights.dtype)


class MapBlended(Magnifier):
    """``inner``'s output frames moved back towards their inputs by an alpha map's
    weights ``w`` in [0, 1] (:func:`~motionmag.magnify.flowmag.load_alpha_map`):
    ``x + w (inner(x) - x)``, rounded to uint8 (``mask.blend``, with each output's input
    from ``stream.PairedMagnifier``); the map is read at the first frame, and turned by
    ``weights_of`` when given (:func:`first_stage_weights`)."""

    def __init__(
        self,
        inner: Magnifier,
        alpha_map: str,
        geometry=None,
        weights_of: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> None:
        from .stream import PairedMagnifier

        self.inner = PairedMagnifier(inner)
        self.alpha_map = alpha_map
        self.geometry = geometry
        self.weights_of = weights_of
        self.latency_frames = inner.latency_frames
        self._weights: np.ndarray | None = None

    def prepare(self, height: int, width: int) -> None:
        self.inner.magnifier.prepare(height, width)

    @property
    def notes(self) -> list[str]:  # type: ignore[override]
        return list(self.inner.magnifier.notes)

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        if self._weights is None:
            from .flowmag import load_alpha_map

            height, width = frame.shape[:2]
            weights = load_alpha_map(self.alpha_map, width, height, self.geometry)
            if self.weights_of is not None:
                weights = self.weights_of(weights)
            self._weights = weights[..., None].astype(np.float32)
        return self._blend(self.inner.push(frame))

    def flush(self) -> list[np.ndarray]:
        return self._blend(self.inner.flush())

    def _blend(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        from .mask import blend

        return [blend(original, out, self._weights) for original, out in pairs]


def prefiltered(
    config: MagnifyConfig, network: Magnifier, alpha_map: str | None = None
) -> ChainedMagnifier:
    """The phase-based band-pass at :func:`split_factor`'s first factor (the run's band,
    filter and fps; weighted by ``alpha_map`` when given, :class:`MapBlended`), chained
    to ``network`` (built for the second factor, dynamic mode)."""
    from .builders import build_phase

    first, second = split_factor(config.alpha)
    phase_config = dataclasses.replace(config, method="phase", alpha=first, options={})
    phase: Magnifier = build_phase(phase_config)
    if alpha_map is not None:
        phase = MapBlended(
            phase,
            alpha_map,
            config.frame_geometry,
            weights_of=lambda w: first_stage_weights(w, first, second),
        )
    chain = ChainedMagnifier(phase, network)
    chain.own_notes += _displacement_gain_notes(config, first, second)
    return chain


def dynamic_mode_gain(factor: float, frequency_hz: float, fps: float) -> float:
    """Displacement gain of a perfect dynamic-mode magnifier at ``factor`` on a vibration
    of ``frequency_hz`` (it magnifies each frame-to-frame change):
    ``|1 + (factor - 1)(1 - exp(-2 pi i f / fps))|``."""
    turn = 1.0 - np.exp(-2j * np.pi * frequency_hz / fps)
    return float(abs(1.0 + (factor - 1.0) * turn))


#: the chain's displacement gain off alpha by more than this share is noted (ours)
GAIN_NOTE_SHARE = 0.1


def _displacement_gain_notes(config: MagnifyConfig, first: float, second: float) -> list[str]:
    """A note when even a perfect network would move the band's centre by a factor
    other than alpha (the network works frame to frame: README, "Temporal mode of the
    thesis networks"); a review saw x3.8 at alpha 10 and 3 Hz, with nothing said."""
    if config.band is None or not config.fps:
        return []
    centre = 0.5 * (config.band[0] + config.band[1])
    gain = first * dynamic_mode_gain(second, centre, config.fps)
    if abs(gain / config.alpha - 1.0) <= GAIN_NOTE_SHARE:
        return []
    return [
        f"in temporal mode {config.method} runs the phase method at x{first:g}, then the "
        f"network frame to frame at x{second:g}: a vibration at the band's centre "
        f"({centre:.3g} Hz) moves at most about x{gain:.2g}, not x{config.alpha:g}, "
        "in displacement (README: Temporal mode of the thesis networks); phase and linear "
        "magnify it about alpha times."
    ]


def build_pair_network(
    config: MagnifyConfig, name: str, model: torch.nn.Module, alpha_map: str | None = None
) -> Magnifier:
    """A thesis network (two frames and alpha in, one frame out) as a method: applied once
    at any alpha (the thesis nets are trained on Oh's factors 1-100), dynamic or static;
    ``temporal`` runs the phase-based pre-filter first (:func:`prefiltered`). alpha < 1
    is refused: trained on 1-100, they do not attenuate (on a photo moved 0.3 px,
    sigma-theta kept 1.03 of the motion at alpha 0.5, mdmm-d1 reversed it at alpha 0)."""
    if config.alpha < 1.0:
        raise UsageError(
            f"{name} was trained on factors 1-100 and does not attenuate: give --alpha 1 or "
            f"more, or attenuate with linear, phase, oh2018, ha2024 or flowmag."
        )
    temporal = config.resolved_mode() == "temporal"
    network = FlowMagMagnifier(
        split_factor(config.alpha)[1] if temporal else config.alpha,
        model,
        mode="dynamic" if temporal else config.resolved_mode(),
        reference=config.reference,
        options=FlowMagOptions(alpha_map=alpha_map, max_alpha=math.inf),
        device=config.device,
        name=name,
        geometry=config.frame_geometry,
    )
    return prefiltered(config, network, alpha_map) if temporal else network
