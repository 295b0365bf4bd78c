"""Latency statistics and the end-of-run report of a live run, in bounded memory.

What matters: a live run may last hours, so latencies are never kept one by one. Each
is counted in a fixed log-spaced histogram (bins 1 % wide from 0.01 ms to 1000 s, about
1,850 counters), which gives the mean and maximum exactly and any percentile to within
1 %. Latency is capture to output: from the moment the source released a frame to the
moment its magnified frame was written or shown, in milliseconds.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field

import numpy as np

from ..atomic import write_json

_LOW_MS = 0.01
_HIGH_MS = 1e6
_RATIO = 1.01  # bin width: 1 % of the value
_BINS = math.ceil(math.log(_HIGH_MS / _LOW_MS) / math.log(_RATIO)) + 2


class LatencyStats:
    """Count, mean, max and percentiles of latencies in ms, in O(1) memory."""

    def __init__(self) -> None:
        self.counts = np.zeros(_BINS, dtype=np.int64)
        self.count = 0
        self.total_ms = 0.0
        self.max_ms = 0.0

    def add(self, latency_ms: float) -> None:
        """Record one latency in milliseconds (negative values count as 0)."""
        value = max(float(latency_ms), 0.0)
        self.count += 1
        self.total_ms += value
        self.max_ms = max(self.max_ms, value)
        if value < _LOW_MS:
            index = 0
        else:
            index = min(int(math.log(value / _LOW_MS) / math.log(_RATIO)) + 1, _BINS - 1)
        self.counts[index] += 1

    @property
    def mean_ms(self) -> float:
        return self.total_ms / self.count if self.count else math.nan

    def percentile_ms(self, q: float) -> float:
        """The q-th percentile (0..100) in ms, to 1 %; never above the true maximum."""
        if not self.count:
            return math.nan
        rank = max(1, math.ceil(q / 100.0 * self.count))
        index = int(np.searchsorted(np.cumsum(self.counts), rank))
        if index == 0:
            return 0.0
        upper_ms = _LOW_MS * _RATIO**index  # bin index holds [LOW r^(i-1), LOW r^i)
        return min(upper_ms, self.max_ms)

    def summary(self) -> dict[str, float]:
        """``{"mean_ms", "p95_ms", "max_ms"}`` (NaN when nothing was recorded)."""
        return {
            "mean_ms": self.mean_ms,
            "p95_ms": self.percentile_ms(95),
            "max_ms": self.max_ms if self.count else math.nan,
        }


@dataclass
class Interval:
    """One periodic sample of a run: totals so far and latency over the last interval."""

    elapsed_s: float
    frames_in: int
    frames_processed: int
    frames_dropped: int
    fps: float  # frames processed per second over the interval
    latency_mean_ms: float
    latency_p95_ms: float
    latency_max_ms: float
    rss_mib: float | None = None

    def line(self) -> str:
        """One status line for stderr."""
        return (
            f"{self.elapsed_s:7.1f} s  in {self.frames_in}  processed {self.frames_processed}  "
            f"dropped {self.frames_dropped}  {self.fps:5.1f} fps  latency mean "
            f"{self.latency_mean_ms:.1f} p95 {self.latency_p95_ms:.1f} "
            f"max {self.latency_max_ms:.1f} ms"
        )


@dataclass
class LiveReport:
    """What a live run did; see :meth:`table` for the meaning of each number.

    ``processing_fps`` is frames processed per second of run time; ``magnify_ms_mean``
    is the mean time of one ``push`` (the magnifier alone; the first frame's, a warm-up,
    left out once there are others), so ``1000 / magnify_ms_mean`` is the rate the
    magnifier could sustain on its own.
    """

    source: str
    method: str
    source_fps: float
    width: int  # px, the processing (and output) size
    height: int
    source_size: tuple[int, int] | None = None  # (W, H) px of the source when it differs
    frames_in: int = 0
    frames_processed: int = 0
    frames_dropped: int = 0
    frames_output: int = 0
    duration_s: float = 0.0
    processing_fps: float = 0.0
    magnify_ms_mean: float = math.nan
    latency_mean_ms: float = math.nan
    latency_p95_ms: float = math.nan
    latency_max_ms: float = math.nan
    stopped_by: str = "end of source"
    output: str | None = None
    intervals: list[Interval] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def kept_up(self) -> bool:
        """True when no frame was dropped."""
        return self.frames_dropped == 0

    def table(self) -> str:
        """A two-column table of the run's numbers, for stdout."""
        source_w, source_h = self.source_size or (self.width, self.height)
        rows = [
            ("source", f"{self.source}, {source_w}x{source_h} at {self.source_fps:g} fps"),
            *(
                [("processed at", f"{self.width}x{self.height}")]
                if (source_w, source_h) != (self.width, self.height)
                else []
            ),
            ("method", self.method),
            ("frames in", str(self.frames_in)),
            ("frames processed", str(self.frames_processed)),
            ("frames dropped", str(self.frames_dropped)),
            ("frames output", str(self.frames_output)),
            ("run time", f"{self.duration_s:.2f} s ({self.stopped_by})"),
            ("processing", f"{self.processing_fps:.1f} fps"),
            ("magnifier alone", f"{self.magnify_ms_mean:.1f} ms/frame"),
            (
                "latency (capture to output)",
                f"mean {self.latency_mean_ms:.1f}  p95 {self.latency_p95_ms:.1f}  "
                f"max {self.latency_max_ms:.1f} ms",
            ),
        ]
        if self.output:
            rows.append(("output", self.output))
        width = max(len(name) for name, _ in rows)
        lines = [f"{name:<{width}}  {value}" for name, value in rows]
        return "\n".join(lines + [f"note: {note}" for note in self.notes])

    def to_dict(self) -> dict:
        data = asdict(self)
        data["kept_up"] = self.kept_up
        return data

    def write_json(self, path: str | os.PathLike) -> None:
        """Write the report as JSON (NaN as null), atomically."""
        write_json(path, _nan_to_none(self.to_dict()))


def _nan_to_none(value):
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _nan_to_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nan_to_none(v) for v in value]
    return value
