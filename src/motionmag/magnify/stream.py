"""Frame-by-frame use of any magnifier: live sources, notebooks, other programs.

What matters: one output per input, in order. A magnifier with latency (a non-causal
FIR, a later static reference) returns ``None`` for its first frames and catches up in
:meth:`Stream.flush`; the frames it pairs (input, output) are kept only for that window.
"""

from __future__ import annotations

from collections import deque

import numpy as np

from .base import Magnifier
from .config import MagnifyConfig
from .mask import blend
from .registry import build_magnifier, default_method


class PairedMagnifier:
    """Wraps a magnifier so each output comes back with the input frame it belongs to."""

    def __init__(self, magnifier: Magnifier) -> None:
        self.magnifier = magnifier
        self._inputs: deque[np.ndarray] = deque()

    def push(self, frame: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        self._inputs.append(frame)
        return [(self._inputs.popleft(), out) for out in self.magnifier.push(frame)]

    def flush(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [(self._inputs.popleft(), out) for out in self.magnifier.flush()]


class Stream:
    """Magnify a live stream one frame at a time.

    >>> stream = Stream(method="linear", alpha=10, mode="dynamic")
    >>> for frame in camera:           # uint8 RGB (H, W, 3)
    ...     shown = stream.push(frame)  # None until the method's latency has passed

    Args mirror :func:`motionmag.magnify` (``fps`` is needed for a band in Hz); ``mask``
    is an (H, W) or (H, W, 1) array of weights in [0, 1].
    """

    def __init__(
        self,
        method: str | None = None,
        alpha: float = 10.0,
        mode: str | None = None,
        band: tuple[float, float] | None = None,
        fps: float | None = None,
        filter: str = "butter",
        reference: int = 0,
        mask: np.ndarray | None = None,
        device: str = "cpu",
        **options,
    ) -> None:
        self.config = MagnifyConfig.from_arguments(
            method or default_method(), alpha, mode, band, filter, fps, reference, device, options
        )
        self._paired = PairedMagnifier(build_magnifier(self.config))
        self._mask = (
            None if mask is None else np.asarray(mask, np.float32).reshape(*mask.shape[:2], 1)
        )
        self._ready: deque[np.ndarray] = deque()

    @property
    def latency_frames(self) -> int:
        return self._paired.magnifier.latency_frames

    def _finish(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        if self._mask is None:
            return [out for _, out in pairs]
        return [blend(original, out, self._mask) for original, out in pairs]

    def push(self, frame: np.ndarray) -> np.ndarray | None:
        """Feed one frame; return the oldest output not yet returned, or None."""
        self._ready.extend(self._finish(self._paired.push(frame)))
        return self._ready.popleft() if self._ready else None

    def flush(self) -> list[np.ndarray]:
        """The outputs still owed once the input has ended, oldest first."""
        self._ready.extend(self._finish(self._paired.flush()))
        rest = list(self._ready)
        self._ready.clear()
        return rest
