"""Where live frames go: a video file (atomic, via VideoWriter) or a window (OpenCV).

What matters: a window is only promised where one can open. :func:`display_problem`
says in one sentence why not (no ``DISPLAY``/``WAYLAND_DISPLAY`` on Linux, or an OpenCV
built without GUI support, such as ``opencv-python-headless``) before anything starts,
so ``motionmag live`` can refuse plainly instead of crashing at the first frame. A sink's
``write`` returns False when the viewer asked to stop (``q``, Esc, or the window closed).
"""

from __future__ import annotations

import os
import re
import sys
from fractions import Fraction

import numpy as np

from ..video import VideoWriter

QUIT_KEYS = (ord("q"), 27)  # q and Esc
#: x264 preset of live files (ours): at 640x360 "fast" (the file default) took 9.1 ms of CPU
#: a frame and "veryfast" 3.6 ms, time the magnifier needs when it shares 2 cores with it
LIVE_X264_PRESET = "veryfast"


class Sink:
    """Takes uint8 RGB frames; ``close`` keeps the result, ``abort`` drops it."""

    def write(self, frame: np.ndarray) -> bool:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Finish (keep what was written)."""

    def abort(self) -> None:
        """Stop and leave nothing behind."""


class FileSink(Sink):
    """Write frames to a .mp4/.mkv/PNG folder at ``fps``; nothing remains unless closed.

    H.264 is written with x264's :data:`LIVE_X264_PRESET` (same crf 18, a larger file,
    about a third of the encoding CPU of the file default).
    """

    def __init__(
        self, path: str, fps: float | Fraction, width: int, height: int, overwrite: bool = False
    ) -> None:
        self.path = path
        self.writer = VideoWriter(
            path, fps, width, height, overwrite=overwrite, preset=LIVE_X264_PRESET
        )

    @property
    def frames_written(self) -> int:
        return self.writer.frames_written

    def write(self, frame: np.ndarray) -> bool:
        self.writer.write(frame)
        return True

    def close(self) -> None:
        self.writer.close()

    def abort(self) -> None:
        self.writer.abort()


def display_problem() -> str | None:
    """One sentence saying why no window can be shown here, or None when one can."""
    import cv2

    if re.search(r"^\s*GUI:\s*NONE\s*$", cv2.getBuildInformation(), re.M) or not hasattr(
        cv2, "imshow"
    ):
        return (
            "this OpenCV has no window support (opencv-python-headless): pass -o OUT.mp4 to "
            "write a file, or install opencv-python to show a window."
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

    def write(self, frame: np.ndarray) -> bool:
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
