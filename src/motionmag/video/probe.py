"""What a video is before any frame is decoded: size, exact frame rate, frame count, audio.

What matters here:

- The frame rate is an exact ``Fraction`` (NTSC 30000/1001 stays 30000/1001), because the
  temporal band-pass filters are designed in Hz from it and the writer stamps it back onto
  the output. Containers that store the rate as a rounded frame duration (Matroska keeps
  nanoseconds) are snapped back to the nearest fraction with a denominator of at most 1001
  when that is within 1e-6 of what the container says.
- ``frame_count`` is what the container states and ``None`` when it states nothing (Matroska
  does not); it is never guessed from the duration. ``stream_duration_s`` carries the
  video stream's own duration where the container gives one, so the reader can still tell a
  truncated Matroska file from a complete one.
- A folder of ``.png``/``.jpg``/``.tif`` frames (8 or 16 bits) is a video too: frames
  sorted by name in natural order (``frame_2`` before ``frame_10``), all of one size, 30
  fps unless ``fps`` is given.
- Every problem with the input is an ``InputError`` whose message is one sentence saying what
  is wrong and what to do; probing never modifies the input.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av

from motionmag.errors import InputError, UsageError
from motionmag.video.gif_blocks import gif_blocks

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
DEFAULT_FOLDER_FPS = Fraction(30)
#: rates this close are one (ours: 2997/100 and 30000/1001 fps, 1e-6 apart, are both
#: "29.97"; 30 and 29.97, 1e-3 apart, are not: a frame a second shifts the frequency)
RATE_TOLERANCE = 1e-5


@dataclass(frozen=True)
class VideoInfo:
    """Stream properties of a video file or a frame folder.

    ``fps`` is exact; ``frame_count`` is ``None`` when the container does not state it;
    ``stream_duration_s`` is the video stream's duration in seconds when the container
    states one (``None`` otherwise, and always ``None`` for frame folders).

    ``stated_fps``: the rate a video file states (None for frame folders and files that
    state none), kept when ``probe(fps=...)`` overrides ``fps``.

    ``quarter_turns``: how a player turns the stored picture to show it (a phone's
    orientation, FFmpeg's display matrix; a frame folder's first frame's EXIF
    orientation), as ``np.rot90``'s ``k`` (1: 90 degrees counterclockwise). ``width`` and
    ``height`` are the upright picture's, as the reader gives it; ``coded_size`` is the
    stored one.

    ``sample_aspect_ratio``: the width of one pixel over its height as a player shows it
    (anamorphic video: 4:3 for DV widescreen, 2:1 for some cinema scans; 1 for square
    pixels, the usual case and the default), of the upright picture. The writer stamps it
    back onto an .mp4 so the output is shown as wide as the input.

    ``has_alpha``: the frames carry a transparency channel (an RGBA PNG, ProRes 4444,
    a QuickTime Animation or FFV1 clip with alpha); the reader drops it (frames are RGB).
    """

    path: str
    width: int
    height: int
    fps: Fraction
    frame_count: int | None
    has_audio: bool
    codec: str
    stream_duration_s: float | None = None
    quarter_turns: int = 0
    stated_fps: Fraction | None = None  # the file's own rate, whatever ``fps`` overrides
    sample_aspect_ratio: Fraction = Fraction(1)
    has_alpha: bool = False

    @property
    def coded_size(self) -> tuple[int, int]:
        """(W, H) px of the stored frames, before the display rotation."""
        if self.quarter_turns % 2:
            return self.height, self.width
        return self.width, self.height

    @property
    def duration_s(self) -> float | None:
        """Duration in seconds: frame_count / fps, else the stream's stated duration."""
        if self.frame_count is not None:
            return float(self.frame_count / self.fps)
        return self.stream_duration_s

    @property
    def expected_frames(self) -> int | None:
        """The stated frame count, else an estimate from the duration (for progress bars)."""
        if self.frame_count is not None:
            return self.frame_count
        if self.stream_duration_s is not None:
            return round(self.stream_duration_s * float(self.fps))
        return None

    @property
    def is_folder(self) -> bool:
        return os.path.isdir(self.path)


def main_video_stream(container: av.container.InputContainer):
    """The video stream a player shows: the first that is not an attached picture (the
    cover art of a music video or a phone's thumbnail track), else the first."""
    streams = list(container.streams.video)
    for stream in streams:
        if av.stream.Disposition.attached_pic not in stream.disposition:
            return stream
    return streams[0]


def to_fraction_fps(fps: Fraction | float | int | str) -> Fraction:
    """An exact, positive frame rate from a user value (29.97002997... becomes 30000/1001)."""
    try:
        if isinstance(fps, Fraction):
            value = fps
        elif isinstance(fps, int):
            value = Fraction(fps)
        else:
            as_float = float(fps)
            if not math.isfinite(as_float):
                raise ValueError
            value = snap_rate(Fraction(as_float).limit_denominator(1_000_000))
    except (TypeError, ValueError, ZeroDivisionError):
        raise UsageError(
            f"frame rate {fps!r} is not a number: give fps as e.g. 30 or 29.97."
        ) from None
    if value <= 0 and float(fps) > 0:  # below a millionth of a frame a second
        raise UsageError(f"frame rate {fps!r} is too small to use: give fps as e.g. 30 or 29.97.")
    if value <= 0:
        raise UsageError(f"frame rate {fps!r} is not positive: give fps as e.g. 30 or 29.97.")
    return value


def snap_rate(rate: Fraction) -> Fraction:
    """Snap a rate with a large denominator to the nearest p/q (q <= 1001) within 1e-6."""
    if rate.denominator <= 1001:
        return rate
    near = rate.limit_denominator(1001)
    if abs(near - rate) <= rate * Fraction(1, 1_000_000):
        return near
    return rate


def natural_key(name: str) -> list[object]:
    """Sort key that orders 'frame_2' before 'frame_10'."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def list_frame_files(folder: Path) -> list[Path]:
    """Image files of a frame folder in natural name order (hidden files skipped); names
    that tie there ('x_1' and 'x_01', 'Z' and 'z') by their plain order, not the file
    system's listing order, which differs between copies."""
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    ]
    return sorted(files, key=lambda p: (natural_key(p.name), p.name))


#: Pillow modes with a transparency channel
ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")


@contextlib.contextmanager
def open_frame_image(path: Path) -> Iterator:
    """A frame file opened with Pillow from a file handle, not its name. From a name,
    Pillow 13 memory-maps an uncompressed TIFF and lays the pixels out in the turned size
    before it turns them, so an L, P, RGBA, CMYK or 16-bit grey TIFF with a quarter-turn
    Orientation tag (5-8) comes out scrambled; a handle takes the plain decoder."""
    from PIL import Image

    with open(path, "rb") as handle, Image.open(handle) as image:
        yield image


def image_has_alpha(image) -> bool:
    """A Pillow image with a transparency channel, or a palette/grey image with a
    transparent colour (``info["transparency"]``)."""
    return image.mode in ALPHA_MODES or "transparency" in image.info


#: EXIF Orientation values -> ``np.rot90``'s ``k`` of the turn a viewer shows (3: upside
#: down, 6: turn clockwise, 8: counterclockwise; the mirrored 2, 4, 5, 7 are not turns)
EXIF_ORIENTATION, EXIF_QUARTER_TURNS = 0x0112, {3: 2, 6: 3, 8: 1}


def exif_orientation(image) -> int:
    """A Pillow image's EXIF Orientation (1-8; 1, upright, when it has none): a phone's
    photo is stored as the sensor saw it and shown turned by viewers. A PNG's is read
    only from an eXIf chunk ahead of its pixels, so probing a folder decodes no frame."""
    from PIL import Image

    if image.format == "TIFF":  # Pillow's TIFF loader turns the picture itself
        return 1
    try:
        if image.format == "PNG":  # Pillow's getexif() decodes a whole PNG to look for it
            raw = image.info.get("exif")  # an eXIf chunk before the pixels (PNG 1.5)
            if not raw:
                return 1
            exif = Image.Exif()
            exif.load(raw)
        else:  # JPEG, WebP: in the header
            exif = image.getexif()
        value = int(exif.get(EXIF_ORIENTATION, 1))
    except (ValueError, TypeError, OSError, SyntaxError):
        return 1
    return value if 1 <= value <= 8 else 1


def upright_size(image, orientation: int) -> tuple[int, int]:
    """(W, H) px of a Pillow image as a viewer shows it, its EXIF ``orientation``
    (:func:`exif_orientation`) applied."""
    width, height = image.size
    return (height, width) if orientation in (5, 6, 7, 8) else (width, height)


def format_has_alpha(pix_fmt: str | None) -> bool:
    """An FFmpeg pixel format with an alpha component (yuva420p, rgba, gbrap, ya8, ...)."""
    if not pix_fmt:
        return False
    try:
        return any(c.is_alpha for c in av.VideoFormat(pix_fmt).components)
    except (ValueError, av.error.FFmpegError):
        return False


def _probe_folder(folder: Path, fps: float | None) -> VideoInfo:
    from PIL import Image, UnidentifiedImageError

    files = list_frame_files(folder)
    if not files:
        raise InputError(
            f"input folder '{folder}' holds no .png, .jpg or .tif frames: point to a video file "
            "or a folder of frames."
        )
    size: tuple[int, int] | None = None
    has_alpha, turns = False, 0
    for file in files:  # headers only: Pillow opens lazily
        try:
            with Image.open(file) as image:
                orientation = exif_orientation(image)
                this_size = upright_size(image, orientation)  # the reader turns it so
                if size is None:
                    has_alpha = image_has_alpha(image)
                    turns = EXIF_QUARTER_TURNS.get(orientation, 0)
        except (OSError, UnidentifiedImageError):
            raise InputError(
                f"frame '{file}' is not a readable image: replace or remove it."
            ) from None
        if size is None:
            size = this_size
        elif this_size != size:
            raise InputError(
                f"frame '{file.name}' is {this_size[0]}x{this_size[1]} but the first frame is "
                f"{size[0]}x{size[1]}: all frames in '{folder}' must have the same size."
            )
    assert size is not None
    return VideoInfo(
        path=str(folder),
        width=size[0],
        height=size[1],
        fps=DEFAULT_FOLDER_FPS if fps is None else to_fraction_fps(fps),
        frame_count=len(files),
        has_audio=False,
        codec=files[0].suffix.lower().lstrip(".").replace("jpeg", "jpg"),
        has_alpha=has_alpha,
        quarter_turns=turns,
    )


#: FFmpeg's raw elementary-stream formats: they carry no time stamps, so FFmpeg times
#: them at its 25 fps default (the average rate), while the rate the encoder wrote into
#: the stream (H.264's VUI timing) is the guessed one
RAW_STREAM_FORMATS = frozenset({"h264", "hevc", "m4v", "mpegvideo"})


def stream_rate(stream: av.video.stream.VideoStream) -> Fraction | None:
    """The exact frame rate a video stream states (average, then guessed, then base; a
    raw elementary stream's guessed rate first: a raw 40 fps H.264 file read as 25)."""
    rates = [stream.average_rate, stream.guessed_rate, stream.base_rate]
    if stream.container.format.name in RAW_STREAM_FORMATS:
        rates.insert(0, stream.guessed_rate)
    for rate in rates:
        if rate is not None and rate > 0:
            return snap_rate(Fraction(rate.numerator, rate.denominator))
    return None


def _parse_hms(text: str) -> float | None:
    """'00:00:10.033000000' (Matroska DURATION tag) in seconds."""
    match = re.fullmatch(r"\s*(\d+):(\d+):(\d+(?:\.\d+)?)\s*", text)
    if not match:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def stream_duration_s(container: av.container.InputContainer, stream) -> float | None:
    """Duration of the video stream alone in seconds, where the container states it."""
    if stream.duration is not None and stream.time_base is not None and stream.duration > 0:
        return float(stream.duration * stream.time_base)
    for key, value in stream.metadata.items():
        if key.upper() == "DURATION":
            parsed = _parse_hms(value)
            if parsed is not None and parsed > 0:
                return parsed
    if len(container.streams) == 1 and container.duration:
        return container.duration / av.time_base
    return None


def open_input(path: Path) -> av.container.InputContainer:
    """Open a media file for reading, as an InputError when FFmpeg cannot."""
    try:
        return av.open(str(path), mode="r")
    except av.error.FFmpegError:
        raise InputError(
            f"input file '{path}' is not a video FFmpeg can read: check that it is a complete "
            "video file (mp4, mkv, avi, mov, ...)."
        ) from None


def _first_frame(container: av.container.InputContainer) -> av.VideoFrame | None:
    """The first decoded frame (None when none decodes): the stream's side data (its
    rotation) reaches PyAV only through decoded frames, and a GIF's transparency only
    shows in them."""
    try:
        return next(container.decode(video=0), None)
    except av.error.FFmpegError:
        return None


def _shows_transparency(first: av.VideoFrame | None) -> bool:
    """Whether a GIF's first decoded frame has a see-through pixel. Animated GIFs mark
    unchanged pixels transparent to store only what changed, and the frames FFmpeg
    composes from them are opaque; only decoding tells (asked only of a GIF whose blocks
    set the transparent colour flag: ``gif_blocks.gif_blocks``). The first frame only:
    later ones are drawn over it, and decoding all of them cost a second a probe for 300
    frames of 320x240 (review, stop 59)."""
    return first is not None and first.to_ndarray(format="rgba")[..., 3].min() < 255


def _quarter_turns(first: av.VideoFrame | None) -> int:
    """The display rotation of the first frame as ``np.rot90``'s ``k`` (FFmpeg's angle is
    counterclockwise degrees; a phone held upright stores -90: k = 3, a clockwise turn);
    0 when none decodes."""
    return 0 if first is None else round(float(getattr(first, "rotation", 0) or 0) / 90.0) % 4


def pixel_aspect(stream: av.video.stream.VideoStream, quarter_turns: int) -> Fraction:
    """The stream's sample (pixel) aspect ratio of the upright picture; 1 when unstated."""
    for owner in (stream, stream.codec_context):
        sar = getattr(owner, "sample_aspect_ratio", None)
        if sar is not None and sar.numerator > 0 and sar.denominator > 0:
            ratio = Fraction(sar.numerator, sar.denominator)
            return 1 / ratio if quarter_turns % 2 else ratio
    return Fraction(1)


def is_animated_webp(path: Path) -> bool:
    """A WebP file whose extended header (VP8X) has the animation flag: FFmpeg's WebP
    decoder reads still images only and finds no frame size in such a file."""
    try:
        with open(path, "rb") as file:
            head = file.read(21)
    except OSError:
        return False
    return (
        len(head) == 21
        and head[:4] == b"RIFF"
        and head[8:16] == b"WEBPVP8X"
        and bool(head[20] & 0x02)
    )


def check_exists(path: str | os.PathLike) -> Path:
    p = Path(path)
    if not p.exists():
        text = os.fspath(path)
        if re.match(r"[A-Za-z][A-Za-z0-9+.-]+:/", text):  # a URL (as a Path: 'http:/...')
            raise InputError(
                f"input '{text}' is a network address, not a file: read streams with "
                "`motionmag live`, or download the file first."
            )
        raise InputError(f"input file '{p}' does not exist: check the path.")
    return p


def probe(path: str | os.PathLike, fps: float | None = None) -> VideoInfo:
    """Describe a video file or a frame folder; ``fps`` overrides the stated frame rate.

    Raises ``InputError`` for a missing path, a file that is not a video, a file without a
    video stream, an empty folder, or a folder with frames of different sizes.
    """
    p = check_exists(path)
    if p.is_dir():
        return _probe_folder(p, fps)
    with open_input(p) as container:
        if not container.streams.video:
            raise InputError(
                f"input file '{p}' has no video stream: give a file that contains video."
            )
        stream = main_video_stream(container)
        codec = stream.codec_context
        if not stream.width or not stream.height:
            if is_animated_webp(p):
                raise InputError(
                    f"input file '{p}' is an animated WebP, which FFmpeg cannot decode: save "
                    "its frames into a folder (e.g. magick IN.webp -coalesce frames/%04d.png) "
                    "and give the folder with --fps."
                )
            raise InputError(
                f"input file '{p}' does not state its frame size: re-export it with FFmpeg."
            )
        stated = stream_rate(stream)
        if fps is None and stated is None:
            raise InputError(
                f"input file '{p}' does not state its frame rate: pass --fps with the rate."
            )
        rate = to_fraction_fps(fps) if fps is not None else stated
        frames = stream.frames if stream.frames and stream.frames > 0 else None
        if container.format.name == "image2" or container.format.name.endswith("_pipe"):
            frames = 1  # one still image (FFmpeg's image demuxers): not a video
        has_alpha = format_has_alpha(codec.pix_fmt)
        first = _first_frame(container)
        if container.format.name == "gif":  # it states no length; bgra, transparent or not
            cut, flagged = gif_blocks(p)
            if cut:
                raise InputError(
                    f"input file '{p}' is truncated (it ends inside a frame): re-export it "
                    "or copy it again."
                )
            has_alpha = flagged and _shows_transparency(first)
        turns = _quarter_turns(first)
        width, height = (
            (stream.height, stream.width) if turns % 2 else (stream.width, stream.height)
        )
        return VideoInfo(
            path=str(p),
            width=int(width),
            height=int(height),
            fps=rate,
            frame_count=frames,
            has_audio=bool(container.streams.audio),
            codec=codec.name,
            stream_duration_s=stream_duration_s(container, stream),
            quarter_turns=turns,
            stated_fps=stated,
            sample_aspect_ratio=pixel_aspect(stream, turns),
            has_alpha=has_alpha,
        )
