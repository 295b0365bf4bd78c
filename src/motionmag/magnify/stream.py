"""Frame-by-frame use of any magnifier: live sources, notebooks, other programs.

What matters: one output per input, in order. A magnifier with latency (a non-causal
FIR, a later static reference) returns ``None`` for its first frames and catches up in
:meth:`Stream.flush`; the frames it pairs (input, output) are kept only for that window.
"""

from __future__ import annotations

import dataclasses
from collections import deque

import numpy as np

from ..errors import InputError, UsageError
from .base import Magnifier
from .config import MagnifyConfig, check_switches
from .mask import blend, mask_weights
from .registry import build_magnifier, default_method
from .stabilize import StabilizedPairs, check_stabilize


def uint8_rgb_advice(array: np.ndarray, what: str, layout: str) -> str | None:
    """None when ``array`` is uint8 RGB with ``len(layout)`` axes (``layout`` such as
    ``"(T, H, W, 3)"``); else one sentence saying what is wrong and how to convert it."""
    ndim = layout.count(",") + 1
    if array.dtype == np.uint8 and array.ndim == ndim and array.shape[-1] == 3:
        return None
    got = f"{what} must be a uint8 RGB array {layout}, got {array.dtype} {array.shape}"
    if array.ndim == ndim - 1 and array.shape[-1] == 3 and ndim == 4:
        return f"{got}: that is one frame; stack frames into a clip with np.stack(frames)."
    if array.ndim == ndim - 1:
        return f"{got}: stack grey frames to RGB with np.repeat(x[..., None], 3, axis=-1)."
    if array.ndim == ndim and array.shape[-1] == 4:
        return f"{got}: drop the alpha channel with x[..., :3]."
    if array.ndim == ndim and array.shape[-1] == 3 and np.issubdtype(array.dtype, np.floating):
        if array.size and float(np.nanmax(array)) > 1.0:  # 0-255 floats (OpenCV, PIL)
            rounding = "np.clip(np.rint(x), 0, 255).astype(np.uint8)"
            return f"{got}: round values in 0-255 to bytes with {rounding}."
        return (
            f"{got}: scale values in [0, 1] to bytes with "
            "np.clip(np.rint(x * 255), 0, 255).astype(np.uint8)."
        )
    if array.ndim == ndim and array.shape[-1] == 3 and array.dtype == np.uint16:
        return f"{got}: keep the high byte with (x >> 8).astype(np.uint8)."
    if array.ndim == ndim and array.shape[-1] == 3 and np.issubdtype(array.dtype, np.integer):
        return f"{got}: convert values in 0-255 with np.clip(x, 0, 255).astype(np.uint8)."
    if array.ndim == ndim and array.shape[-3] == 3:  # channels first (torch's layout)
        return f"{got}: put the channels last with np.moveaxis(x, -3, -1)."
    return f"{got}: convert it to 8-bit RGB with that layout."


def is_grey(frame: np.ndarray) -> bool:
    """True when every pixel of an RGB frame has R = G = B (a monochrome camera's video);
    a colour frame is told from a sample of its pixels first, cheaply."""
    sample = frame[::16, ::16]
    if not (np.array_equal(sample[..., 0], sample[..., 1])
            and np.array_equal(sample[..., 1], sample[..., 2])):  # fmt: skip
        return False
    return bool(
        np.array_equal(frame[..., 0], frame[..., 1])
        and np.array_equal(frame[..., 1], frame[..., 2])
    )


def grey_kept(original: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out``, made grey (the mean of its channels, rounded) where ``original`` is grey:
    grey in, grey out. The learned nets only approximate it (oh2018 on a grey video gave
    channels up to 13 levels apart: colour fringes); the classical methods keep it to
    within a level here and there (float rounding of the luma's change)."""
    if out.shape != original.shape or is_grey(out) or not is_grey(original):
        return out  # a colour output is told from a sample: only grey ones cost a full look
    total = out[..., 0].astype(np.uint16)
    total += out[..., 1]
    total += out[..., 2]
    total += 1
    total //= 3  # round(sum / 3): a third is never a tie
    grey = np.empty_like(out)
    grey[...] = total[..., None]
    return grey


class PairedMagnifier:
    """Wraps a magnifier so each output comes back with the input frame it belongs to
    (and grey where that input is grey: :func:`grey_kept`)."""

    def __init__(self, magnifier: Magnifier) -> None:
        self.magnifier = magnifier
        self._inputs: deque[np.ndarray] = deque()

    def _pair(self, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        original = self._inputs.popleft()
        return original, grey_kept(original, out)

    def push(self, frame: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        self._inputs.append(frame)
        return [self._pair(out) for out in self.magnifier.push(frame)]

    def flush(self) -> list[tuple[np.ndarray, np.ndarray]]:
        return [self._pair(out) for out in self.magnifier.flush()]


class Stream:
    """Magnify a live stream one frame at a time.

    >>> stream = Stream(method="linear", alpha=10, mode="dynamic")
    >>> for frame in camera:           # uint8 RGB (H, W, 3)
    ...     shown = stream.push(frame)  # None until the method's latency has passed

    Args mirror :func:`motionmag.magnify` (``fps`` is needed for a band in Hz); ``mask``
    is an (H, W) or (H, W, 1) array: uint8 0-255 as an image, or weights in [0, 1]
    (``mask.mask_weights``); ``stabilize`` registers every
    frame to the first (``magnify/stabilize.py``; :attr:`stabilization` reports it);
    ``frame_geometry``, a :class:`~motionmag.magnify.geometry.FrameGeometry`, says how
    the frames were cut from their source (``--crop``, ``--resize``), so that an
    ``alpha_map`` file drawn on the source is cut as they were.
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
        device: str | None = None,
        stabilize: str | None = None,
        keep_stabilized: bool = False,
        frame_geometry=None,
        **options,
    ) -> None:
        check_switches(keep_stabilized=keep_stabilized)
        check_stabilize(stabilize, keep_stabilized)
        self.config = MagnifyConfig.from_arguments(
            method or default_method(), alpha, mode, band, filter, fps, reference, device, options
        )
        if frame_geometry is not None:
            self.config = dataclasses.replace(self.config, frame_geometry=frame_geometry)
        self._paired = PairedMagnifier(build_magnifier(self.config))
        self._mask = None if mask is None else mask_weights(mask)[..., None]
        if stabilize is not None:
            # register on what is not magnified: the mask's complement
            still = None if self._mask is None else 1.0 - self._mask
            self._paired = StabilizedPairs(self._paired, stabilize, keep_stabilized, still)
        self._ready: deque[np.ndarray] = deque()
        self._size: tuple[int, int] | None = None
        self._flushed = False  # the input has ended: its filters are drained

    @property
    def latency_frames(self) -> int:
        return self._paired.magnifier.latency_frames

    @property
    def whole_clip(self) -> bool:
        """True when the method holds every frame until :meth:`flush` (DeepMag, FlowMag
        with test-time adaptation): nothing comes out of ``push`` and memory grows."""
        return self._paired.magnifier.whole_clip

    @property
    def notes(self) -> list[str]:
        """Sentences for the user from the method about this input (what ``magnify``
        prints as notes: an alpha beyond the weights' training range, a temporal filter
        that misses the band, the method's own), filled as it runs."""
        from .engine import alpha_range_notes, filter_notes

        return (
            alpha_range_notes(self.config)
            + filter_notes(self.config)
            + list(self._paired.magnifier.notes)
        )

    @property
    def stabilization(self):
        """The stabilization report (``magnify/stabilize.py``), or None without it."""
        aligner = getattr(self._paired, "aligner", None)
        return None if aligner is None else aligner.report

    def _finish(self, pairs: list[tuple[np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        if self._mask is None:
            return [out for _, out in pairs]
        return [blend(original, out, self._mask) for original, out in pairs]

    def push(self, frame: np.ndarray) -> np.ndarray | None:
        """Feed one frame; return the oldest output not yet returned, or None."""
        if self._flushed:
            raise UsageError(
                "this Stream was flushed (its input ended): start a new Stream for more frames."
            )
        frame = np.asarray(frame)
        advice = uint8_rgb_advice(frame, "a frame", "(H, W, 3)")
        if advice is not None:
            raise InputError(advice)
        if min(frame.shape[:2]) < 1:
            raise InputError(f"a frame of {frame.shape[1]}x{frame.shape[0]} px: give images.")
        if self._size is None:
            # checked before the size is kept: a retried push checks again (a second push
            # after a wrong mask was a numpy broadcast error)
            if self._mask is not None and self._mask.shape[:2] != frame.shape[:2]:
                raise InputError(
                    f"the mask is {self._mask.shape[1]}x{self._mask.shape[0]} but the frames "
                    f"are {frame.shape[1]}x{frame.shape[0]}: give a mask of the frames' size."
                )
            self._size = frame.shape[:2]
        elif frame.shape[:2] != self._size:
            raise InputError(
                f"a frame of {frame.shape[1]}x{frame.shape[0]} came after frames of "
                f"{self._size[1]}x{self._size[0]}: start a new Stream for a new size."
            )
        # a copy: a caller that reuses one buffer (a camera's) would otherwise pair a held
        # output with a later frame (a mask's blend read it, 251 levels off); the engine
        # reading a file gets a fresh array per frame and needs none
        self._ready.extend(self._finish(self._paired.push(np.array(frame, copy=True))))
        return self._ready.popleft() if self._ready else None

    def flush(self) -> list[np.ndarray]:
        """The outputs still owed once the input has ended, oldest first (then none: a
        flushed Stream takes no more frames)."""
        if not self._flushed:
            self._flushed = True
            self._ready.extend(self._finish(self._paired.flush()))
        rest = list(self._ready)
        self._ready.clear()
        return rest
