"""Live frame sources: a camera, a network stream, or a file played at its own frame rate.

What matters here:

- **One source string, three kinds** (:func:`open_source`): a camera index (``0``) or
  device (``/dev/video0``) is opened with OpenCV's ``VideoCapture``; anything with a
  scheme (``rtsp://``, ``http://``, ``udp://``, ...) with PyAV, so whatever FFmpeg opens
  works; an existing path (a video file or a frame folder) with :class:`VideoReader`. A
  string that names none of these, and a source that exists but cannot be read (not a
  video, a camera that does not open, an unreachable URL), are an ``InputError`` (exit 3):
  one sentence, raised before any frame is read.
- **Real-time pacing**: a file is released at its frame rate, frame *i* at
  ``start + i / fps`` on an injectable :class:`Clock`, so a file stands in for a camera
  in tests and benchmarks; a frame that decodes late is released late, never skipped
  here (dropping is the consumer's policy). A URL is paced by its timestamps, which is a
  no-op for a live stream and plays a remote file at its rate. ``realtime=False`` reads
  as fast as decoding allows. Cameras pace themselves.
- Frames are ``uint8`` RGB ``(H, W, 3)``; one decoded frame is held at a time.
"""

from __future__ import annotations

import errno
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

import numpy as np

from motionmag.errors import InputError
from motionmag.video.probe import main_video_stream, pixel_aspect, stream_rate
from motionmag.video.reader import VideoReader

DEFAULT_CAMERA_FPS = 30.0  # when a camera does not state its rate
URL_OPEN_TIMEOUT_S = 10.0  # PyAV open and read timeout for network sources
#: an open that failed after this share of the timeout is told as a timeout (a silent
#: RTSP server made FFmpeg report invalid data after 12.6 s)
TIMED_OUT_SHARE = 0.9


class Clock(Protocol):
    """Monotonic time in seconds and a way to wait; tests pass a fake one."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: ``time.monotonic`` and ``time.sleep`` (seconds)."""

    def now(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


#: live video files up to this many pixels a frame (960x540) are decoded (a paced file
#: source) and encoded (``motionmag live -o``) by one codec thread each (ours): their own
#: Python threads already overlap them with the magnifier, and FFmpeg's default (about 1.5
#: threads per core each) only adds threads that preempt the magnifier's. One thread at
#: 640x360: x264 "veryfast" 3.6 ms and H.264 decoding 1.1 ms of CPU a frame (1280x720:
#: 16 and 6 ms, too close to a 30 fps frame period to risk it; measured beside a training
#: run). Larger frames keep FFmpeg's choice; None: always its choice.
LIVE_SINGLE_CODEC_THREAD_MAX_PIXELS: int | None = 960 * 540


def live_codec_threads(width: int, height: int) -> int | None:
    """Codec threads for live video of this frame size: 1, or None (FFmpeg's choice)."""
    limit = LIVE_SINGLE_CODEC_THREAD_MAX_PIXELS
    return 1 if limit is not None and width * height <= limit else None


@dataclass(frozen=True)
class SourceInfo:
    """What a live source delivers: kind (file, camera, stream), size in px, rate in fps.

    ``fps`` is the stated (nominal) rate; ``frame_count`` is known for files only;
    ``paced`` says whether frames arrive on a real-time clock (a camera, a stream, a file
    played in real time) rather than as fast as they decode; ``sample_aspect_ratio`` is
    a pixel's shown width over its height (1: square, cameras).
    """

    description: str
    kind: str
    width: int
    height: int
    fps: float
    frame_count: int | None
    paced: bool
    sample_aspect_ratio: Fraction = Fraction(1)


class LiveSource:
    """A source of uint8 RGB frames; iterate :meth:`frames` once, then :meth:`close`."""

    info: SourceInfo

    def frames(self) -> Iterator[np.ndarray]:  # pragma: no cover - interface
        raise NotImplementedError

    def close(self) -> None:
        """Release the device, connection or file (idempotent)."""


def paced(frames: Iterator[np.ndarray], fps: float, clock: Clock) -> Iterator[np.ndarray]:
    """Release frame *i* of ``frames`` no earlier than ``start + i / fps`` seconds on ``clock``.

    ``start`` is the time the first frame is asked for. A late frame (slow decoding) is
    released at once and the schedule keeps its origin, so the source never runs faster
    than ``fps`` on average and never drifts.
    """
    period_s = 1.0 / fps
    start_s: float | None = None
    for index, frame in enumerate(frames):
        if start_s is None:
            start_s = clock.now()
        wait_s = start_s + index * period_s - clock.now()
        if wait_s > 0:
            clock.sleep(wait_s)
        yield frame


class FileSource(LiveSource):
    """A video file or frame folder, paced at its frame rate unless ``realtime`` is False."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        realtime: bool = True,
        clock: Clock | None = None,
        fps: float | None = None,
    ) -> None:
        self._reader = VideoReader(path, fps=fps)  # probes the file, here
        if fps is not None and self._reader.info.stated_fps is not None:
            # --fps is the rate the band is read in (magnify's meaning): a file that states
            # its own rate still plays, and is written, at it (it played --fps / stated
            # times too fast, dropping frames). A frame folder states none: fps is its rate
            self._reader = VideoReader(path)
        video = self._reader.info
        if video.frame_count is not None and video.frame_count < 2:
            raise InputError(
                f"'{path}' has {video.frame_count} frame(s): magnifying live needs a video."
            )
        if realtime:  # read when the first pass opens the file
            self._reader.codec_threads = live_codec_threads(video.width, video.height)
        self._clock = clock or SystemClock()
        self._realtime = realtime
        self.info = SourceInfo(
            description=f"file '{path}'",
            kind="file",
            width=video.width,
            height=video.height,
            fps=float(video.fps),
            frame_count=video.expected_frames,
            paced=realtime,
            sample_aspect_ratio=video.sample_aspect_ratio,
        )

    @property
    def last_time_s(self) -> float | None:
        """The time stamp of the frame last given (s from the stream's start), or None
        (a frame folder, or a rate given by ``fps``: then frame i is at i / fps)."""
        stamp = self._reader.last_time_s
        return None if stamp is None or not self._reader.own_rate else float(stamp)

    def frames(self) -> Iterator[np.ndarray]:
        frames = iter(self._reader)
        if self._realtime:
            return paced(frames, self.info.fps, self._clock)
        return frames

    def close(self) -> None:
        self._reader.close()


class CameraSource(LiveSource):
    """A camera through OpenCV's ``VideoCapture`` (an index or a /dev/video device)."""

    def __init__(self, device: int | str, fps: float | None = None) -> None:
        import cv2

        self._cv2 = cv2
        name = f"camera {device}" if isinstance(device, int) else f"camera '{device}'"
        quiet = cv2.utils.logging.LOG_LEVEL_ERROR  # OpenCV's own warnings on a failed open
        previous = cv2.utils.logging.setLogLevel(quiet)  # would precede our one sentence
        try:
            capture = cv2.VideoCapture(device)
        finally:
            cv2.utils.logging.setLogLevel(previous)
        if not capture.isOpened():
            capture.release()
            raise InputError(
                f"{name} could not be opened: check that it is connected and not in use "
                "by another program."
            )
        if fps is not None:
            capture.set(cv2.CAP_PROP_FPS, float(fps))
        ok, first = capture.read()
        if not ok or first is None:
            capture.release()
            raise InputError(f"{name} opened but gave no frame: check it with another viewer.")
        stated = capture.get(cv2.CAP_PROP_FPS)
        rate = fps or (stated if stated and 0 < stated < 1000 else DEFAULT_CAMERA_FPS)
        self._capture = capture
        self._first: np.ndarray | None = first
        self.info = SourceInfo(
            description=name,
            kind="camera",
            width=int(first.shape[1]),
            height=int(first.shape[0]),
            fps=float(rate),
            frame_count=None,
            paced=True,
        )

    def _rgb(self, bgr: np.ndarray) -> np.ndarray:
        if bgr.ndim == 2:
            return np.ascontiguousarray(self._cv2.cvtColor(bgr, self._cv2.COLOR_GRAY2RGB))
        return np.ascontiguousarray(self._cv2.cvtColor(bgr, self._cv2.COLOR_BGR2RGB))

    def frames(self) -> Iterator[np.ndarray]:
        if self._first is not None:
            first, self._first = self._first, None
            yield self._rgb(first)
        while True:
            ok, bgr = self._capture.read()
            if not ok or bgr is None:
                return  # unplugged or closed: the run ends with what it has
            yield self._rgb(bgr)

    def close(self) -> None:
        self._capture.release()


class StreamSource(LiveSource):
    """A network stream (or any URL FFmpeg opens) through PyAV, paced by its timestamps."""

    def __init__(
        self,
        url: str,
        *,
        realtime: bool = True,
        clock: Clock | None = None,
        timeout_s: float = URL_OPEN_TIMEOUT_S,
    ) -> None:
        import av

        options = {"rtsp_transport": "tcp"} if url.lower().startswith("rtsp") else {}
        began_s = time.monotonic()
        try:
            container = av.open(url, mode="r", options=options, timeout=timeout_s)
        except (av.error.FFmpegError, OSError) as error:
            waited_s = time.monotonic() - began_s
            silent = (
                isinstance(error, (av.error.InvalidDataError, TimeoutError))
                or getattr(error, "errno", None) == errno.ETIMEDOUT
            )  # FFmpeg's RTSP calls a silent server bad data
            if silent and waited_s >= TIMED_OUT_SHARE * timeout_s:
                raise InputError(
                    f"stream '{url}' did not answer within {timeout_s:g} s: check that its "
                    "server is running and sending."
                ) from None
            raise InputError(_open_problem(url, error)) from None
        if not container.streams.video:
            container.close()
            raise InputError(f"stream '{url}' has no video: give a URL that carries video.")
        stream = main_video_stream(container)
        stream.thread_type = "AUTO"
        rate = stream_rate(stream)
        fps = float(rate) if rate and 0 < float(rate) < 1000 else DEFAULT_CAMERA_FPS
        if not stream.width or not stream.height:
            container.close()
            raise InputError(f"stream '{url}' does not state its frame size: check the URL.")
        self._av = av
        self._container = container
        self._stream = stream
        self._clock = clock or SystemClock()
        self._realtime = realtime
        self.info = SourceInfo(
            description=f"stream '{url}'",
            kind="stream",
            width=int(stream.width),
            height=int(stream.height),
            fps=fps,
            frame_count=None,
            # --no-realtime: read as fast as it decodes, every frame processed (a remote
            # file); frames then keep their own time stamps (last_time_s)
            paced=realtime,
            sample_aspect_ratio=pixel_aspect(stream, 0),
        )
        self._last_time_s: float | None = None
        #: why the stream ended when it was not its end (None: it ended, or goes on)
        self.ended_by: str | None = None

    @property
    def last_time_s(self) -> float | None:
        """The time stamp of the frame last given (s from the stream's first), or None
        when the stream gives none."""
        return self._last_time_s

    def frames(self) -> Iterator[np.ndarray]:
        first_pts_s: float | None = None
        start_s: float | None = None
        time_s = -1.0 / self.info.fps  # the stream time of the frame given last
        size = (self.info.width, self.info.height)
        try:
            for frame in self._container.decode(self._stream):
                if frame.pts is not None and frame.time_base is not None:
                    pts_s = float(frame.pts * frame.time_base)
                    if first_pts_s is None:  # one period after any unstamped frames
                        first_pts_s = pts_s - (time_s + 1.0 / self.info.fps)
                    time_s = pts_s - first_pts_s
                    self._last_time_s = time_s
                else:  # no time stamp (a raw H.264 stream): one frame period on (ours);
                    # unpaced, such a stream ran as fast as it downloaded (10 s in 0.8)
                    time_s += 1.0 / self.info.fps
                    if self._last_time_s is not None:  # not the stamp of a frame before
                        self._last_time_s = time_s
                if start_s is None:
                    start_s = self._clock.now() - time_s
                wait_s = start_s + time_s - self._clock.now()
                if self._realtime and wait_s > 0:
                    self._clock.sleep(min(wait_s, 1.0))  # a timestamp jump never stalls
                if (frame.width, frame.height) != size:
                    frame = frame.reformat(width=size[0], height=size[1])
                yield np.ascontiguousarray(frame.to_ndarray(format="rgb24"))
        except (self._av.error.FFmpegError, OSError) as error:
            # a dropped connection or a server gone quiet ends the run with what it has,
            # said as such in the report (it read "end of source")
            reason = getattr(error, "strerror", None) or str(error) or type(error).__name__
            self.ended_by = f"the stream broke off: {reason.rstrip('.')}"

    def close(self) -> None:
        self._container.close()


_URL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def source_kind(text: str) -> str:
    """'camera', 'stream' or 'file' for a SOURCE string; UsageError when it names nothing."""
    if re.fullmatch(r"\d+", text) or text.startswith("/dev/video"):
        if not text.isdigit() and not Path(text).exists():
            raise InputError(
                f"camera device '{text}' does not exist: list cameras with "
                "`ls /dev/video*` and give one of them, or an index like 0."
            )
        return "camera"
    if _URL.match(text):
        return "file" if text.lower().startswith("file://") else "stream"
    if Path(text).exists():
        return "file"
    raise InputError(
        f"source '{text}' is not an existing file, a camera (0 or /dev/video0) or a URL "
        "(rtsp://, http://): check the name."
    )


def _open_problem(url: str, error: BaseException) -> str:
    """The sentence for a stream that did not open: the server's answer when it gave one
    (a 404 read as 'check that the server is reachable'), data that is not video, or no
    connection."""
    import av

    http = (av.error.HTTPError, av.error.HTTPClientError, av.error.HTTPServerError)
    if isinstance(error, http):  # FFmpeg says "Server returned 404 Not Found"
        answer = str(getattr(error, "strerror", "") or error).strip().rstrip(".")
        answer = answer.removeprefix("Server returned ")
        return f"the server of '{url}' answered {answer}: check the URL's path."
    if isinstance(error, av.error.InvalidDataError):
        return f"stream '{url}' is not video FFmpeg can read: give a URL that carries video."
    return f"stream '{url}' could not be opened: check the URL and that the server is reachable."


def open_source(
    text: str,
    *,
    realtime: bool = True,
    clock: Clock | None = None,
    fps: float | None = None,
) -> LiveSource:
    """Open SOURCE (camera index or device, URL, file or frame folder); see the module doc.

    ``fps`` (``--fps``, the rate the band is read in) asks a camera for that rate and
    paces a frame folder; a file that states a rate and a network stream keep their own
    (the band's rate is the magnifier's business); ``realtime`` paces files and URLs at
    their rate (``False``: as fast as they decode).
    """
    kind = source_kind(text)
    if kind == "camera":
        return CameraSource(int(text) if text.isdigit() else text, fps=fps)
    if kind == "stream":
        return StreamSource(text, realtime=realtime, clock=clock)
    path = text[len("file://") :] if text.lower().startswith("file://") else text
    if not Path(path).exists():
        raise InputError(f"source '{text}' does not exist: check the path.")
    return FileSource(path, realtime=realtime, clock=clock, fps=fps)
