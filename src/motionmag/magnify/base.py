"""The stream interface every magnifier implements, and the Eulerian one most use.

What matters: a magnifier takes uint8 RGB frames one at a time and gives back output
frames in the same order, one per input, possibly a bounded number of frames later
(``latency_frames``: a non-causal filter or a later static reference). Nothing here
holds more than that window, so memory is O(window), never O(video).

An Eulerian magnifier is decompose -> select -> amplify -> reconstruct (Oh et al. 2018,
Table 1): an :class:`EulerianMethod` encodes a frame into what it keeps for decoding and
the representation to select on, a temporal selector picks the motion to magnify, and
the method decodes the kept part plus the (amplified) selection back into a frame.
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections import deque
from typing import Any

import numpy as np
import torch

from ..levels import to_levels
from ..temporal import Rep, TemporalSelector


def check_rgb_frame(frame: np.ndarray) -> np.ndarray:
    """``frame`` as an array; ValueError unless it is uint8 RGB (H, W, 3)."""
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"expected a uint8 RGB frame (H, W, 3), got {frame.dtype} {frame.shape}")
    return frame


def frame_to_tensor(frame: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """uint8 RGB (H, W, 3) -> float32 (1, 3, H, W) in [0, 1] on ``device``."""
    frame = check_rgb_frame(frame)
    if not frame.flags.writeable:  # torch warns on read-only arrays (a decoder's buffers)
        frame = frame.copy()
    tensor = torch.from_numpy(np.ascontiguousarray(frame)).to(device)
    return tensor.permute(2, 0, 1).unsqueeze(0).float().div_(255.0)


#: seed of the dither an attenuating magnifier (alpha < 1) puts on its output
ATTENUATION_DITHER_SEED = 0


def tensor_to_frame(tensor: torch.Tensor, dither: np.random.Generator | None = None) -> np.ndarray:
    """float (1, 3, H, W) in [0, 1] -> uint8 RGB (H, W, 3), clipped; rounded to the nearest
    level, or, given a generator ``dither``, dithered (:func:`motionmag.levels.to_levels`:
    ``floor(255 x + u)``, ``u ~ U[0, 1)``, whose mean is ``255 x``)."""
    if dither is not None:
        return to_levels(tensor[0].permute(1, 2, 0).float().cpu().numpy(), dither)
    frame = tensor[0].mul(255.0).round_().clamp_(0.0, 255.0).to(torch.uint8)
    return frame.permute(1, 2, 0).contiguous().cpu().numpy()


def attenuation_dither(alpha: float, always: bool = False) -> np.random.Generator | None:
    """A seeded generator for :func:`tensor_to_frame` when ``alpha < 1`` (or, with
    ``always``, at any alpha but 1), else None.

    Our choice: attenuated motion changes a pixel by less than the motion did, often by
    less than half a level, and rounding to the nearest level puts such a pixel back on
    the input's value, so the output kept more of the motion than alpha says (alpha 0.5
    on a photo moved 0.1 px: 0.53-0.94 of it kept, by photo). The dither's rounding is
    unbiased, so the motion kept averages alpha over the pixels. Magnification (alpha >=
    1) changes pixels by more than the input moved them and keeps plain rounding, except
    for methods whose change is small by nature (``EulerianMethod.dithers_output``: a
    pulse's colour, a fraction of a level).
    """
    if alpha < 1.0 or (always and alpha != 1.0):
        return np.random.default_rng(ATTENUATION_DITHER_SEED)
    return None


class Magnifier(ABC):
    """Frames in, magnified frames out, in order, one output per input."""

    latency_frames: int = 0
    #: True when every frame is held until ``flush`` (DeepMag, FlowMag's test-time
    #: adaptation): memory grows with the input, so such a magnifier cannot run live
    whole_clip: bool = False
    #: the fewest frames it works on (0: any; DeepMag's zero-phase band-pass needs more):
    #: the engine refuses a shorter clip before reading it
    frames_needed: int = 0
    #: a whole-clip magnifier's memory per pixel of each frame of the clip (bytes; 0: not
    #: measured): the engine refuses a clip that cannot fit before reading it
    clip_bytes_per_pixel: float = 0.0
    #: sentences for the user about this input, filled while it runs (the engine prints
    #: them with its own notes)
    notes: tuple[str, ...] | list[str] = ()

    def prepare(self, height: int, width: int) -> None:
        """Check, before any frame, what depends on the frames' size in px (a pyramid
        deeper than the frame); the default checks nothing."""
        del height, width

    @abstractmethod
    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        """Feed one uint8 RGB frame; return the output frames that are ready (oldest first)."""

    def flush(self) -> list[np.ndarray]:
        """Return the outputs still held once the input has ended."""
        return []


class PassThrough(Magnifier):
    """alpha = 1 for a method whose network only approximates the identity (an
    autoencoder's round trip moved pixels by up to 21 levels): each frame as it came."""

    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        return [check_rgb_frame(frame).copy()]


class EulerianMethod(ABC):
    """A hand-designed (or learned) decomposition with its amplification rule.

    ``encode`` returns ``(kept, rep)``: whatever ``decode`` needs from the frame itself,
    and the representation the temporal selector works on. ``decode(kept, selected)``
    returns the magnified frame, float (1, 3, H, W) in [0, 1]. The factor alpha is fixed
    at construction (alpha is the total factor: output motion = alpha x input motion).
    """

    #: frames the magnifier hands to :meth:`decode_many` at once (> 1: outputs come
    #: ``batch_frames - 1`` frames later, in bursts)
    batch_frames: int = 1
    #: dither the output to 8 bits at every alpha (:func:`attenuation_dither`), not only
    #: when attenuating
    dithers_output: bool = False

    def prepare(self, height: int, width: int) -> None:
        """Check, before any frame, what depends on the frames' size in px (a pyramid
        deeper than the frame); the default checks nothing."""
        del height, width

    @abstractmethod
    def encode(self, frame: torch.Tensor) -> tuple[Any, Rep]: ...

    @abstractmethod
    def decode(self, kept: Any, selected: Rep) -> torch.Tensor: ...

    def decode_many(self, kept: list[Any], selected: list[Rep]) -> list[torch.Tensor]:
        """Decode several frames, oldest first; one at a time unless a method batches them."""
        return [self.decode(k, s) for k, s in zip(kept, selected, strict=True)]


class EulerianMagnifier(Magnifier):
    """Runs an :class:`EulerianMethod` with a temporal selector over a frame stream."""

    def __init__(
        self,
        method: EulerianMethod,
        selector: TemporalSelector,
        device: torch.device | str = "cpu",
    ) -> None:
        self.method = method
        self.selector = selector
        self.device = torch.device(device)
        self.batch_frames = max(1, int(getattr(method, "batch_frames", 1)))
        self.latency_frames = selector.latency_frames + self.batch_frames - 1
        self._dither = attenuation_dither(
            float(getattr(method, "alpha", 1.0)), always=method.dithers_output
        )
        self._pending: deque[Any] = deque()
        self._ready: list[Rep] = []  # selections waiting for a full batch

    def prepare(self, height: int, width: int) -> None:
        self.method.prepare(height, width)

    def _decode_ready(self, selections: list[Rep], final: bool = False) -> list[np.ndarray]:
        """Decode the selections in batches of ``batch_frames`` (the rest too when final)."""
        self._ready.extend(selections)
        outputs = []
        while self._ready and (final or len(self._ready) >= self.batch_frames):
            chunk = self._ready[: self.batch_frames]
            kept = list(itertools.islice(self._pending, len(chunk)))
            decoded = self.method.decode_many(kept, chunk)
            frames = [tensor_to_frame(t, self._dither) for t in decoded]
            # taken off only once decoded: a Ctrl+C inside a batch leaves it for flush()
            del self._ready[: len(chunk)]
            for _ in chunk:
                self._pending.popleft()
            outputs.extend(frames)
        return outputs

    @torch.inference_mode()
    def push(self, frame: np.ndarray) -> list[np.ndarray]:
        kept, rep = self.method.encode(frame_to_tensor(frame, self.device))
        self._pending.append(kept)
        return self._decode_ready(self.selector.push(rep))

    @torch.inference_mode()
    def flush(self) -> list[np.ndarray]:
        return self._decode_ready(self.selector.flush(), final=True)
