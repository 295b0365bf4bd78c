"""Run a magnifier on a live source: a reader thread, a bounded queue, drops, a report.

What matters:

- **The source never waits for the magnifier.** A reader thread takes frames from the
  source as they come and stamps their capture time; the magnifier (in the calling
  thread, which also shows the window and catches Ctrl+C) takes the newest ones. When
  the magnifier is slower than the source, the queue keeps only the newest
  ``queue_frames`` frames and counts the older ones as dropped, so latency stays bounded
  by about ``queue_frames + 1`` processing times instead of growing without end, and
  memory holds at most ``queue_frames`` waiting frames. With ``drop=False`` (a file read
  as fast as it decodes) the reader waits instead and every frame is processed.
- **One output per processed frame, in order**, paired with its capture time through
  the magnifier's latency (a non-causal FIR returns its outputs later), so latency is
  capture to output, in ms, measured on the same :class:`Clock` as the pacing.
- Temporal filters assume evenly spaced frames: dropped frames distort a band in Hz,
  and the report says so.
- Everything bounded: the queue, the magnifier's window (see magnify/), the latency
  histogram (live/latency.py), and the periodic samples are only kept when asked for.
"""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..errors import InputError, Terminated
from ..magnify.geometry import FrameGeometry
from ..video.live_source import Clock, LiveSource, SystemClock
from . import priority
from .latency import Interval, LatencyStats, LiveReport
from .sinks import Sink


class HeldStop:
    """While the run's loop is in a frame, a first Ctrl+C or SIGTERM waits for the loop's
    next turn (:meth:`raise_held`), so the frame in hand is finished, written and counted
    (cut off mid-frame, frames in no longer added up, a batch held in the network was
    lost, and a stop during the first frame read as a source that gave no frame); a
    second stops at once. Only a signal the caller handles in Python (the CLI's, or
    Python's own Ctrl+C) is held: an ignored one stays ignored, and one left to the
    system's default still ends the process. Main thread only: elsewhere signals cannot
    be caught, and nothing is held."""

    def __init__(self) -> None:
        self._previous: dict[int, Callable] = {}  # the caller's handlers, put back on exit
        self._held: int | None = None  # the first signal that came

    def __enter__(self) -> HeldStop:
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous = signal.getsignal(signum)
                if callable(previous):  # SIG_IGN, SIG_DFL and C handlers are left alone
                    self._previous[signum] = previous
                    signal.signal(signum, self._hold)
        return self

    def _hold(self, signum: int, frame: object) -> None:
        if self._held is not None:  # the second stop: the caller's handler, at once
            self._previous[signum](signum, frame)
        self._held = signum

    def __exit__(self, *_exc: object) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, previous)

    def raise_held(self) -> None:
        """Act on a stop that came since the last turn, as the caller's handler would."""
        if self._held is not None:
            signum, self._held = self._held, None
            self._previous[signum](signum, None)


class FrameMagnifier(Protocol):
    """What the pipeline needs of a magnifier: :class:`motionmag.Stream` has it."""

    def push(self, frame: np.ndarray) -> np.ndarray | None: ...

    def flush(self) -> list[np.ndarray]: ...


@dataclass
class Captured:
    """A frame from the source: its index (from 0), capture time (s, clock) and pixels,
    and a file's own time stamp for it (s from the stream's start; None otherwise)."""

    index: int
    capture_s: float
    frame: np.ndarray
    stamp_s: float | None = None


class FrameQueue:
    """A bounded queue between the reader and the magnifier.

    ``drop=True``: ``put`` never blocks; when full, the oldest waiting frame is discarded
    and counted in ``dropped``. ``drop=False``: ``put`` waits for room. Frames with an
    index below ``keep_first`` are never dropped (static mode's reference and the frames
    before it, so the reference is the frame of that index in the source, not in what
    was left after drops); the queue grows past ``size`` for them, by at most that many.
    """

    def __init__(self, size: int, drop: bool, keep_first: int = 0) -> None:
        if size < 1:
            raise ValueError("queue size must be >= 1")
        self.size = size
        self.drop = drop
        self.keep_first = keep_first
        self.dropped = 0
        self._items: deque[Captured] = deque()
        self._ready = threading.Condition()
        self._closed = False

    def put(self, item: Captured) -> bool:
        """Queue ``item``; False (not queued) when the queue is closed (the run stopped)."""
        with self._ready:
            if self._closed:
                return False
            if self.drop:
                while len(self._items) >= self.size:
                    waiting = enumerate(self._items)
                    oldest = next((at for at, i in waiting if i.index >= self.keep_first), None)
                    if oldest is None:  # every waiting frame is one that must not be lost
                        break
                    del self._items[oldest]
                    self.dropped += 1
            else:
                while len(self._items) >= self.size and not self._closed:
                    self._ready.wait()
                if self._closed:
                    return False
            self._items.append(item)
            self._ready.notify_all()
            return True

    def get(self, timeout_s: float) -> Captured | None:
        """The oldest waiting frame, or None after ``timeout_s`` or once closed and empty."""
        with self._ready:
            if not self._items and not self._closed:
                self._ready.wait(timeout_s)
            if not self._items:
                return None
            item = self._items.popleft()
            self._ready.notify_all()
            return item

    def close(self) -> None:
        """No more frames: wakes both sides."""
        with self._ready:
            self._closed = True
            self._ready.notify_all()

    def discard(self) -> int:
        """Drop whatever is waiting (a run stopped early); returns how many."""
        with self._ready:
            left = len(self._items)
            self._items.clear()
            self.dropped += left
            self._ready.notify_all()
            return left

    @property
    def finished(self) -> bool:
        with self._ready:
            return self._closed and not self._items


def rss_mib() -> float | None:
    """Resident memory of this process in MiB (psutil, else /proc), or None."""
    try:
        import psutil

        return psutil.Process().memory_info().rss / 2**20
    except ImportError:
        pass
    try:
        with open("/proc/self/statm") as statm:
            import os

            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return None


class _Reader(threading.Thread):
    """Takes frames from the source into the queue until the end, a limit, or stop."""

    def __init__(
        self,
        source: LiveSource,
        queue: FrameQueue,
        clock: Clock,
        start_s: float,
        duration_s: float | None,
        max_frames: int | None,
    ) -> None:
        super().__init__(name="motionmag-live-reader", daemon=True)
        self.source, self.queue, self.clock = source, queue, clock
        self.start_s, self.duration_s, self.max_frames = start_s, duration_s, max_frames
        self.stop = threading.Event()
        self.frames_in = 0
        self.error: BaseException | None = None
        self.stopped_by = "end of source"

    def run(self) -> None:
        priority.lower_this_thread()  # by priority.HELPER_NICENESS (default 0: unchanged)
        try:
            for frame in self.source.frames():
                now_s = self.clock.now()
                if self.stop.is_set():
                    break
                if self.duration_s is not None and now_s - self.start_s >= self.duration_s:
                    self.stopped_by = f"--duration {self.duration_s:g} s"
                    break
                stamp = getattr(self.source, "last_time_s", None)
                captured = Captured(self.frames_in, now_s, frame, stamp)
                if not self.queue.put(captured):
                    break
                self.frames_in += 1
                if self.max_frames is not None and self.frames_in >= self.max_frames:
                    self.stopped_by = f"--max-frames {self.max_frames}"
                    break
            else:  # the source ran out: at its end, or a stream that broke off
                self.stopped_by = getattr(self.source, "ended_by", None) or self.stopped_by
        except BaseException as error:  # re-raised in the calling thread
            self.error = error
        finally:
            self.queue.close()
            with contextlib.suppress(Exception):
                self.source.close()


#: share of the source's frame period the magnifier may take and still keep up live
#: (ours, from the soaks in README: ha2024-fast at 0.64 of the period kept every frame,
#: ha2024 at 0.86 and ha2024-fast at 0.99 dropped 3 %; decoding and writing need the rest)
KEEP_UP_SHARE = 0.75


def size_to_keep_up(
    width: int, height: int, magnify_ms: float, period_ms: float, share: float = KEEP_UP_SHARE
) -> tuple[int, int] | None:
    """A smaller processing size at which the magnifier would keep up, or None.

    The magnifier's time scales with the pixels, so the size is scaled by
    ``sqrt(share * period_ms / magnify_ms)`` on each side (the aspect kept; the width a
    multiple of 8, the height even). None when no smaller size is needed (the magnifier
    already fits in its share) or the times are unknown. ``share``: of the frame period,
    for a time measured during a live run (:data:`KEEP_UP_SHARE`).
    """
    if not (magnify_ms > 0 and period_ms > 0) or magnify_ms <= share * period_ms:
        return None
    scale = math.sqrt(share * period_ms / magnify_ms)
    new_width = max(8, int(width * scale) // 8 * 8)
    new_height = max(2, int(new_width * height / width) // 2 * 2)
    return new_width, new_height


def drop_advice(report: LiveReport) -> str:
    """One sentence on why frames were dropped and what to change to keep up."""
    share = 100.0 * report.frames_dropped / max(report.frames_in, 1)
    period_ms = 1000.0 / report.source_fps if report.source_fps > 0 else float("nan")
    if report.magnify_ms_mean <= KEEP_UP_SHARE * period_ms:
        # the magnifier keeps up on average: a stall elsewhere filled the queue
        return (
            f"{report.frames_dropped} of {report.frames_in} frames ({share:.1f} %) were "
            f"dropped, though the magnifier took {report.magnify_ms_mean:.1f} ms a frame of "
            f"the {period_ms:.1f} ms between frames: a stall elsewhere (decoding, writing, "
            "another program on the CPU) filled the queue; a longer --queue rides such "
            "stalls out, or read a file with --no-realtime"
        )
    size = size_to_keep_up(report.width, report.height, report.magnify_ms_mean, period_ms)
    smaller = f"--resize {size[0]}x{size[1]} or smaller" if size else "--resize WxH"
    return (
        f"{report.frames_dropped} of {report.frames_in} frames ({share:.1f} %) were dropped: "
        f"the magnifier took {report.magnify_ms_mean:.1f} ms a frame, the source gives one "
        f"every {period_ms:.1f} ms, and decoding and writing share the CPU; to keep up, "
        f"process a smaller picture ({smaller}, or --resize auto to have it chosen), choose a "
        "faster method (motionmag methods "
        "lists their speeds; learned ones: --set precision=auto --set batch=4), or read a "
        "file with --no-realtime"
    )


def run_live(
    source: LiveSource,
    magnifier: FrameMagnifier,
    sinks: Sequence[Sink],
    *,
    method: str = "?",
    clock: Clock | None = None,
    queue_frames: int = 2,
    drop: bool | None = None,
    geometry: FrameGeometry | None = None,
    duration_s: float | None = None,
    max_frames: int | None = None,
    interval_s: float | None = None,
    on_interval: Callable[[Interval], None] | None = None,
    temporal: bool = False,
    band_hz: tuple[float, float] | None = None,
    filter_fps: float | None = None,
    keep_first: int = 0,
) -> LiveReport:
    """Magnify ``source`` into ``sinks`` until it ends, a limit, Ctrl+C or a sink stops.

    Args:
        magnifier: ``push(frame) -> frame | None`` and ``flush() -> [frames]``, e.g. a
            :class:`motionmag.Stream`.
        sinks: closed at the end (kept); aborted (nothing left) when the run fails.
        queue_frames: frames that may wait for the magnifier (the newest are kept).
        drop: drop old frames when the magnifier falls behind (default: when the source
            is paced in real time); False makes the reader wait instead.
        geometry: a crop and a processing size (``--crop``, ``--resize``); default: the
            source's frames as they are.
        duration_s: stop reading after this many seconds of run time.
        max_frames: stop after this many frames from the source.
        interval_s: every this many seconds, record an :class:`Interval` in the report
            and pass it to ``on_interval``.
        temporal: the magnifier filters in time (a dropped frame then distorts the band).
        band_hz: its band (Hz), to say when the frames left are too few to hold it.
        filter_fps: the rate the magnifier filters at (``--fps``; default the source's).
        keep_first: the source's first frames that are never dropped (static mode's
            reference and those before it; :class:`FrameQueue`).
    """
    clock = clock or SystemClock()
    info = source.info
    queue = FrameQueue(queue_frames, info.paced if drop is None else drop, keep_first)
    start_s = clock.now()
    reader = _Reader(source, queue, clock, start_s, duration_s, max_frames)
    if geometry is None:
        geometry = FrameGeometry.from_arguments(info.width, info.height)
    width, height = geometry.size
    report = LiveReport(
        source=info.description,
        method=method,
        source_fps=info.fps,
        width=width,
        height=height,
        source_size=(info.width, info.height),
    )
    latency, window = LatencyStats(), LatencyStats()
    # (index, capture time) of frames pushed whose output has not come back yet; the
    # frames themselves are not kept here (the magnifier holds what its window needs)
    pending: deque[tuple[int, float, float | None]] = deque()
    magnify_s = 0.0
    first_push_s = 0.0  # the first frame's push: warm-up (lazy set-up, first forward)
    processed = output = 0
    last_output = -1
    window_start_s, window_processed = start_s, 0
    next_interval_s = start_s + interval_s if interval_s else None
    stop_reason: str | None = None

    def emit(frame: np.ndarray) -> bool:
        nonlocal output, last_output
        index, capture_s, stamp_s = pending.popleft()
        if index <= last_output:  # pragma: no cover - a magnifier bug
            raise RuntimeError(f"frame {index} came out after frame {last_output}")
        # the frame's time in the source: a file's own (its stamp, else index / rate), a
        # camera's or a stream's arrival; a dropped frame leaves its gap, so a recording
        # keeps real time. A stream read unpaced (--no-realtime) keeps its own stamps
        if info.kind == "file" or not info.paced:
            time_s = stamp_s if stamp_s is not None else index / info.fps
        else:
            time_s = capture_s - start_s
        keep = True
        for sink in sinks:
            keep = sink.write(frame, time_s) and keep
        latency_ms = (clock.now() - capture_s) * 1000.0
        latency.add(latency_ms)
        window.add(latency_ms)
        output += 1
        last_output = index
        return keep

    def sample(now_s: float) -> None:
        nonlocal window, window_start_s, window_processed
        span_s = max(now_s - window_start_s, 1e-9)
        stats = window.summary()
        interval = Interval(
            elapsed_s=now_s - start_s,
            frames_in=reader.frames_in,
            frames_processed=processed,
            frames_dropped=queue.dropped,
            fps=(processed - window_processed) / span_s,
            latency_mean_ms=stats["mean_ms"],
            latency_p95_ms=stats["p95_ms"],
            latency_max_ms=stats["max_ms"],
            rss_mib=rss_mib(),
        )
        report.intervals.append(interval)
        if on_interval is not None:
            on_interval(interval)
        window, window_start_s, window_processed = LatencyStats(), now_s, processed

    reader.start()
    try:
        try:
            with HeldStop() as held:
                while True:
                    held.raise_held()
                    item = queue.get(timeout_s=0.05)
                    now_s = clock.now()
                    if next_interval_s is not None and now_s >= next_interval_s:
                        sample(now_s)
                        next_interval_s += interval_s  # type: ignore[operator]
                        while next_interval_s <= now_s:  # a long stall: skip missed samples
                            next_interval_s += interval_s  # type: ignore[operator]
                    if item is None:
                        if queue.finished:
                            break
                        continue
                    frame = item.frame
                    if geometry.changes_frames:
                        frame = geometry.apply(frame)
                    began_s = clock.now()
                    out = magnifier.push(frame)
                    spent_s = clock.now() - began_s
                    if processed == 0:
                        first_push_s = spent_s
                    magnify_s += spent_s
                    processed += 1
                    pending.append((item.index, item.capture_s, item.stamp_s))
                    if out is not None and not emit(out):
                        stop_reason = "window closed"
                        break
        except KeyboardInterrupt as stop:  # Ctrl+C, or SIGTERM (errors.Terminated)
            stop_reason = "SIGTERM" if isinstance(stop, Terminated) else "Ctrl+C"
        reader.stop.set()
        queue.close()
        left = queue.discard()  # frames read but never processed, counted as dropped
        reader.join(timeout=5.0)
        if reader.error is not None:
            raise reader.error
        held_cut = False
        if stop_reason != "window closed":  # the frames a filter's latency holds, too
            try:
                for out in magnifier.flush():
                    if pending:
                        emit(out)
            except KeyboardInterrupt:  # stopped again while they were written
                held_cut = True
        if output == 0 and processed and stop_reason in ("Ctrl+C", "SIGTERM"):
            raise InputError(
                f"the run was stopped ({stop_reason}) before a magnified frame came out: "
                "nothing was written; let it run longer."
            )
        if output == 0:
            raise InputError(
                f"{info.description} gave no frame to magnify: check that it plays in "
                "another player."
            )
        for sink in sinks:
            sink.close()
    except BaseException:
        reader.stop.set()
        queue.close()
        for sink in sinks:
            with contextlib.suppress(Exception):
                sink.abort()
        raise
    end_s = clock.now()
    if next_interval_s is not None and end_s - window_start_s > 0.5 * interval_s:  # type: ignore[operator]
        sample(end_s)
    stats = latency.summary()
    report.frames_in = reader.frames_in
    report.frames_processed = processed
    report.frames_dropped = queue.dropped
    report.frames_output = output
    report.duration_s = end_s - start_s
    report.processing_fps = processed / max(end_s - start_s, 1e-9)
    # the first push left out once there are others: its warm-up (2 s for oh2018's first
    # forward, 0.4 s after) made a short run's advice ask for a far smaller picture
    if processed > 1:
        report.magnify_ms_mean = 1000.0 * (magnify_s - first_push_s) / (processed - 1)
    else:
        report.magnify_ms_mean = 1000.0 * magnify_s / processed if processed else float("nan")
    report.latency_mean_ms = stats["mean_ms"]
    report.latency_p95_ms = stats["p95_ms"]
    report.latency_max_ms = stats["max_ms"]
    report.stopped_by = stop_reason or reader.stopped_by
    if left and stop_reason:
        report.notes.append(f"{left} frame(s) waiting when the run stopped were not processed")
    if held_cut:
        report.notes.append(
            f"stopped a second time: the last {processed - output} magnified frame(s), held "
            "by the temporal filter, were not written"
        )
    # frames waiting at a stop count as dropped, but say nothing of the magnifier's speed
    too_slow = report.frames_dropped > (left if stop_reason else 0)
    if too_slow:
        report.notes.append(drop_advice(report))
    rate = filter_fps or info.fps  # the rate the band is read in
    kept_fps = rate * processed / max(report.frames_in, 1)  # frames magnified a second
    if too_slow and temporal and band_hz is not None and band_hz[1] >= kept_fps / 2:
        report.notes.append(
            f"frames were dropped: {kept_fps:.1f} of the source's {rate:g} frames a second "
            f"were magnified, which hold motions up to {kept_fps / 2:.1f} Hz, below the band's "
            f"top ({band_hz[1]:g} Hz): the band was not magnified as asked; use a faster "
            "method, --resize, or --no-realtime for a file"
        )
    elif too_slow and temporal:
        report.notes.append(
            "frames were dropped, so the temporal filter saw uneven time steps and its band "
            "is approximate: use a faster method, --resize, or --no-realtime for a file"
        )
    kinds = {sink.writer.kind for sink in sinks if hasattr(sink, "writer")}
    if report.frames_dropped and kinds - {"png"}:
        report.notes.append(
            f"the output holds {output} of {report.frames_in} frames, each at its time in "
            "the source: it plays in real time, with a gap where frames were dropped"
        )
    if report.frames_dropped and "png" in kinds:
        report.notes.append(
            f"the output folder holds {output} of {report.frames_in} frames and PNG frames "
            f"keep no times: played at {info.fps:g} fps it runs faster than real time"
        )
    return report
