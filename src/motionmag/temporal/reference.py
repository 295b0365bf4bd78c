"""Static and dynamic modes: motion relative to a reference frame.

Static mode (Oh et al. 2018, Sec. 3.4) selects ``M(t) - M(ref)`` against one fixed
reference frame (default frame 0); dynamic mode selects ``M(t) - M(t-1)`` against the
previous frame (the first frame selects zero). Both are exact differences, no filtering.
A reference later than frame 0 makes the earlier frames wait for it, so the latency is
``reference`` frames.
"""

from __future__ import annotations

import torch

from ..errors import UsageError
from .base import Rep, TemporalSelector, map_rep


class StaticSelector(TemporalSelector):
    """Selects ``rep(t) - rep(reference)``; frames before the reference are held until it."""

    def __init__(self, reference: int = 0) -> None:
        if reference < 0:
            raise UsageError(f"reference frame {reference} is negative: give an index >= 0.")
        self.reference = int(reference)
        self.latency_frames = self.reference
        self._ref: Rep | None = None
        self._held: list[Rep] = []
        self._seen = 0

    def push(self, rep: Rep) -> list[Rep]:
        index = self._seen
        self._seen += 1
        if self._ref is None:
            self._held.append(rep)
            if index < self.reference:
                return []
            self._ref = [level.clone() for level in rep]
            held, self._held = self._held, []
            return [map_rep(torch.sub, r, self._ref) for r in held]
        return [map_rep(torch.sub, rep, self._ref)]

    def flush(self) -> list[Rep]:
        if self._held:
            raise UsageError(
                f"reference frame {self.reference} is beyond the end of the video "
                f"({self._seen} frames): choose a smaller --reference."
            )
        return []


class DynamicSelector(TemporalSelector):
    """Selects ``rep(t) - rep(t-1)`` (zero for the first frame)."""

    latency_frames = 0

    def __init__(self) -> None:
        self._previous: Rep | None = None

    def push(self, rep: Rep) -> list[Rep]:
        previous = self._previous if self._previous is not None else rep
        selected = map_rep(torch.sub, rep, previous)
        self._previous = rep
        return [selected]
