"""Which frames of a video are magnified: ``--start`` and ``--end``, in seconds.

What matters: a window keeps the frames a player shows from ``start`` to before ``end``:
a video file read at its own rate selects them by time stamp (a variable-rate clip, or
one with a gap, included); a frame folder, or a file read at a rate given by ``--fps``
(a high-speed camera's), has frame i at ``i / fps`` s and keeps ``start <= i / fps <
end``. The output's first frame becomes time 0 and its audio is cut to the same window.
Frames before the window are decoded but not converted to RGB (``VideoReader.frames``):
exact, and cheap next to magnifying.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import InputError, UsageError
from .config import number

#: a frame index no clip reaches (2^53: floats still count whole frames exactly)
FRAMES_BEYOND_ANY_CLIP = float(2**53)


@dataclass(frozen=True)
class TimeWindow:
    """Frames ``first <= i < stop`` (``stop`` None: to the end) and the window's start (s)."""

    first: int = 0
    stop: int | None = None
    start_s: float = 0.0
    #: the window as asked for, (start, end or None) s: a video file read at its own rate
    #: selects its frames by time stamp (``VideoReader.frames(seconds=...)``)
    seconds: tuple[float, float | None] = (0.0, None)

    @classmethod
    def from_seconds(
        cls,
        start_s: float | None,
        end_s: float | None,
        fps: float,
        duration_s: float | None = None,
        name: str = "the input",
    ) -> TimeWindow:
        for flag, value in (("--start", start_s), ("--end", end_s)):
            if value is not None:
                number(flag, value, example="seconds, e.g. 12.5")
        start = 0.0 if start_s is None else float(start_s)
        if not math.isfinite(start) or start < 0:
            raise UsageError(f"--start {start_s} s is not a time >= 0: give seconds, e.g. 12.5.")
        if end_s is not None and not (math.isfinite(float(end_s)) and float(end_s) > start):
            raise UsageError(
                f"--end {end_s} s is not after --start {start:g} s: give an end later "
                "than the start."
            )
        if duration_s is not None and start >= duration_s:
            raise UsageError(
                f"--start {start:g} s is past the end of {name} ({duration_s:.2f} s): "
                "choose an earlier start."
            )
        if start * fps > FRAMES_BEYOND_ANY_CLIP:
            raise UsageError(
                f"--start {start:g} s is past the end of {name}: choose an earlier start."
            )
        first = math.ceil(start * fps - 1e-6)
        # an end beyond any clip (--end 1e308) is the clip's end
        end_frames = None if end_s is None else float(end_s) * fps
        stop = (
            None
            if end_frames is None or end_frames > FRAMES_BEYOND_ANY_CLIP
            else math.ceil(end_frames - 1e-6)
        )
        if stop is not None and stop <= first:
            raise UsageError(
                f"no frame lies from --start {start:g} s to before --end {float(end_s):g} s "
                f"(frames are 1/{fps:g} s apart): widen the window."
            )
        frames = None if duration_s is None else round(duration_s * fps)
        if frames is not None and first >= frames > 0:
            raise UsageError(
                f"--start {start:g} s is after the last frame of {name} (at "
                f"{(frames - 1) / fps:.3f} s): choose an earlier start."
            )
        return cls(first, stop, first / fps, (start, None if end_s is None else float(end_s)))

    def check_frames(self, count: int, least: int, name: str, purpose: str) -> None:
        """A ``count`` of frames read below ``least``: a UsageError when a window was asked
        for (widen it), else an InputError (the video is too short). ``purpose`` names the
        work, e.g. "magnification"."""
        if count >= least:
            return
        words = {2: "two", 4: "four"}.get(least, str(least))
        if self.trims:  # the window asked for is too short: an argument's fault
            raise UsageError(
                f"{name} has {count} frame(s) between --start and --end: {purpose} needs at "
                f"least {words}; widen the window."
            )
        raise InputError(
            f"{name} has {count} frame(s): {purpose} needs at least {words}; give a longer video."
        )

    @property
    def trims(self) -> bool:
        return self.first > 0 or self.stop is not None

    def count(self, total: int | None) -> int | None:
        """Frames in the window of a video of ``total`` frames (None when unknown)."""
        end = (
            self.stop if total is None else (total if self.stop is None else min(total, self.stop))
        )
        return None if end is None else max(0, end - self.first)
