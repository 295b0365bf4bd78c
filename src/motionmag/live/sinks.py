"""Where live frames go: a video file (atomic, via VideoWriter) or a window (OpenCV).

What matters: a window is only promised where one can open. :func:`display_problem`
says in one sentence why not (no ``DISPLAY``/``WAYLAND_DISPLAY`` on Linux, or an OpenCV
built without GUI support, such as ``opencv-python-headless``) before anything starts,
so ``motionmag live`` can refuse plainly instead of crashing at the first frame. A sink's
``write`` returns False when the viewer asked to stop (``q``, Esc, or the window closed).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import sys
import threading
from fractions import Fraction

import numpy as np

from ..video import VideoWriter
from ..video.live_source import live_codec_threads
from . import priority

QUIT_KEYS = (ord("q"), 27)  # q and Esc
#: x264 preset of live files (ours): at 640x360 "fast" (the file default) took 9.1 ms of CPU
#: a frame and "veryfast" 3.6 ms, time the magnifier needs when it shares 2 cores with it
LIVE_X264_PRESET = "veryfast"
#: frames that may wait for the encoding thread of a :class:`FileSink` (ours: 4 frames of
#: 640x360 are 2.8 MB; the magnifier's bursts of ``batch`` frames fit without waiting)
ENCODE_QUEUE_FRAMES = 4
#: FileSink's default: encode in a thread of its own (False: in the caller's thread, as
#: before 2026-12-02; ``benchmarks/live_soak.py --writer-in-loop`` compares the two)
ENCODE_IN_BACKGROUND = True


class Sink:
    """Takes uint8 RGB frames, each with its time in the source (s, or None: one frame
    period after the last); ``close`` keeps the result, ``abort`` drops it."""

    def write(
        self, frame: np.ndarray, time_s: float | None = None
    ) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Finish (keep what was written)."""

    def abort(self) -> None:
        """Stop and leave nothing behind."""


class FileSink(Sink):
    """Write frames to a .mp4/.mkv/PNG folder at ``fps``; nothing remains unless closed.

    H.264 is written with x264's :data:`LIVE_X264_PRESET` (same crf 18, a larger file,
    about a third of the encoding CPU of the file default).

    With ``background=True`` (the default, :data:`ENCODE_IN_BACKGROUND`) the encoding
    runs in a thread of its own: ``write`` hands the frame over and returns, so the
    magnifier works on the next frame while this one is encoded (PyAV releases the GIL
    while x264 encodes). At most :data:`ENCODE_QUEUE_FRAMES` frames wait (``write`` then waits:
    memory stays bounded); an error of the encoder is raised by the next ``write`` or by
    ``close``. Its effect on 2 cores is within the machine's drift so far (README, Speed:
    4 / 14 against 35 / 54 dropped a minute in one hour, 281 / 174 against 242 / 141 in
    a slower one).
    """

    def __init__(
        self,
        path: str,
        fps: float | Fraction,
        width: int,
        height: int,
        overwrite: bool = False,
        background: bool | None = None,
        sample_aspect_ratio: Fraction | None = None,
    ) -> None:
        self.path = path
        self.writer = VideoWriter(
            path,
            fps,
            width,
            height,
            overwrite=overwrite,
            preset=LIVE_X264_PRESET,
            codec_threads=live_codec_threads(width, height),
            sample_aspect_ratio=sample_aspect_ratio,
        )
        self._error: BaseException | None = None
        self._frames: queue.Queue[tuple[np.ndarray, float | None] | None] | None = None
        self._thread: threading.Thread | None = None
        if ENCODE_IN_BACKGROUND if background is None else background:
            self._frames = queue.Queue(maxsize=ENCODE_QUEUE_FRAMES)
            self._thread = threading.Thread(
                target=self._encode_loop, name="motionmag-live-writer", daemon=True
            )
            self._thread.start()

    @property
    def frames_written(self) -> int:
        return self.writer.frames_written

    def _encode_loop(self) -> None:
        assert self._frames is not None
        priority.lower_this_thread()  # by priority.HELPER_NICENESS (default 0: unchanged)
        while (item := self._frames.get()) is not None:
            if self._error is None:  # after an error, only drain until the end marker
                try:
                    self.writer.write(*item)
                except BaseException as error:  # raised in the caller's thread
                    self._error = error

    def _raise_error(self) -> None:
        """Raise the encoder's error, if it had one (every time: the sink is broken)."""
        if self._error is not None:
            raise self._error

    def _join(self, drop_waiting: bool) -> None:
        """Stop the encoding thread (after the waiting frames, or dropping them)."""
        if self._thread is None or self._frames is None:
            return
        if drop_waiting:
            with contextlib.suppress(queue.Empty):
                while True:
                    self._frames.get_nowait()
        self._frames.put(None)
        self._thread.join()
        self._thread = None

    def write(self, frame: np.ndarray, time_s: float | None = None) -> bool:
        """Encode ``frame`` at ``time_s`` (s in the source: a dropped frame leaves a gap, so
        the file lasts as long as the run and plays in real time)."""
        if self._frames is None or self._thread is None:  # in this thread, or closed
            self.writer.write(frame, time_s)  # (a closed writer refuses in one sentence)
            return True
        self._raise_error()
        self._frames.put((frame, time_s))
        return True

    def close(self) -> None:
        self._join(drop_waiting=False)
        try:
            self._raise_error()
        except BaseException:
            self.writer.abort()
            raise
        self.writer.close()

    def abort(self) -> None:
        self._join(drop_waiting=True)
        self.writer.abort()


def display_problem() -> str | None:
    """One sentence saying why no window can be shown here, or None when one can."""
    import cv2

    if re.search(r"^\s*GUI:\s*NONE\s*$", cv2.getBuildInformation(), re.M) or not hasattr(
        cv2, "imshow"
    ):
        return (
            "this OpenCV has no window support (opencv-python-headless): write a file with "
            "-o OUT.mp4 (without --show), or install opencv-python to show a window."
        )
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        return (
            "no display found (DISPLAY and WAYLAND_DISPLAY are not set): pass -o OUT.mp4 to "
            "write a file instead."
        )
    return None


class WindowSink(Sink):
    """Show frames in an OpenCV window titled ``title``; q or Esc (or closing it) stops."""

    def __init__(self, title: str = "motionmag live") -> None:
        import cv2

        self._cv2 = cv2
        self.title = title
        cv2.namedWindow(title, cv2.WINDOW_NORMAL)

    def write(self, frame: np.ndarray, time_s: float | None = None) -> bool:
        cv2 = self._cv2
        cv2.imshow(self.title, np.ascontiguousarray(frame[..., ::-1]))  # OpenCV shows BGR
        key = cv2.waitKey(1) & 0xFF
        if key in QUIT_KEYS:
            return False
        return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1

    def close(self) -> None:
        self._cv2.destroyWindow(self.title)

    def abort(self) -> None:
        self.close()
