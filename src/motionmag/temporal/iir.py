"""Streaming (causal) IIR band-pass selectors: Butterworth and difference of IIR.

What matters: these run one frame at a time with a fixed amount of state per element
(two values per second-order section, or two running averages), so they work on live
input and on videos of any length. Both start in the steady state of the first frame
(a constant input gives exactly zero), so there is no start-up flash.

- Butterworth: ``scipy.signal.butter(order, [low, high], 'bandpass', fs=fps)`` as
  second-order sections, run in direct form II transposed, exactly what
  ``scipy.signal.sosfilt`` computes (tested against it). ``order`` is scipy's ``N``: the
  band-pass has ``2 N`` poles. Default ``N = 2`` (Oh et al. 2018 use a 2nd-order
  Butterworth; the exact order convention of their code is our choice here).
- Difference of IIR (Wu et al. 2012 code; Wadhwa et al. 2014, Sec. 4): two first-order
  low-pass filters ``L_i(t) = (1 - r_i) L_i(t-1) + r_i x(t)`` and the output
  ``L_1 - L_2`` with ``r_1 > r_2``. The coefficients come from the band in Hz through
  ``r = 1 - exp(-2 pi f / fps)`` (the cut-off of a first-order exponential smoother), or
  are given directly, as in Oh et al.'s temporal mode where "the cut-offs are filter
  coefficients, not Hz". A narrow band's difference peaks well below 1 (0.4 for 2-4 Hz
  at 30 fps), which would make alpha mean less than alpha; so, by our choice, the output
  is divided by the filter's peak gain (``normalize=True``), and an in-band motion is
  magnified by alpha as with the other filters.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import torch
from scipy import signal

from ..errors import UsageError
from .base import Rep, TemporalSelector

#: the longest period (frames) a band's low edge may have: 9 hours at 30 fps (ours; the
#: Butterworth design turns singular near 1e8)
MAX_PERIOD_FRAMES = 1_000_000


def check_band(low_hz: float, high_hz: float, fps: float) -> None:
    """Raise UsageError unless ``0 < low_hz < high_hz < fps / 2`` (all finite)."""
    values = (low_hz, high_hz, fps)
    real = all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values)
    if not real or not all(math.isfinite(v) for v in values):
        raise UsageError(f"band {low_hz}-{high_hz} Hz at {fps} fps is not finite: give numbers.")
    if fps <= 0:
        raise UsageError(f"frame rate {fps} is not positive: pass --fps with the real rate.")
    if low_hz <= 0:
        raise UsageError(f"band low edge {low_hz} Hz must be above 0: give a positive --band low.")
    if low_hz >= high_hz:
        raise UsageError(
            f"band low edge {low_hz} Hz is not below the high edge {high_hz} Hz: "
            "give --band LOW HIGH with LOW < HIGH."
        )
    if low_hz * MAX_PERIOD_FRAMES < fps:  # the filter design is singular long before
        raise UsageError(
            f"band low edge {low_hz:g} Hz lasts more than {MAX_PERIOD_FRAMES:,} frames a period "
            f"at {fps:g} fps, longer than any clip: give a higher --band LOW (or the real "
            "--fps)."
        )
    if high_hz >= fps / 2:
        raise UsageError(
            f"band high edge {high_hz} Hz is not below half the frame rate ({fps / 2:g} Hz at "
            f"{fps:g} fps): lower --band HIGH or pass the real rate with --fps."
        )


def filtfilt_padlen(sos: np.ndarray) -> int:
    """Frames ``scipy.signal.sosfiltfilt`` pads at each end with its default ``padlen``
    (``3 * (2 * sections + 1)``); it needs more frames than this."""
    return 3 * (2 * len(sos) + 1)


def butterworth_sos(low_hz: float, high_hz: float, fps: float, order: int = 2) -> np.ndarray:
    """Second-order sections (float64, shape (order, 6)) of the Butterworth band-pass."""
    check_band(low_hz, high_hz, fps)
    if order < 1:
        raise UsageError(f"filter order {order} (--order) must be at least 1: give --order 2.")
    return signal.butter(order, [low_hz, high_hz], btype="bandpass", fs=fps, output="sos")


class ButterworthSelector(TemporalSelector):
    """Causal Butterworth band-pass per element, DF-II transposed, zero latency.

    Args:
        low_hz, high_hz: pass band in Hz, ``0 < low < high < fps / 2``.
        fps: frame rate in frames per second.
        order: scipy's ``N`` (the band-pass has ``2 N`` poles); default 2.
    """

    latency_frames = 0

    def __init__(self, low_hz: float, high_hz: float, fps: float, order: int = 2) -> None:
        self.sos = butterworth_sos(low_hz, high_hz, fps, order)
        self._origin: Rep = []  # the first frame's representation (see _init_state)
        self._state: list[list[list[torch.Tensor]]] | None = None

    def _init_state(self, rep: Rep) -> None:
        # The filter runs on x - x(0) from rest, which equals running on x from the first
        # frame's steady state (zero gain at DC), without the large constant states: in
        # float32 those cost up to 0.03 of a level held at 50 (a linear pyramid's residual
        # at high alpha; 3 grey levels off at 0.1-0.3 Hz, 240 fps; review, stop 54)
        self._origin = [level.clone() for level in rep]
        self._state = [
            [[torch.zeros_like(level), torch.zeros_like(level)] for _ in range(len(self.sos))]
            for level in rep
        ]

    def push(self, rep: Rep) -> list[Rep]:
        if self._state is None:
            self._init_state(rep)
        assert self._state is not None
        out: Rep = []
        for level, origin, sections in zip(rep, self._origin, self._state, strict=True):
            x = level - origin
            for (b0, b1, b2, _a0, a1, a2), z in zip(self.sos, sections, strict=True):
                # DF-II transposed, in place: y = b0 x + z0; z0' = b1 x - a1 y + z1;
                # z1' = b2 x - a2 y (z0' reuses z1's memory, z1' reuses z0's)
                y = torch.add(z[0], x, alpha=float(b0))
                new_z0 = z[1]
                if b1:
                    new_z0.add_(x, alpha=float(b1))
                new_z0.add_(y, alpha=-float(a1))
                new_z1 = torch.mul(x, float(b2), out=z[0]) if b2 else z[0].zero_()
                new_z1.add_(y, alpha=-float(a2))
                z[0], z[1] = new_z0, new_z1
                x = y
            out.append(x)
        return [out]


def iir_coefficient(cutoff_hz: float, fps: float) -> float:
    """First-order smoother coefficient ``r = 1 - exp(-2 pi f_c / fps)`` (unitless, 0..1)."""
    return 1.0 - math.exp(-2.0 * math.pi * cutoff_hz / fps)


def _log_grid(top: float, points: int) -> np.ndarray:
    """``points`` frequencies from 1e-8 of a cycle or radian up to ``top``, evenly on a
    log scale: a low band's peak lies far below a linear grid's first step (from 1e-4
    it was missed, and the band 0.0001-0.0003 Hz at 30 fps passed 1.44)."""
    return np.geomspace(1e-8, top, points)


class DifferenceOfIIRSelector(TemporalSelector):
    """Difference of two first-order low-pass filters (Wadhwa et al. 2014), zero latency.

    Build from a band with :meth:`from_band` or from the coefficients directly:
    ``r_high`` (the faster smoother, for the high cut-off) > ``r_low``.
    """

    latency_frames = 0

    def __init__(self, r_high: float, r_low: float, normalize: bool = True) -> None:
        if not (0.0 < r_low < r_high <= 1.0):
            raise UsageError(
                f"difference-of-IIR coefficients ({r_high}, {r_low}) must satisfy "
                "0 < r_low < r_high <= 1: the first one belongs to the high cut-off."
            )
        self.r_high = float(r_high)
        self.r_low = float(r_low)
        self.scale = 1.0 / self.peak_gain() if normalize else 1.0
        self._fast: Rep | None = None
        self._slow: Rep | None = None
        self._origin: Rep = []

    @classmethod
    def from_band(
        cls, low_hz: float, high_hz: float, fps: float, normalize: bool = True
    ) -> DifferenceOfIIRSelector:
        """Coefficients from a pass band in Hz (see the module docstring)."""
        check_band(low_hz, high_hz, fps)
        return cls(iir_coefficient(high_hz, fps), iir_coefficient(low_hz, fps), normalize)

    def _response(self, z: np.ndarray) -> np.ndarray:
        """``r1/(1-(1-r1)/z) - r2/(1-(1-r2)/z)`` at the points ``z`` of the unit circle."""
        return self.r_high / (1 - (1 - self.r_high) / z) - self.r_low / (1 - (1 - self.r_low) / z)

    def peak_gain(self) -> float:
        """Largest magnitude of the frequency response (before normalisation)."""
        return float(np.abs(self._response(np.exp(1j * _log_grid(np.pi, 8192)))).max())

    def half_power_band(self, fps: float) -> tuple[float, float]:
        """(low, high) Hz where the normalised response is at least 1/sqrt(2) (-3 dB): two
        first-order smoothers pass a wider band than the cut-offs they were built from
        (``--band 1 4`` at 30 fps passes 0.71-6.27 Hz)."""
        hz = _log_grid(0.5, 200001) * fps
        gain = np.abs(self._response(np.exp(2j * np.pi * hz / fps)))
        passed = hz[gain >= gain.max() / math.sqrt(2)]  # the peak on this finer grid
        return float(passed[0]), float(passed[-1])

    def push(self, rep: Rep) -> list[Rep]:
        if self._fast is None or self._slow is None:
            # both smoothers run on x - x(0) from rest: the same difference, without the
            # large equal states that cancel in float32 (as the Butterworth's)
            self._origin = [level.clone() for level in rep]
            self._fast = [torch.zeros_like(level) for level in rep]
            self._slow = [torch.zeros_like(level) for level in rep]
        out: Rep = []
        for level, origin, fast, slow in zip(
            rep, self._origin, self._fast, self._slow, strict=True
        ):
            x = level - origin
            fast.mul_(1.0 - self.r_high).add_(x, alpha=self.r_high)
            slow.mul_(1.0 - self.r_low).add_(x, alpha=self.r_low)
            out.append((fast - slow) * self.scale if self.scale != 1.0 else fast - slow)
        return [out]
