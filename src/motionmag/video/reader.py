"""Streaming frames out of a video file or a frame folder as uint8 RGB, one at a time.

What matters here:

- Frames are ``uint8`` RGB ``(H, W, 3)``, C-contiguous, at the size ``probe`` reports; only one
  decoded frame is held at a time, so a 10-minute 1080p video streams in constant memory.
- A broken input never passes for a short one. A decode or demux error mid-stream is an
  ``InputError`` naming the last good frame. When the stream ends early that is an
  ``InputError`` too: with a stated frame count (mp4, avi) when fewer packets arrive than
  stated or fewer frames decode than that; without one (Matroska) when the last frame ends before
  the stream's stated duration. No tolerance is applied to the count: vtest.avi (msmpeg4 in
  AVI) states 795 frames and decodes 795; an AVI that encodes dropped frames as empty packets
  still counts them as packets, so it does not trip the check. Without a count (Matroska) the
  last frame must end within half a frame period (+2 ms) of the stated stream duration.
- Each ``for frame in reader`` starts from the first frame again; ``frames_read`` counts the
  frames of the current pass.
- ``frames(first)`` starts at frame ``first`` (``--start``). Frames before it are decoded
  but not converted; from ``SEEK_MIN_S`` in, a video file with a stated frame rate seeks
  to the key frame before it and finds frame ``first`` by its time stamp (index = time x
  rate), which is the decode count for a constant frame rate (tested on mp4, mkv and
  vtest.avi). With a variable frame rate it is the frame at the start time; if no frame
  has that index (a gap) the pass decodes from the beginning and counts instead.
  Truncation is still checked, by the last frame's end time.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from motionmag.errors import InputError
from motionmag.video.probe import (
    VideoInfo,
    exif_orientation,
    list_frame_files,
    main_video_stream,
    open_frame_image,
    open_input,
    probe,
    stream_rate,
)


def _truncated(path: str, frames: int) -> InputError:
    return InputError(
        f"input file '{path}' is truncated or corrupt after frame {frames}: re-export it or "
        "cut it before that frame."
    )


#: swscale flags of the conversion to RGB: bilinear, full chroma interpolation and
#: accurate rounding. FFmpeg's default fast path darkens 4:2:0 video by half a level (a
#: grey ramp through H.264 read back 0.485 low; 0.007 with these), at 5 ms instead of
#: 0.8 per 1080p frame on our CPU (our choice: fidelity over that)
RGB_CONVERSION = 0x2 | 0x2000 | 0x40000

#: a frame whose time stamp is this close before a window's edge counts as at the edge
#: (s; Matroska rounds stamps to whole milliseconds: 1/30 s is stored as 0.033)
STAMP_SLACK_S = 0.0005 + 1e-6

#: ``frames(first)`` seeks (to the key frame before) when ``first`` is this far in, s; a
#: shorter skip decodes from the start (ours: where decoding costs more than a second or so)
SEEK_MIN_S = 5.0
#: the seek aims this far before the wanted frame, s (ours), so that it lands before it
SEEK_MARGIN_S = 1.0


class _SeekMissedError(Exception):
    """A seek landed after the wanted frame, or on frames without time stamps."""


def _seek(container: av.container.InputContainer, stream, time_s: Fraction) -> bool:
    """Seek ``container`` to the key frame at or before ``time_s`` (s); False if it cannot."""
    try:
        container.seek(max(0, int(time_s / stream.time_base)), stream=stream, backward=True)
    except av.error.FFmpegError:
        return False
    return True


#: a file whose frames are evenly spaced at a rate this far from the rate in use gets a
#: note (ours: 2 %, beyond Matroska's millisecond rounding of 30000/1001 fps)
RATE_MISMATCH = 0.02


def rate_mismatch(
    intervals_s: tuple[float, float] | None, mean_interval_s: float | None, fps: float
) -> float | None:
    """The rate (fps) a video's frames are really spaced at, when they are evenly spaced
    (see :func:`uneven_spacing`) at a rate more than :data:`RATE_MISMATCH` from ``fps``,
    the rate in use (a file that states 30 fps with frames 40 ms apart: 25.0); else None."""
    if intervals_s is None or mean_interval_s is None or mean_interval_s <= 0:
        return None
    if uneven_spacing(intervals_s):
        return None
    real = 1.0 / mean_interval_s
    return real if abs(real / fps - 1) > RATE_MISMATCH else None


def uneven_spacing(intervals_s: tuple[float, float] | None) -> bool:
    """True when a video's frames are not evenly spaced in time (variable frame rate, or
    dropped frames): ``VideoReader.frame_interval_range_s`` differing by more than 25 %
    and 3 ms (our check)."""
    if intervals_s is None:
        return False
    low, high = intervals_s
    return high > 1.25 * low and high - low > 0.003


def gap_advice(intervals_s: tuple[float, float] | None) -> str:
    """``"; where the longer gaps are pauses or lost frames, pass --fps N"`` (N: the rate
    of the closest frames) when some frames lie more than twice as far apart as the
    closest (a recording paused, frames lost: the stated average rate then reads every
    frequency low), else ``""``. Our rule."""
    if intervals_s is None or intervals_s[0] <= 0 or intervals_s[1] <= 2 * intervals_s[0]:
        return ""
    return (
        f"; where the longer gaps are pauses or lost frames, pass --fps "
        f"{1 / intervals_s[0]:.3g} (the rate of the closest frames)"
    )


#: PIL modes of integer grey frames (16-bit PNG/TIFF, 32-bit integer TIFF)
GREY_MODES = ("I;16", "I;16B", "I;16L", "I;16N", "I")
#: bit depths of integer grey frames: scientific cameras store 10-, 12- or 14-bit data in
#: 16-bit PNG/TIFF files (our choice, see :func:`grey_top`)
GREY_DEPTHS = (8, 10, 12, 14, 16)
#: a 16-bit grey video's scale is read from its first frames and frames at these
#: fractions of its length (VideoReader._sample_grey_frames)
GREY_SAMPLE_FRAMES, GREY_SAMPLE_AT = 8, (0.25, 0.5, 0.75)


#: 16-bit RGB pixel formats (FFV1 gbrp16, PNG-in-MOV rgb48, ...), read through rgb48
RGB16_FORMATS = ("gbrp16", "gbrap16", "rgb48", "bgr48", "rgba64", "bgra64")


def grey_top(images) -> int:
    """The full-scale value of integer grey frames: ``2**depth - 1`` for the smallest depth
    of :data:`GREY_DEPTHS` that holds the largest value of ``images`` (a folder's first
    frames), so 12-bit data in 16-bit files is scaled from 0-4095, not crushed to 0-15
    of 255. A brighter frame later is clipped at that scale."""
    largest = max((int(np.asarray(im).max(initial=0)) for im in images), default=65535)
    for depth in GREY_DEPTHS:
        if largest < 2**depth:
            return 2**depth - 1
    return largest  # 32-bit data beyond 16 bits: its own maximum


def grey_to_rgb8(grey: np.ndarray, top: int) -> np.ndarray:
    """Integer grey (H, W) with full scale ``top`` -> uint8 RGB (H, W, 3), rounded."""
    scaled = np.clip(np.rint(grey.astype(np.int64) * (255.0 / top)), 0, 255).astype(np.uint8)
    return np.repeat(scaled[..., None], 3, axis=2)


def _image_to_rgb8(image, top: int | None = None) -> np.ndarray:
    """A PIL image -> uint8 RGB (H, W, 3). Integer greyscale (scientific cameras' 16-bit
    PNG/TIFF) is scaled from 0-``top`` to 0-255 (default: 65535, or a 32-bit image's own
    maximum beyond it; :func:`grey_top` for a folder), float images are read as [0, 1];
    PIL's own ``convert("RGB")`` clips such data at 255 and returns a white frame."""
    if image.mode in GREY_MODES:
        grey = np.asarray(image).astype(np.int64)
        if top is None:  # 16-bit range, or a 32-bit image's own maximum beyond it
            top = 65535 if image.mode.startswith("I;16") else max(65535, int(grey.max(initial=0)))
        return grey_to_rgb8(grey, top)
    if image.mode == "F":
        grey = np.asarray(image, dtype=np.float64)
        grey = np.clip(np.rint(grey * 255.0), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    return np.asarray(image.convert("RGB"), dtype=np.uint8)


def _times_by_index(container, stream) -> bool:
    """True for B-frames in a container without presentation times (AVI): its frames are
    timed by their index at the stated rate. (Without B-frames AVI's stamps are in
    order, and a pass may seek by them.)"""
    b_frames = bool(getattr(stream.codec_context, "has_b_frames", False))
    return b_frames and "avi" in (container.format.name or "").split(",")


class VideoReader:
    """Iterate over the frames of ``path`` (a video file or a frame folder) as uint8 RGB.

    ``fps`` overrides the stated frame rate in ``info`` (timing only; every frame is read).
    """

    def __init__(
        self, path: str | os.PathLike, fps: float | None = None, codec_threads: int | None = None
    ) -> None:
        self.info: VideoInfo = probe(path, fps=fps)
        #: read at the file's own rate (no ``fps``): a time window selects by time stamp
        self.own_rate = fps is None
        #: decoder threads of video files (None: FFmpeg's choice, frame and slice threads)
        self.codec_threads = codec_threads
        self.path = Path(path)
        self.frames_read = 0
        #: frames the current pass decoded: frames_read less those a seek jumped over
        self.frames_decoded = 0
        #: shortest and longest time between consecutive frames of a video file (s), once
        #: a pass has read two frames; None for frame folders (they have no timestamps)
        self.frame_interval_range_s: tuple[float, float] | None = None
        #: the time stamp of the frame last given (s from the stream's start; Fraction),
        #: None for frame folders and frames without one
        self.last_time_s: Fraction | None = None
        self._timed: tuple[Fraction, Fraction, int] | None = None  # first, last time, count
        self._open: list[av.container.InputContainer] = []  # one per unfinished pass
        self._folder_top: int | None = None  # a grey folder's full scale (grey_top)
        self._video_top: int | None = None  # a 16-bit grey video's (its first frame's)

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the file(s) of unfinished passes; a finished pass has closed its own."""
        while self._open:
            self._open.pop().close()

    def __iter__(self) -> Iterator[np.ndarray]:
        return self.frames()

    def frames(
        self,
        first: int = 0,
        stop: int | None = None,
        seconds: tuple[float, float | None] | None = None,
    ) -> Iterator[np.ndarray]:
        """The frames from index ``first`` on (0-based, in decoding order), as uint8 RGB,
        up to before index ``stop`` (None: to the end; a pass that stops early does not
        check the rest of the file).

        ``seconds``: the same window as times, (start, end or None) in s from the stream's
        start. A video file read at its own rate (no ``fps`` given) then keeps the frames
        whose time stamps lie in it (within :data:`STAMP_SLACK_S`), so a variable-rate
        clip or one with a gap gives the frames a player shows then; frames without a
        stamp, folders and a rate given by ``fps`` (a high-speed camera's: frame i is at
        i / fps) keep the index window.

        Frames before the window are decoded (a video file's completeness is still
        checked) but not converted to RGB, and a folder's are not opened: ``--start`` pays
        little for the frames it skips. ``frames_read`` counts skipped frames too.
        """
        self.frames_read, self.frames_decoded = 0, 0
        self._timed = None
        if self.path.is_dir():
            return self._iter_folder(first, stop)
        return self._iter_file(first, stop, seconds if self.own_rate else None)

    # -- frame folders ---------------------------------------------------------------------

    def _iter_folder(self, first: int, stop: int | None) -> Iterator[np.ndarray]:
        from PIL import ImageOps

        size = (self.info.width, self.info.height)
        files = list_frame_files(self.path)
        self.frames_read = min(first, len(files))
        for file in files[first:stop]:
            try:
                with open_frame_image(file) as stored:
                    # upright, as a viewer shows it (a phone photo's EXIF orientation)
                    image = (
                        ImageOps.exif_transpose(stored) if exif_orientation(stored) > 1 else stored
                    )
                    if image.size != size:
                        raise InputError(
                            f"frame '{file.name}' is {image.size[0]}x{image.size[1]} but the "
                            f"first frame is {size[0]}x{size[1]}: all frames must have one size."
                        )
                    if image.mode in GREY_MODES and self._folder_top is None:
                        self._folder_top = self._grey_top(files)  # once, at the first grey frame
                    array = _image_to_rgb8(image, self._folder_top)
            except OSError:
                raise InputError(
                    f"frame '{file}' is not a readable image: replace or remove it."
                ) from None
            self.frames_read += 1
            yield np.ascontiguousarray(array)

    def _grey_top(self, files: list[Path]) -> int:
        """:func:`grey_top` of the folder's first frames (up to 8): the same scale for every
        frame and every pass."""
        images = []
        for file in files[:8]:
            with open_frame_image(file) as image:
                if image.mode in GREY_MODES:
                    images.append(np.asarray(image))
        return grey_top(images)

    # -- video files -----------------------------------------------------------------------

    def _sample_grey_frames(self) -> list[np.ndarray]:
        """Frames of a 16-bit grey video for its scale (:func:`grey_top`): its first
        :data:`GREY_SAMPLE_FRAMES` and one at each of :data:`GREY_SAMPLE_AT` of its length,
        so a dark start (a lens cap, a fade-in) does not set an 8-bit scale that clips
        every later frame white, and every pass (any --start) gets the same scale. Our
        choice; frames that cannot be read are left out."""
        samples: list[np.ndarray] = []
        try:
            with av.open(str(self.path)) as container:
                stream = main_video_stream(container)
                for index, frame in enumerate(container.decode(stream)):
                    samples.append(frame.to_ndarray())
                    if index + 1 >= GREY_SAMPLE_FRAMES:
                        break
                length_us = container.duration  # microseconds (Matroska: its tag)
                if not length_us:
                    return samples
                begin_us = container.start_time or 0
                for fraction in GREY_SAMPLE_AT:
                    container.seek(begin_us + int(length_us * fraction))
                    for frame in container.decode(stream):
                        samples.append(frame.to_ndarray())
                        break
        except (av.error.FFmpegError, ValueError):
            pass
        return samples

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """uint8 RGB, upright: turned as a player shows it (``VideoInfo.quarter_turns``)."""
        width, height = self.info.coded_size
        if frame.width != width or frame.height != height:
            frame = frame.reformat(width=width, height=height)
        if frame.format.name in ("gray16le", "gray16be"):
            # 10- to 14-bit camera data in 16-bit grey: scaled from its depth, as a frame
            # folder's (grey_top of the first frame), not crushed to 0-16 by rgb24
            grey = frame.to_ndarray()
            if self._video_top is None:
                self._video_top = grey_top([grey, *self._sample_grey_frames()])
            rgb = grey_to_rgb8(grey, self._video_top)
        elif frame.format.name.startswith(RGB16_FORMATS):
            # swscale's rgb24 divides 16-bit values by 256, not 257: every value from 128
            # up read one level bright; rounded from rgb48 instead (exact for x * 257)
            wide = frame.reformat(format="rgb48le").to_ndarray().astype(np.uint32)
            rgb = ((wide * 255 + 32767) // 65535).astype(np.uint8)
        else:
            rgb = frame.reformat(format="rgb24", interpolation=RGB_CONVERSION).to_ndarray()
        if self.info.quarter_turns:
            rgb = np.rot90(rgb, self.info.quarter_turns)
        return np.ascontiguousarray(rgb)

    def _iter_file(
        self, first: int, stop: int | None, seconds: tuple[float, float | None] | None
    ) -> Iterator[np.ndarray]:
        if first > 0 or (seconds is not None and seconds[0] > 0):
            try:
                yield from self._read_file(first, stop, seconds, seek=True)
                return
            except _SeekMissedError:  # raised before any frame was given: read from the start
                self.frames_read, self.frames_decoded = 0, 0
                self.frame_interval_range_s = self._timed = None
        yield from self._read_file(first, stop, seconds, seek=False)

    def _read_file(
        self,
        first: int,
        stop: int | None,
        seconds: tuple[float, float | None] | None,
        seek: bool,
    ) -> Iterator[np.ndarray]:
        """Decode the file from the start, or (``seek``) from the key frame before the
        window when it starts at least ``SEEK_MIN_S`` in; the frames of the window (by
        time stamp with ``seconds``, else by index)."""
        container = open_input(self.path)
        self._open.append(container)
        stream = main_video_stream(container)
        stream.thread_type = "AUTO"
        if self.codec_threads is not None:
            stream.codec_context.thread_count = int(self.codec_threads)
        path = str(self.path)
        packets = 0  # packets the demuxer delivered, empty and discarded ones included
        skipped = 0  # empty (dropped-frame) or discard-flagged packets: no frame expected
        last_end_s: Fraction | None = None
        previous_s: Fraction | None = None
        rate = stream_rate(stream)
        period_s = 1 / (rate or self.info.fps)
        origin_s = Fraction(0)
        if stream.start_time is not None and stream.time_base is not None:
            origin_s = stream.start_time * stream.time_base
        # AVI stores no presentation times: with B-frames the demuxer's pts come out of
        # order (1, 3, 4, 2, 7, 6, ...), so each frame is timed by its index at the stated
        # rate, as AVI means (a pass from the start: no seek)
        by_index = _times_by_index(container, stream) and bool(rate)
        seek = seek and not by_index
        if seconds is not None:  # by time stamp: the window's start is a time
            seek_to_s = Fraction(seconds[0]).limit_denominator(10**6)
            seekable = seek and stream.time_base is not None
        else:  # by index: the frame index is the engine's time x fps, and only a stated
            # rate maps it to pts
            seek_to_s = Fraction(first) / rate if rate else Fraction(0)
            seekable = seek and rate == self.info.fps and stream.time_base is not None
        seeked = (
            seekable
            and seek_to_s >= SEEK_MIN_S
            and _seek(container, stream, origin_s + seek_to_s - SEEK_MARGIN_S)
        )
        counted_after_seek = False
        try:
            try:
                for packet in container.demux(stream):
                    if packet.dts is not None or packet.size:  # not the final flush packet
                        packets += 1
                        if packet.size == 0 or packet.is_discard:
                            skipped += 1
                    for frame in packet.decode():  # the flush packet drains delayed frames
                        time_s = None
                        if by_index:  # this pass's count so far: it seeks nowhere
                            time_s = origin_s + self.frames_decoded * period_s
                            length = period_s
                        elif frame.pts is not None and frame.time_base is not None:
                            length = (
                                frame.duration * frame.time_base if frame.duration else period_s
                            )
                            time_s = frame.pts * frame.time_base
                        if time_s is not None:
                            end = time_s + length
                            last_end_s = end if last_end_s is None else max(last_end_s, end)
                            if previous_s is not None:
                                self._note_interval(float(time_s - previous_s))
                            previous_s = time_s
                            self._note_time(time_s)
                        self.frames_decoded += 1
                        if seconds is not None and time_s is not None:
                            when_s = float(time_s - origin_s)
                            if seeked and not counted_after_seek:
                                if when_s > seconds[0] + STAMP_SLACK_S:
                                    raise _SeekMissedError  # the key frame lies after the start
                                # the index of the frames skipped by the seek, for messages
                                self.frames_read = round(when_s * float(rate or self.info.fps))
                                counted_after_seek = True
                            self.frames_read += 1
                            if when_s < seconds[0] - STAMP_SLACK_S:
                                continue  # before the window
                            if seconds[1] is not None and when_s >= seconds[1] - STAMP_SLACK_S:
                                return  # past the window: the rest is neither read nor checked
                            self.last_time_s = time_s - origin_s
                            yield self._to_rgb(frame)
                            continue
                        if seeked and self.frames_read <= first:
                            # after a seek, frame ``first`` is found by its time stamp
                            index = None if time_s is None else round((time_s - origin_s) * rate)
                            if index is None or index > first:
                                raise _SeekMissedError
                            self.frames_read = index + 1
                        else:
                            self.frames_read += 1
                        if self.frames_read > first:
                            if stop is not None and self.frames_read > stop:
                                return  # past the window: the rest is neither read nor checked
                            self.last_time_s = None if time_s is None else time_s - origin_s
                            yield self._to_rgb(frame)
            except av.error.FFmpegError:
                raise _truncated(path, self.frames_read) from None
            if seeked:  # packets before the seek were not counted: check the end time only
                self._check_played(stream, last_end_s, period_s)
            else:
                self._check_complete(stream, packets, skipped, last_end_s, period_s)
        finally:
            container.close()
            if container in self._open:
                self._open.remove(container)

    @property
    def mean_interval_s(self) -> float | None:
        """Mean time between consecutive frames of the last pass of a video file (s), once
        it read two frames with time stamps; None otherwise."""
        if self._timed is None or self._timed[2] < 2:
            return None
        first, last, count = self._timed
        return float(last - first) / (count - 1)

    def _note_time(self, time_s: Fraction) -> None:
        first = time_s if self._timed is None else self._timed[0]
        count = 1 if self._timed is None else self._timed[2] + 1
        self._timed = (first, time_s, count)

    def _note_interval(self, interval_s: float) -> None:
        if self.frame_interval_range_s is None:
            self.frame_interval_range_s = (interval_s, interval_s)
        else:
            low, high = self.frame_interval_range_s
            self.frame_interval_range_s = (min(low, interval_s), max(high, interval_s))

    def _check_complete(
        self,
        stream: av.video.stream.VideoStream,
        packets: int,
        skipped: int,
        last_end_s: Fraction | None,
        period_s: Fraction,
    ) -> None:
        """Raise InputError when the stream ended before what the container states."""
        path = str(self.path)
        if self.frames_read == 0:
            raise InputError(f"input file '{path}' has no decodable frames: re-export it.")
        stated = stream.frames if stream.frames and stream.frames > 0 else None
        if stated is not None:
            if packets < stated or self.frames_read + skipped < stated:
                raise _truncated(path, self.frames_read)
            return
        self._check_played(stream, last_end_s, period_s)

    def _check_played(
        self,
        stream: av.video.stream.VideoStream,
        last_end_s: Fraction | None,
        period_s: Fraction,
    ) -> None:
        """Raise InputError when the last frame ends before the stream's stated duration."""
        path = str(self.path)
        duration_s = self.info.stream_duration_s
        if duration_s is None or last_end_s is None:
            return
        start_s = Fraction(0)
        if stream.start_time is not None and stream.time_base is not None:
            start_s = stream.start_time * stream.time_base
        played_s = float(last_end_s - start_s)
        # Half a frame, plus 2 ms for Matroska's millisecond timestamps.
        least_s = duration_s - float(period_s) / 2 - 0.002
        # FFmpeg's Matroska DURATION tag is the stream's end time, counted from 0 s, not
        # its length: a stream that starts at 0.1 s and plays 0.99 s states 1.09 s
        if played_s < least_s and float(last_end_s) < least_s:
            raise _truncated(path, self.frames_read)
