"""Ideal (non-causal) FIR band-pass that streams in blocks.

What matters: Wu et al. 2012 filter each pixel with an ideal band-pass over the *whole*
clip (an FFT along time), which needs the whole video in memory. Here the ideal response
is truncated to ``taps`` frames centred on the output frame (a windowed sinc,
``scipy.signal.firwin``; the Hamming window is our choice, it keeps pass-band ripple
below 0.2 % and stop-band leakage below -50 dB). The filter is zero-phase and
non-causal: output frame ``t`` uses frames ``t - D .. t + D`` with ``D = (taps - 1) / 2``,
so it arrives ``D`` frames (plus one block) late and memory is ``taps + block`` frames,
independent of the video's length. Frames before the start and after the end are the
clip reflected through its first and last frame, ``x(-k) = 2 x(0) - x(k)`` (scipy's
``filtfilt`` default, ``padtype="odd"``): a band-pass, and acceleration's second
derivative, map a constant *and* a steady drift there to zero, where repeating the end
frames made a kink that they turned into motion (acceleration at alpha 10 moved the
first and last frames of a 0.1 px/frame drift by 1.3-1.6 px). A clip shorter than ``D``
frames reflects what it has (``k`` is capped at the last frame).

The ends stay approximate, as with any padding (measured on 1-D signals, band 1-3 Hz at
30 fps, 121 taps; worst error within D frames of an end, relative to the amplitude): a
motion below the band (0.3 Hz) leaks 2.5 %, one in it is off by up to 100 % (the
selection at the first and last frame is exactly zero, whatever moves there: the odd
reflection through the end value and the zero-DC taps force it), and one above it
(12 Hz) that ends away from zero leaks up to 64 %, since the reflection through a
non-zero end value is a step, whose band-passed edge is in the band (a linear clip
magnified x20 moved x5 over its last 60 frames). Reflecting evenly about a line fitted
to the end frames cuts the last to 3 % but raises the first to 10-16 % (a slow motion is
the commoner company of a band: breathing beside a pulse), so the odd reflection stays.

Computation: ``block`` outputs at once as one matrix product of the (block, block + 2D)
Toeplitz matrix of the taps with the buffered frames (a ring buffer: nothing is copied
to slide the window), a GEMM rather than ``taps`` memory-bound passes per frame.
"""

from __future__ import annotations

import numpy as np
import torch
from scipy import signal

from ..errors import UsageError
from .base import Rep, TemporalSelector
from .iir import check_band


def default_fir_taps(low_hz: float, fps: float, max_taps: int = 255) -> int:
    """Odd tap count spanning about four periods of the low cut-off, in [31, max_taps].

    Chosen by us: the transition width of a Hamming-windowed sinc is about
    ``3.3 fps / taps`` Hz, so four periods of ``low_hz`` keep the transition at about
    ``0.8 low_hz``. Long, low bands at high resolution cost memory (``taps`` frames of
    the representation): pass ``taps`` explicitly to trade sharpness for memory.
    """
    if not (low_hz > 0 and fps > 0):
        raise UsageError(f"band low edge {low_hz} Hz and rate {fps} fps must be positive.")
    taps = 2 * round(2.0 * fps / low_hz) + 1
    return int(min(max(taps, 31), max_taps if max_taps % 2 else max_taps - 1))


def fir_bandpass_taps(low_hz: float, high_hz: float, fps: float, taps: int) -> np.ndarray:
    """Windowed-sinc band-pass taps (float64, odd length, symmetric: zero phase, zero DC)."""
    check_band(low_hz, high_hz, fps)
    if taps < 3 or taps % 2 == 0:
        raise UsageError(
            f"FIR length {taps} (--fir-taps) must be an odd number of at least 3 frames."
        )
    h = signal.firwin(taps, [low_hz, high_hz], pass_zero=False, fs=fps, window="hamming")
    # A truncated band-pass leaks a little DC (a few % for short filters); a still scene
    # must select exactly nothing, so remove the leak along the window (our choice).
    window = signal.get_window("hamming", taps, fftbins=False)
    return h - window * (h.sum() / window.sum())


def fir_gain(taps: np.ndarray, frequency_hz: float, fps: float) -> float:
    """Magnitude of the response of the centred ``taps`` at ``frequency_hz``."""
    t = np.arange(len(taps)) - (len(taps) - 1) / 2
    return float(abs(np.sum(taps * np.exp(-2j * np.pi * frequency_hz * t / fps))))


class FIRSelector(TemporalSelector):
    """Any symmetric (zero-phase) FIR filter along time, streamed in blocks of frames.

    The frames wait in a ring buffer of ``block + taps - 1`` rows per pyramid level;
    each block of outputs is one matrix product of the buffer with the Toeplitz matrix
    of the taps, its columns permuted to the ring's order, so no frame is ever copied
    to shift the window.

    Args:
        taps: odd-length filter taps (float64), centred on the output frame.
        block: frames produced per matrix product (latency ``D + block``).
        shorter: how to make the filter shorter, for the sentence refusing a window that
            cannot fit in memory.
    """

    #: how a band-pass FIR is made shorter
    SHORTER = "raise the band's low edge, or give fewer --fir-taps"

    def __init__(self, taps: np.ndarray, block: int = 16, shorter: str = SHORTER) -> None:
        taps = np.asarray(taps, dtype=np.float64)
        if taps.ndim != 1 or len(taps) % 2 == 0:
            raise UsageError(f"FIR length {len(taps)} must be an odd number of frames.")
        self.taps = taps
        self.shorter = shorter
        self.half = (len(self.taps) - 1) // 2
        self.block = max(1, int(block))
        self.capacity = self.block + 2 * self.half
        self.latency_frames = self.half + self.block
        self._buffer: list[torch.Tensor] | None = None  # per level: (capacity, *shape), a ring
        self._head = 0  # ring row of the oldest frame still needed
        self._filled = 0  # frames held
        self._last: Rep | None = None
        self._seen = 0  # frames pushed
        self._start_reflected = False  # the rows before frame 0 are filled
        self._matrix_cache: dict[tuple, torch.Tensor] = {}

    def _matrix(self, outputs: int, like: torch.Tensor) -> torch.Tensor:
        """(outputs, capacity) Toeplitz matrix of the taps in the ring's row order."""
        key = (outputs, self._head, like.dtype, like.device)
        if key not in self._matrix_cache:
            matrix = np.zeros((outputs, self.capacity))
            for i in range(outputs):
                rows = (self._head + i + np.arange(len(self.taps))) % self.capacity
                matrix[i, rows] = self.taps
            self._matrix_cache[key] = torch.as_tensor(matrix, dtype=like.dtype, device=like.device)
        return self._matrix_cache[key]

    def _check_window_fits(self, rep: Rep) -> None:
        """UsageError when the ring of ``capacity`` frames of ``rep``'s size needs more
        than the memory free now (``memory_free.available_bytes``): a long filter (a low
        band's FIR, acceleration's 2 ceil(4 sigma) + 1 taps) at a large frame was killed
        without a message when its pages were touched."""
        from ..memory_free import free_if_short, gb_text

        if any(level.device.type != "cpu" for level in rep):
            return
        needed = self.capacity * sum(level.numel() * level.element_size() for level in rep)
        free = free_if_short(needed)
        if free is not None:
            raise UsageError(
                f"the temporal filter holds {self.capacity} frames ({len(self.taps)} taps) "
                f"of {needed / self.capacity / 1e6:.2g} MB each, {gb_text(needed)} GB, and "
                f"{gb_text(free)} GB is free: {self.shorter}, or make the frames "
                "smaller with --resize or --crop."
            )

    def _store(self, rep: Rep) -> None:
        assert self._buffer is not None
        row = (self._head + self._filled) % self.capacity
        for buf, level in zip(self._buffer, rep, strict=True):
            buf[row] = level
        self._filled += 1

    def _append(self, rep: Rep) -> None:
        if self._buffer is None:
            self._check_window_fits(rep)
            self._buffer = [level.new_zeros((self.capacity, *level.shape)) for level in rep]
            self._filled = self.half  # rows 0..D-1: the reflection, once D + 1 frames are in
            self._seen = 0
            self._start_reflected = self.half == 0
        self._store(rep)
        self._seen += 1
        self._last = rep
        if not self._start_reflected and self._seen == self.half + 1:
            self._reflect_start()

    def _reflect_start(self) -> None:
        """Fill the ``D`` rows before frame 0 with ``2 x(0) - x(k)`` (no output has been
        made yet, so frame ``k`` is at row ``D + k``)."""
        assert self._buffer is not None
        last = self._seen - 1
        for buf in self._buffer:
            for k in range(1, self.half + 1):
                buf[(self._head + self.half - k) % self.capacity] = (
                    2 * buf[(self._head + self.half) % self.capacity]
                    - buf[(self._head + self.half + min(k, last)) % self.capacity]
                )
        self._start_reflected = True

    def _back(self, frames: int) -> int:
        """Ring row of the frame ``frames`` before the newest one held."""
        return (self._head + self._filled - 1 - frames) % self.capacity

    def _emit(self, outputs: int) -> list[Rep]:
        assert self._buffer is not None
        per_level = []
        for buf in self._buffer:
            flat = buf.reshape(self.capacity, -1)
            filtered = self._matrix(outputs, flat) @ flat
            per_level.append(filtered.reshape(outputs, *buf.shape[1:]))
        self._head = (self._head + outputs) % self.capacity
        self._filled -= outputs
        return [[level[i] for level in per_level] for i in range(outputs)]

    def push(self, rep: Rep) -> list[Rep]:
        self._append(rep)
        if self._filled == self.capacity:
            return self._emit(self.block)
        return []

    def flush(self) -> list[Rep]:
        if self._buffer is None or self._last is None:
            return []
        if not self._start_reflected:  # a clip of D frames or fewer
            self._reflect_start()
        out: list[Rep] = []
        for k in range(1, self.half + 1):  # 2 x(n-1) - x(n-1-k) after the last frame
            if self._filled == self.capacity:
                out.extend(self._emit(self.block))
            # the last frame is k - 1 rows back, the one k before it (2k - 1 < 2D rows
            # back: never yet overwritten) k further
            mirror = min(k, self._seen - 1)
            self._store(
                [
                    2 * buf[self._back(k - 1)] - buf[self._back(k - 1 + mirror)]
                    for buf in self._buffer
                ]
            )
        remaining = self._filled - 2 * self.half
        if remaining > 0:
            out.extend(self._emit(remaining))
        self._last = None  # flushed: a second flush owes nothing
        return out


class FIRBandpassSelector(FIRSelector):
    """Zero-phase windowed ideal band-pass (see the module docstring).

    Args:
        low_hz, high_hz: pass band in Hz.
        fps: frame rate in frames per second.
        taps: odd filter length in frames (default :func:`default_fir_taps`).
        block: frames produced per matrix product (latency ``D + block``).
    """

    def __init__(
        self,
        low_hz: float,
        high_hz: float,
        fps: float,
        taps: int | None = None,
        block: int = 16,
    ) -> None:
        check_band(low_hz, high_hz, fps)
        taps = taps if taps is not None else default_fir_taps(low_hz, fps)
        super().__init__(fir_bandpass_taps(low_hz, high_hz, fps, taps), block)


def acceleration_taps(frequency_hz: float, fps: float) -> np.ndarray:
    """Negated second derivative of a Gaussian in time (Zhang et al. 2017, Sec. 3.2).

    Zhang et al. give sigma = ``fps / (4 sqrt(2) f)`` frames, which puts the response's
    peak at 1.27 f; we use ``sigma = fps / (sqrt(2) pi f)``, whose peak is at ``f``
    (``|H(w)| ~ w^2 exp(-sigma^2 w^2 / 2)`` peaks at ``w = sqrt(2) / sigma``). The taps
    (``2 ceil(4 sigma) + 1``) sum to exactly zero and are
    symmetric, so a constant *and* a constant-velocity (linear) signal give exactly zero,
    and they are scaled so that a sinusoid at ``f`` passes with gain 1 (our choice: then
    alpha is the total factor here too).
    """
    if not (0 < frequency_hz < fps / 2):
        raise UsageError(
            f"acceleration frequency {frequency_hz} Hz must lie between 0 and half the frame "
            f"rate ({fps / 2:g} Hz): give --band around the motion's frequency."
        )
    sigma = fps / (np.sqrt(2.0) * np.pi * frequency_hz)
    half = int(np.ceil(4 * sigma))
    t = np.arange(-half, half + 1, dtype=np.float64)
    gauss = np.exp(-0.5 * (t / sigma) ** 2)
    taps = (1.0 / sigma**2 - t**2 / sigma**4) * gauss  # -d2/dt2 of the Gaussian
    taps -= gauss * (taps.sum() / gauss.sum())  # exact zero DC after truncation
    response = abs(np.sum(taps * np.exp(-2j * np.pi * frequency_hz * t / fps)))
    return taps / response
