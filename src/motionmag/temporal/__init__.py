"""Temporal selection: which part of each element's change over time gets magnified.

Modes (INTERFACE.md ``--mode``): ``static`` (against reference frame N), ``dynamic``
(against the previous frame) and ``temporal`` (a band-pass along time with ``--filter``
``butter`` | ``diff-iir`` | ``fir``). :func:`make_selector` builds one from those flags and
checks them, so a bad band fails before any frame is read.
"""

from __future__ import annotations

from ..errors import UsageError
from .base import Rep, TemporalSelector, map_rep
from .fir import (
    FIRBandpassSelector,
    FIRSelector,
    acceleration_taps,
    default_fir_taps,
    fir_bandpass_taps,
)
from .iir import (
    ButterworthSelector,
    DifferenceOfIIRSelector,
    butterworth_sos,
    check_band,
    iir_coefficient,
)
from .reference import DynamicSelector, StaticSelector

MODES = ("static", "dynamic", "temporal")
FILTERS = ("butter", "diff-iir", "fir")

__all__ = [
    "FILTERS",
    "MODES",
    "ButterworthSelector",
    "DifferenceOfIIRSelector",
    "DynamicSelector",
    "FIRBandpassSelector",
    "FIRSelector",
    "Rep",
    "StaticSelector",
    "TemporalSelector",
    "acceleration_taps",
    "butterworth_sos",
    "check_band",
    "default_fir_taps",
    "fir_bandpass_taps",
    "iir_coefficient",
    "make_selector",
    "map_rep",
]


#: the sentence for a band in Hz without a frame rate (a Stream or array without fps)
FPS_UNKNOWN = "the frame rate is unknown: pass --fps to use a band in Hz."


def make_selector(
    mode: str,
    *,
    band: tuple[float, float] | None = None,
    fps: float | None = None,
    filter_kind: str = "butter",
    reference: int = 0,
    order: int = 2,
    fir_taps: int | None = None,
    iir_coefficients: tuple[float, float] | None = None,
) -> TemporalSelector:
    """Build the selector for a mode; raise UsageError with a plain sentence on bad flags.

    Args:
        mode: ``static`` | ``dynamic`` | ``temporal``.
        band: ``(low_hz, high_hz)`` pass band, needed by ``temporal`` (except diff-iir given
            ``iir_coefficients``).
        fps: frame rate of the input in frames per second (for the band).
        filter_kind: ``butter`` (streaming Butterworth) | ``diff-iir`` | ``fir`` (ideal,
            non-causal, blocked).
        reference: reference frame index for ``static``.
        order: Butterworth order (scipy's N).
        fir_taps: FIR length in frames (odd).
        iir_coefficients: ``(r_high, r_low)`` for ``diff-iir`` instead of a band in Hz.
    """
    if mode == "static":
        return StaticSelector(reference)
    if mode == "dynamic":
        return DynamicSelector()
    if mode != "temporal":
        raise UsageError(f"unknown mode '{mode}': choose one of {', '.join(MODES)}.")
    if filter_kind not in FILTERS:
        raise UsageError(f"unknown filter '{filter_kind}': choose one of {', '.join(FILTERS)}.")
    if filter_kind == "diff-iir" and iir_coefficients is not None:
        return DifferenceOfIIRSelector(*iir_coefficients)
    if band is None:
        raise UsageError("temporal mode needs a pass band: add --band LOW HIGH (in Hz).")
    if fps is None:
        raise UsageError(FPS_UNKNOWN)
    low_hz, high_hz = (float(b) for b in band)
    if filter_kind == "butter":
        return ButterworthSelector(low_hz, high_hz, fps, order)
    if filter_kind == "diff-iir":
        return DifferenceOfIIRSelector.from_band(low_hz, high_hz, fps)
    return FIRBandpassSelector(low_hz, high_hz, fps, taps=fir_taps)
