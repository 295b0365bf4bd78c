"""The temporal-selection contract shared by every selector.

What matters: a selector sees one representation per frame, in frame order, and hands
back the *selected* component (motion relative to a reference, or a band-passed signal)
for frames in the same order, possibly later than they went in. Its latency is bounded
(``latency_frames``), so the engine keeps at most that many frames pending and memory is
O(window), never O(video). A representation is a list of tensors whose shapes repeat
from frame to frame (pyramid levels); selectors treat every element independently.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

Rep = list[torch.Tensor]


class TemporalSelector(ABC):
    """Per-element temporal selector over a stream of representations.

    ``push`` returns the selected components that became ready (zero or more, oldest
    first); ``flush`` returns the rest at the end of the stream. Every pushed frame gets
    exactly one selected component back, in order.
    """

    #: upper bound on how many frames a selector holds before answering
    latency_frames: int = 0

    @abstractmethod
    def push(self, rep: Rep) -> list[Rep]:
        """Feed the next frame's representation; return the components now ready."""

    def flush(self) -> list[Rep]:
        """Return the components still held at the end of the stream (default: none)."""
        return []


def map_rep(fn, *reps: Rep) -> Rep:
    """Apply ``fn`` element-wise over pyramid levels of one or more representations."""
    return [fn(*levels) for levels in zip(*reps, strict=True)]
