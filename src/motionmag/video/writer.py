"""Writing frames to .mp4, .mkv or a PNG folder, with no partial output ever left behind.

What matters here:

- **Container by extension** (``output_kind``): ``.mp4`` is H.264 (libx264, crf <= 18, visually
  lossless), ``.mkv`` is FFV1 in RGB (``bgr0``, bit-exact), a path ending in ``/`` (or an
  existing folder) is a folder of lossless ``frame_000000.png`` files. Anything else is a
  ``UsageError`` naming these three.
- **Problems are found before any work**: a missing output folder, an existing output without
  ``overwrite``, an unsupported extension, an output that is the input itself and a folder
  that holds anything but frames are refused at construction
  (``output_paths.check_output_path``).
- **Atomic**: frames go to a hidden temporary file or folder beside the output
  (``.name.partial-XXXX.mp4``) that ``close()`` renames onto the output with ``os.replace``;
  ``abort()``, or an exception inside ``with VideoWriter(...)``, deletes it. Closing with no
  frame written is a ``UsageError`` and leaves nothing either.
- **Exact timing**: the stream time base is 1/(``TICKS_PER_FRAME`` x fps) as an exact
  fraction and frame *i* has pts *i* x ``TICKS_PER_FRAME``, so reading back gives the same
  frame count and the same fps (30000/1001 included). ``write(frame, time_s)`` stamps a
  frame with the input frame's own time instead (``magnify`` does), so a video whose
  frames are unevenly spaced (variable rate, dropped frames) or spaced at another rate
  than it states keeps its timing, and its sound stays in step; the ticks keep such times
  to 1 % of a frame.
- **Odd sizes**: H.264 4:2:0 cannot store an odd width or height. Rather than change the size
  the user sees, an odd-sized .mp4 is encoded as yuv444p (H.264 High 4:4:4 Predictive), which
  keeps the size exact but which some players (browsers, QuickTime) do not play; a note says
  so. Even sizes use yuv420p. .mkv and PNG store any size as is.
- **Audio** (``audio_from``) is copied packet by packet, never re-encoded and never buffered:
  the video is written to a first temporary file, then video and audio packets are remuxed in
  time order into a second temporary file, which is renamed onto the output. Audio past the
  end of the video is dropped. A codec the container cannot hold (e.g. PCM in .mp4) and PNG
  folders skip the audio with a note in ``notes``.
- **Pixel aspect ratio** (``sample_aspect_ratio``, anamorphic input): stamped onto an .mp4
  (H.264 and the container), so players show it as wide as the input. Our FFV1 .mkv and
  PNG frames cannot carry it through PyAV (tried: codec context, stream and remux, FFmpeg
  7's Matroska muxer writes no display size for them), so they get a note saying how much
  narrower or wider than the input a player will show them.
- Memory is O(1) in the number of frames: each frame is encoded as it arrives.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import io
import os
import shutil
import statistics
import tempfile
from collections import deque
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from types import TracebackType

import av
import numpy as np

from motionmag.errors import InputError, UsageError
from motionmag.output_paths import check_output_path
from motionmag.video.probe import main_video_stream, stream_duration_s, to_fraction_fps

SUPPORTED_OUTPUTS = ".mp4 (H.264), .mkv (lossless FFV1) or a folder ending in '/' (PNG frames)"

# Audio codecs the mp4 muxer accepts as stream copy; anything else goes to .mkv only.
MP4_AUDIO_CODECS = frozenset(
    {"aac", "mp3", "mp2", "opus", "alac", "ac3", "eac3", "flac", "dts", "truehd"}
)

X264_PRESET = "fast"  # 640x360: ~250 fps on 2 cores, luma PSNR ~41.5 dB at crf 18
#: x264 presets a caller may pick (``motionmag live`` uses "veryfast": see live/sinks.py)
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")
PNG_COMPRESS_LEVEL = 1  # lossless at any level; 1 is ~3x faster to write than the default 6
#: time-base ticks per frame period (ours): times given to ``write`` keep 1 % of a frame
TICKS_PER_FRAME = 100
#: a stamped time this close to a whole number of frame periods is put on it, s (ours:
#: Matroska rounds time stamps to 1 ms, so a 30 fps .mkv says 0.033, 0.067, 0.1, ...)
SNAP_S = Fraction(1, 1000)
#: a packet's duration is the median of this many latest intervals between frames, so a
#: lone gap (frames dropped, a stream that stalled for 10 s) is not taken for the frames'
#: length: a Matroska file ran 9.6 s past its last frame (ours)
DURATION_INTERVALS = 9
#: the slowest rate a video file is written at, fps: one frame per 2.8 hours (below it the
#: mp4 muxer fails on the time base; ours, with margin: 1e-5 failed, 3e-5 worked)
MIN_VIDEO_FPS = Fraction(1, 10_000)
#: the fastest .mp4 rate, fps: its time base 1/(100 fps) must fit a 32-bit integer
MAX_MP4_FPS = 10_000_000
#: the fastest .mkv rate, fps: Matroska stamps frames in whole milliseconds (a 2000 fps
#: .mkv read back at 1800 fps)
MAX_MKV_FPS = 1000


def _check_rate(fps: Fraction, kind: str) -> None:
    """Refuse a rate the output file cannot stamp (see ``MIN_VIDEO_FPS``, ``MAX_*_FPS``)."""
    if kind == "png":
        return  # a frame folder keeps no time
    top = MAX_MP4_FPS if kind == "mp4" else MAX_MKV_FPS
    if fps < MIN_VIDEO_FPS:
        raise UsageError(
            f"a frame rate of {float(fps):g} fps is too slow to write into an .{kind} file "
            f"(the slowest is {float(MIN_VIDEO_FPS):g} fps): give a faster --fps, or write a "
            "PNG folder (a path ending in '/')."
        )
    if fps > top:
        where = "write .mp4 or" if kind == "mkv" else "give a slower --fps, or write"
        raise UsageError(
            f"a frame rate of {float(fps):g} fps is too fast for an .{kind} file (at most "
            f"{top:g} fps): {where} a PNG folder (a path ending in '/')."
        )
    base = 1 / (fps * TICKS_PER_FRAME)  # the stream's time base: two 32-bit integers
    if max(base.numerator, base.denominator) >= 2**31:
        raise UsageError(
            f"a frame rate of {float(fps)!r} fps cannot be stamped exactly in an .{kind} "
            f"file (its time base would overflow 32 bits): round it, e.g. to "
            f"{round(float(fps))} fps, or write a PNG folder (a path ending in '/')."
        )


def output_kind(path: str | os.PathLike) -> str:
    """'mp4', 'mkv' or 'png' (a folder) for an output path; UsageError for anything else."""
    text = os.fspath(path)
    suffix = os.path.splitext(text)[1].lower()
    if text.endswith(("/", os.sep)):
        return "png"
    if os.path.isdir(text):
        if suffix in (".mp4", ".mkv"):  # a video's name, but a folder: which was meant?
            raise UsageError(
                f"output '{text}' is a folder: give another file name, or '{text}/' to "
                "write PNG frames into it."
            )
        return "png"
    if suffix == ".mp4":
        return "mp4"
    if suffix == ".mkv":
        return "mkv"
    what = f"extension '{suffix}'" if suffix else "no extension"
    raise UsageError(
        f"output '{text}' has {what}, which is not supported: use {SUPPORTED_OUTPUTS}."
    )


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _give_default_mode(path: Path) -> None:
    """mkstemp/mkdtemp create private (0600/0700) entries; outputs get the usual umask mode."""
    base = 0o777 if path.is_dir() else 0o666
    with contextlib.suppress(OSError):
        os.chmod(path, base & ~_current_umask())


#: the largest width or height libx264 opens an encoder for (px; measured with PyAV's
#: FFmpeg: 16384 encodes, 16386 fails in avcodec_open2)
X264_MAX_SIDE_PX = 16384
#: the tallest frame 1 px wide FFmpeg's FFV1 encoder opens for (px; measured with PyAV's
#: FFmpeg, any slice count: 1x288 opens, taller fails in avcodec_open2; a frame 1 px high
#: opens at any width)
FFV1_MAX_ONE_PX_WIDE_HEIGHT = 288


class VideoWriter:
    """Encode uint8 RGB frames (height, width, 3) to ``path``; see the module docstring.

    ``fps`` is kept exactly; ``crf`` (H.264 only, 0..18) trades size for quality;
    ``preset`` is x264's speed/size trade-off (H.264 only; default :data:`X264_PRESET`);
    ``codec_threads`` caps the encoder's threads (default: FFmpeg's choice, about 1.5 per
    core for x264; ``motionmag live`` uses 1 at small sizes, see live/sinks.py);
    ``audio_from`` names the file whose audio is copied in, from ``audio_start_s`` seconds
    into it (a video cut to start later); ``sample_aspect_ratio`` is the width over the
    height of one pixel as shown (the input's ``VideoInfo.sample_aspect_ratio``; default
    square). Use as a context manager: a
    normal exit calls ``close()`` (rename into place), an exception calls ``abort()``.
    """

    def __init__(
        self,
        path: str | os.PathLike,
        fps: Fraction | float,
        width: int,
        height: int,
        *,
        audio_from: str | os.PathLike | None = None,
        audio_start_s: float = 0.0,
        crf: int = 18,
        overwrite: bool = False,
        preset: str = X264_PRESET,
        codec_threads: int | None = None,
        sample_aspect_ratio: Fraction | float | None = None,
    ) -> None:
        self.kind = output_kind(path)
        text = os.fspath(path)
        self.path = Path(text.rstrip("/" + os.sep) or text)
        self.fps = to_fraction_fps(fps)
        _check_rate(self.fps, self.kind)
        if int(width) != width or int(height) != height or width < 1 or height < 1:
            raise UsageError(f"frame size {width}x{height} is not valid: give positive integers.")
        self.width, self.height = int(width), int(height)
        if self.kind == "mp4" and max(self.width, self.height) > X264_MAX_SIDE_PX:
            raise UsageError(
                f"an .mp4 (H.264) frame is at most {X264_MAX_SIDE_PX} px on a side, and this "
                f"output would be {self.width}x{self.height}: write .mkv or a PNG folder, or "
                "make it smaller with --resize."
            )
        if self.kind == "mkv" and self.width == 1 and self.height > FFV1_MAX_ONE_PX_WIDE_HEIGHT:
            raise UsageError(
                f"an .mkv (FFV1) frame 1 px wide is at most {FFV1_MAX_ONE_PX_WIDE_HEIGHT} px high, "
                f"and this output would be 1x{self.height}: write .mp4 or a PNG folder."
            )
        if not 0 <= int(crf) <= 18:
            raise UsageError(f"crf {crf} is outside 0..18: use 18 (default) or lower for quality.")
        self.crf = int(crf)
        if preset not in X264_PRESETS:
            raise UsageError(
                f"x264 preset '{preset}' is unknown: use one of {', '.join(X264_PRESETS)}."
            )
        self.preset = preset
        if codec_threads is not None and (int(codec_threads) != codec_threads or codec_threads < 1):
            raise UsageError(f"codec_threads {codec_threads} is not a whole number >= 1.")
        self.codec_threads = codec_threads
        self.sample_aspect_ratio = _aspect(sample_aspect_ratio)
        self.frames_written = 0
        self._last_pts: int | None = None
        # the last frame's duration: the median of the recent intervals between frames
        self._period_ticks = TICKS_PER_FRAME
        self._intervals: deque[int] = deque(maxlen=DURATION_INTERVALS)
        # the first packet's decode and presentation times, and the latest end of a frame
        # (pts + duration), for the .mp4 track's length (:meth:`_cover_last_frame`)
        self._first_packet: tuple[int, int] | None = None
        self._pts_end = 0
        self._time_origin_s: Fraction | None = None  # the first stamped frame's time
        self.notes: list[str] = []
        #: how long the copied audio ran past the last frame (s), cut there; 0 when it did not
        self.audio_past_end_s = 0.0
        if self.sample_aspect_ratio != 1 and self.kind != "mp4":
            self.notes.append(_square_pixel_note(self.sample_aspect_ratio, self.kind))
        self._closed = False

        folder = self.path.parent
        self.audio_from = Path(audio_from) if audio_from is not None else None
        self.audio_start_s = float(audio_start_s)
        if self.audio_from is not None and not self.audio_from.exists():
            raise InputError(f"input file '{self.audio_from}' does not exist: check the path.")
        check_output_path(
            text, overwrite=overwrite, inputs=(self.audio_from,), folder_output=self.kind == "png"
        )

        self._container: av.container.OutputContainer | None = None
        self._stream = None
        self._tmp: Path
        if self.kind == "png":
            self._tmp = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.partial-", dir=folder))
            if self.audio_from is not None and _has_audio(self.audio_from):
                self.notes.append(
                    "audio not copied: a PNG folder cannot hold audio; use .mp4 or .mkv"
                )
        else:
            self._tmp = self._temp_file(".partial-")
            try:
                self._open_video()
            except BaseException:
                self._tmp.unlink(missing_ok=True)
                raise

    # -- setup ---------------------------------------------------------------------------

    def _temp_file(self, tag: str) -> Path:
        fd, name = tempfile.mkstemp(
            prefix=f".{self.path.stem}{tag}", suffix=self.path.suffix.lower(), dir=self.path.parent
        )
        os.close(fd)
        return Path(name)

    def _open_video(self) -> None:
        if self.kind == "mp4":  # the index goes up front so players can start before the end
            container = av.open(
                str(self._tmp), mode="w", format="mp4", options={"movflags": "+faststart"}
            )
        else:
            container = av.open(str(self._tmp), mode="w", format="matroska")
        self._container = container
        if self.kind == "mp4":
            stream = container.add_stream("libx264", rate=self.fps)
            odd = self.width % 2 or self.height % 2
            stream.pix_fmt = "yuv444p" if odd else "yuv420p"
            stream.options = {"crf": str(self.crf), "preset": self.preset}
            # swscale converts RGB with BT.601 limited range; say so, so players agree.
            cc = stream.codec_context
            cc.colorspace = 6  # AVCOL_SPC_SMPTE170M
            cc.color_primaries = 6  # AVCOL_PRI_SMPTE170M
            cc.color_trc = 6  # AVCOL_TRC_SMPTE170M
            cc.color_range = 1  # AVCOL_RANGE_MPEG
            if self.sample_aspect_ratio != 1:
                cc.sample_aspect_ratio = self.sample_aspect_ratio
            if odd:
                self.notes.append(
                    f"odd size {self.width}x{self.height} stored as H.264 4:4:4 to keep it exact; "
                    "some players (browsers, QuickTime) cannot play it, use an even size or .mkv"
                )
        else:
            stream = container.add_stream("ffv1", rate=self.fps)
            stream.pix_fmt = "bgr0"
            # level 3 with slice CRCs: every frame is a checked keyframe (truncation shows).
            # FFmpeg cannot cut a frame 1 px wide or high into 4 slices: one slice there
            slices = "4" if min(self.width, self.height) >= 2 else "1"
            stream.options = {"level": "3", "slicecrc": "1", "slices": slices, "g": "1"}
            stream.thread_type = "SLICE"
        if self.codec_threads is not None:
            stream.codec_context.thread_count = int(self.codec_threads)
        stream.width = self.width
        stream.height = self.height
        stream.time_base = self._time_base
        stream.codec_context.time_base = self._time_base
        self._stream = stream

    @property
    def _time_base(self) -> Fraction:
        return 1 / (self.fps * TICKS_PER_FRAME)

    @property
    def duration_s(self) -> Fraction:
        """Seconds from the first frame written to the end of the last (as long as the
        median of the latest intervals, :data:`DURATION_INTERVALS`, or one frame period)."""
        if self._last_pts is None:
            return Fraction(0)
        return (self._last_pts + self._period_ticks) * self._time_base

    def _next_pts(self, time_s: float | Fraction | None) -> int:
        """The pts of the next frame: one period after the last, or ``time_s`` (s, measured
        from the first stamped frame) rounded to a tick, kept after the last frame's. A
        time in whole ms within :data:`SNAP_S` (and a quarter period) of a whole number of
        periods is put there, so the ms time stamps of a constant-rate .mkv give an exact
        rate; finer times are kept (a variable-rate .mp4's moved by up to 0.68 ms)."""
        if time_s is None:
            pts = 0 if self._last_pts is None else self._last_pts + TICKS_PER_FRAME
        else:
            time = Fraction(time_s)
            if self._time_origin_s is None:
                self._time_origin_s = time - (self.duration_s if self._last_pts is not None else 0)
            periods = (time - self._time_origin_s) * self.fps
            nearest = round(periods)
            ms = time * 1000  # a Matroska time is whole ms (a float of one, within 1e-6)
            whole_ms = abs(ms - round(ms)) < Fraction(1, 1_000_000)
            if whole_ms and abs(periods - nearest) <= min(SNAP_S * self.fps, Fraction(1, 4)):
                periods = nearest  # the container's rounding, not a real offset; a finer
                # time (an .mp4's 1/90000 s) is kept as it is, a variable rate's included
            pts = round(periods * TICKS_PER_FRAME)
            if self._last_pts is not None:
                pts = max(pts, self._last_pts + 1)
                self._intervals.append(pts - self._last_pts)
                self._period_ticks = int(statistics.median_low(self._intervals))
        self._last_pts = pts
        return pts

    # -- writing -------------------------------------------------------------------------

    def write(self, frame: np.ndarray, time_s: float | Fraction | None = None) -> None:
        """Append one uint8 RGB frame of shape (height, width, 3), one frame period after
        the last, or at ``time_s``: the frame's time in the input (s from its first
        frame). Only differences count: the output starts at 0. When the first frame is
        stamped, the audio copied from ``audio_from`` starts at its time (``audio_start_s``
        then goes unused)."""
        if self._closed:
            raise UsageError("the video writer is already closed: open a new VideoWriter.")
        frame = np.asarray(frame)
        if frame.dtype != np.uint8 or frame.shape != (self.height, self.width, 3):
            raise UsageError(
                f"frame of shape {frame.shape} and type {frame.dtype} does not match the output: "
                f"give uint8 RGB frames of shape ({self.height}, {self.width}, 3)"
            )
        frame = np.ascontiguousarray(frame)
        if self.kind == "png":
            from PIL import Image

            name = self._tmp / f"frame_{self.frames_written:06d}.png"
            Image.fromarray(frame, mode="RGB").save(name, compress_level=PNG_COMPRESS_LEVEL)
        else:
            assert self._container is not None and self._stream is not None
            vf = av.VideoFrame.from_ndarray(frame, format="rgb24")
            vf.pts = self._next_pts(time_s)
            vf.duration = self._period_ticks
            vf.time_base = self._stream.codec_context.time_base
            self._mux(self._stream.encode(vf))
        self.frames_written += 1

    def _mux(self, packets: list[av.Packet], last: bool = False) -> None:
        """Mux encoded packets, each as long as the recent intervals between frames (their
        median): the containers take a packet's duration for the last frame's (Matroska:
        every frame's), which the encoders otherwise give one nominal period. ``last``:
        the encoder's final packets (see :meth:`_cover_last_frame`)."""
        assert self._container is not None
        for packet in packets:
            packet.duration = self._period_ticks
            if packet.pts is not None:
                if self._first_packet is None and packet.dts is not None:
                    self._first_packet = (packet.dts, packet.pts)
                self._pts_end = max(self._pts_end, packet.pts + packet.duration)
        if last and packets:
            self._cover_last_frame(packets[-1])
        for packet in packets:
            self._container.mux(packet)

    def _cover_last_frame(self, packet: av.Packet) -> None:
        """Lengthen the last packet in decode order so an .mp4 track reaches the end of its
        last frame. An .mp4 track is as long as its decode times plus the last packet's
        duration, and H.264's B-frames give frames decode times one or two frames before
        their presentation: after a gap (a stall of 9.6 s) the last decode times still
        lag by the gap, and the header said 2.48 s where the last frame shows at 12.04
        (players cut it). Matroska lasts to the latest presentation end on its own."""
        if self.kind != "mp4" or self._first_packet is None or packet.dts is None:
            return
        first_dts, first_pts = self._first_packet
        # the track starts at the first decode time, its presentation at the first pts
        length = packet.dts + packet.duration - first_dts
        wanted = self._pts_end - first_pts
        if wanted > length:
            packet.duration += wanted - length

    def close(self) -> None:
        """Finish encoding, copy the audio in, and rename the result onto the output."""
        if self._closed:
            return
        if self.frames_written == 0:
            self.abort()
            raise UsageError(
                f"no frames were written to '{self.path}': give at least one frame before closing."
            )
        try:
            if self.kind != "png":
                assert self._container is not None and self._stream is not None
                self._mux(self._stream.encode(None), last=True)
                self._container.close()
                self._container = None
                if self.audio_from is not None:
                    self._finish_file()
            self._replace_output()
        except BaseException:
            self.abort()
            raise
        self._closed = True

    def _finish_file(self) -> None:
        """Remux the video with the audio of ``audio_from`` when it has audio that fits."""
        audio = self._audio_source()
        if audio is None:
            return
        final = self._temp_file(".remux-")
        try:
            start_s = self.audio_start_s if self._time_origin_s is None else self._time_origin_s
            self.audio_past_end_s = _remux(
                self._tmp, audio, final, self.kind, start_s, self.duration_s
            )
        except BaseException:
            final.unlink(missing_ok=True)
            raise
        self._tmp.unlink(missing_ok=True)
        self._tmp = final

    def _audio_source(self) -> Path | None:
        """The audio_from path if it has an audio stream this container can hold, else None."""
        if self.audio_from is None or self.audio_from.is_dir():  # a frame folder has none
            return None
        try:
            with av.open(str(self.audio_from)) as source:
                if not source.streams.audio:
                    return None
                codec = source.streams.audio[0].codec_context.name
                tracks = len(source.streams.audio)
        except av.error.FFmpegError:
            self.notes.append(f"audio not copied: '{self.audio_from}' could not be opened")
            return None
        in_mkv = codec in matroska_codecs()
        if self.kind == "mp4" and codec not in MP4_AUDIO_CODECS:
            advice = "use .mkv" if in_mkv else "convert the audio (e.g. to AAC) to keep it"
            self.notes.append(
                f"audio not copied: the .mp4 container cannot hold {codec} audio; {advice}"
            )
            return None
        if self.kind == "mkv" and not in_mkv:
            self.notes.append(
                f"audio not copied: the .mkv container cannot hold {codec} audio; convert "
                "the audio (e.g. to FLAC or AAC) to keep it"
            )
            return None
        if tracks > 1:
            self.notes.append(f"the first of the input's {tracks} audio tracks is copied")
        return self.audio_from

    def _replace_output(self) -> None:
        _give_default_mode(self._tmp)
        target_is_dir = self.path.is_dir() and not self.path.is_symlink()
        if self.path.exists() and (target_is_dir or self._tmp.is_dir()):
            # os.replace cannot put a folder over a file or anything over a non-empty folder:
            # move the old output aside, put the new one in place, then delete the old one.
            old = Path(tempfile.mkdtemp(prefix=f".{self.path.name}.old-", dir=self.path.parent))
            os.replace(self.path, old / "x")
            os.replace(self._tmp, self.path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Drop everything written so far: no output and no temporary file remain."""
        if self._container is not None:
            with contextlib.suppress(Exception):
                self._container.close()
            self._container = None
        if self._tmp.is_dir():
            shutil.rmtree(self._tmp, ignore_errors=True)
        else:
            self._tmp.unlink(missing_ok=True)
        self._closed = True

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    def __del__(self) -> None:
        # An unclosed writer garbage-collected mid-way never leaves its temporary behind.
        if not getattr(self, "_closed", True) and hasattr(self, "_tmp"):
            with contextlib.suppress(Exception):
                self.abort()


@functools.cache
def matroska_codecs() -> frozenset[str]:
    """The codecs FFmpeg's Matroska muxer accepts (a stream of another, e.g. the
    mu-law audio of IP cameras, makes it fail when the stream is added)."""
    with av.open(io.BytesIO(), mode="w", format="matroska") as container:
        return frozenset(container.supported_codecs)


def _aspect(value: Fraction | float | None) -> Fraction:
    """A positive pixel aspect ratio as a fraction (denominator <= 10000); 1 for None."""
    if value is None:
        return Fraction(1)
    try:
        ratio = Fraction(value).limit_denominator(10_000)
    except (TypeError, ValueError, OverflowError):
        ratio = Fraction(0)
    if ratio <= 0:
        raise UsageError(
            f"sample_aspect_ratio {value!r} is not a positive number: give the width over the "
            "height of one pixel, e.g. 4/3 (1 for square pixels)"
        )
    return ratio


def _square_pixel_note(ratio: Fraction, kind: str) -> str:
    what = "a PNG folder" if kind == "png" else "the .mkv (FFV1) output"
    shown = 1 / float(ratio)  # the shown width over the input's, at the same height
    change, looks = (100 * (1 - shown), "narrower") if ratio > 1 else (100 * (shown - 1), "wider")
    return (
        f"the output's pixels are not square (aspect {ratio.numerator}:{ratio.denominator}) and "
        f"{what} cannot say so: players will show it {change:.0f} % {looks} than the input; "
        "write .mp4 to keep the shape"
    )


def _has_audio(path: Path) -> bool:
    if path.is_dir():
        return False
    try:
        with av.open(str(path)) as source:
            return bool(source.streams.audio)
    except av.error.FFmpegError:
        return False


#: audio packets stamped up to this long before the video's first frame are the decoder's
#: pre-roll, kept where the container can hide them (s; ours: AAC primes 1024 samples,
#: 21 ms at 48 kHz; Opus pre-skips up to 80 ms)
AUDIO_PREROLL_S = Fraction(1, 10)


def _packet_time(packet: av.Packet) -> Fraction:
    ts = packet.dts if packet.dts is not None else packet.pts
    return Fraction(ts or 0) * packet.time_base


def _packets(container: av.container.InputContainer, stream) -> Iterator[av.Packet]:
    for packet in container.demux(stream):
        if packet.size == 0 and packet.dts is None:
            continue  # the flush packet
        yield packet


def _remux(
    video_path: Path,
    audio_path: Path | None,
    out_path: Path,
    kind: str,
    audio_start_s: float = 0.0,
    video_duration_s: Fraction | None = None,
) -> float:
    """Copy the video packets and the audio packets of another file into one file, in time order.

    Packets are merged by decode time with a heap over two demuxers, so nothing is buffered
    beyond one packet per stream. Returns how far (s) the audio ran past the video's end,
    where it was cut (0 when it did not, or a length is unknown).
    """
    past_end_s = 0.0
    options = {"movflags": "+faststart"} if kind == "mp4" else {}
    fmt = "mp4" if kind == "mp4" else "matroska"
    with contextlib.ExitStack() as stack:
        vin = stack.enter_context(av.open(str(video_path)))
        out = stack.enter_context(av.open(str(out_path), mode="w", format=fmt, options=options))
        vstream = vin.streams.video[0]
        vout = out.add_stream_from_template(vstream)
        vout.time_base = vstream.time_base
        sources: list[tuple[Iterator[av.Packet], object, Fraction]] = [
            (_packets(vin, vstream), vout, Fraction(0))
        ]
        # audio past the video's end is dropped: the end is the written frames' duration
        # (Matroska stores no stream duration), else what the container states
        video_end_s = video_duration_s
        if video_end_s is None and vstream.duration is not None:
            video_end_s = Fraction(vstream.duration) * vstream.time_base
        if audio_path is not None:
            ain = stack.enter_context(av.open(str(audio_path)))
            astream = ain.streams.audio[0]
            aout = out.add_stream_from_template(astream)
            # Keep audio aligned to the source video's first frame, which becomes time 0.
            # (plus ``audio_start_s`` when the video was cut to start later)
            offset = Fraction(audio_start_s).limit_denominator(10**6)
            sv = main_video_stream(ain) if ain.streams.video else None
            if sv is not None and sv.start_time is not None:
                offset += Fraction(sv.start_time) * sv.time_base
            sources.append((_packets(ain, astream), aout, offset))
            length_s = stream_duration_s(ain, astream)  # Matroska: its DURATION tag
            if None not in (length_s, video_end_s, astream.time_base):
                begin_s = Fraction(astream.start_time or 0) * astream.time_base
                past_end_s = max(0.0, float(begin_s - offset - video_end_s) + length_s)

        heap: list[tuple[Fraction, int, av.Packet]] = []

        def push(index: int) -> None:
            iterator, _, offset = sources[index]
            for packet in iterator:
                time_s = _packet_time(packet) - offset
                if index > 0:
                    # audio before the video's first frame is dropped, except the decoder's
                    # pre-roll: the source's own priming when nothing was cut (AAC's packet
                    # stamped -21 ms, Opus's pre-skip), and in .mp4 (whose edit list hides
                    # it) the packets just before a --start cut; without it the first
                    # ~40 ms decode as noise. A cut .mkv drops them: negative stamps would
                    # make Matroska shift every stream
                    if time_s < (-AUDIO_PREROLL_S if offset == 0 or kind == "mp4" else 0):
                        continue
                    if video_end_s is not None and time_s >= video_end_s:
                        return  # audio past the end of the video is dropped
                heapq.heappush(heap, (time_s, index, packet))
                return

        for index in range(len(sources)):
            push(index)
        while heap:
            _, index, packet = heapq.heappop(heap)
            _, out_stream, offset = sources[index]
            if offset and index > 0:
                shift = round(offset / packet.time_base)
                if packet.pts is not None:
                    packet.pts -= shift
                if packet.dts is not None:
                    packet.dts -= shift
            packet.stream = out_stream
            out.mux(packet)
            push(index)
    return past_end_s
