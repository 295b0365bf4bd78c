"""Pictures made of videos: frames side by side with labels, and x-t / y-t slices.

What matters here:

- Everything is uint8 RGB ``(H, W, 3)`` in and out.
- A slice keeps one line of every frame (column ``x`` or row ``y``), so a slice of a video of
  T frames costs O(T x H) memory, never the video; ``slice_figure`` reads each video as a
  stream. In a y-t slice (fixed column ``x``) image rows are y and columns are time (frame
  index, left to right); in an x-t slice (fixed row ``y``) rows are time (top to bottom) and
  columns are x. A motion of v px/frame therefore shows as a line of slope v.
- Labels are small, in the top-left corner, white on a dark box so they read on any
  background and at any size, shrunk or shortened (keeping the factor at their end) where a
  panel is narrow; the gap between panels is white.
- ``save_png`` is atomic like the video writer: a temporary file renamed into place.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from motionmag.atomic import atomic_output
from motionmag.errors import InputError, UsageError
from motionmag.video.probe import RATE_TOLERANCE

GAP_VALUE = 255
#: grey that pads a slice to its label's width (neither black frames nor the white gap)
PAD_VALUE = 128


def _check_frame(frame: np.ndarray, what: str = "frame") -> np.ndarray:
    frame = np.asarray(frame)
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise UsageError(
            f"{what} of shape {frame.shape} and type {frame.dtype} is not an RGB image: "
            "give uint8 arrays of shape (H, W, 3)"
        )
    return frame


#: the smallest font scale a label is shrunk to before it is shortened (cv2 Hershey
#: simplex: about 7 px high, still legible as white on a dark box)
LABEL_MIN_SCALE = 0.3
#: opacity of the dark box behind a label (ours: the frame stays visible through it)
LABEL_BOX_OPACITY = 0.65
#: a panel width no label needs shrinking for (``label_fits`` asks the full size)
UNLIMITED_WIDTH = 1 << 30


def _label_layout(height: int, width: int, text: str) -> tuple[float, int, int, int, int]:
    """(font scale, thickness, margin, text width, text height) px of a label on a
    ``height`` x ``width`` panel. The size follows the height alone, so panels of one
    strip (a video beside its magnified copy, slices padded to fit their names) get one
    size; it shrinks (down to :data:`LABEL_MIN_SCALE`) where the panel is too narrow."""
    scale = float(np.clip(height / 600.0, 0.35, 1.2))
    while True:
        thickness = max(1, round(scale * 1.5))
        margin = max(2, round(6 * scale))
        (text_w, text_h), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        if text_w + 2 * margin <= width or scale <= LABEL_MIN_SCALE:
            return scale, thickness, margin, text_w, text_h
        scale = max(LABEL_MIN_SCALE, scale * 0.9)


def fitted_label(height: int, width: int, text: str) -> str:
    """``text`` as it fits on a ``height`` x ``width`` panel: whole, or with the start of its
    first word shortened ("acceleration x20" -> "acc.. x20") so its end, the factor,
    stays readable."""
    _, _, margin, text_w, _ = _label_layout(height, width, text)
    if text_w + 2 * margin <= width:
        return text
    head, _, tail = text.rpartition(" ")
    head, tail = (head, " " + tail) if head else (text, "")
    for keep in range(len(head) - 1, -1, -1):
        shorter = head[:keep] + ".." + tail
        if _label_layout(height, width, shorter)[3] + 2 * margin <= width:
            return shorter
    return tail.strip() or text[:1]


def label_fits(image: np.ndarray, text: str) -> np.ndarray:
    """``image`` padded on the right (grey, unlike any frame's content), if needed, so that
    ``text`` fits as a label at its full size (a y-t slice of a short clip is only a few
    dozen px wide)."""
    height, width = image.shape[:2]
    _, _, margin, text_w, _ = _label_layout(height, UNLIMITED_WIDTH, text)  # full size
    missing = text_w + 2 * margin + 2 - width
    if missing <= 0:
        return image
    return np.pad(image, ((0, 0), (0, missing), (0, 0)), constant_values=PAD_VALUE)


def draw_label(image: np.ndarray, text: str) -> None:
    """Draw ``text`` in the top-left corner of ``image`` (in place): white on a dark,
    partly transparent box, so it reads on any background at any size (a black outline
    filled in small letters); shrunk or shortened to fit (:func:`fitted_label`)."""
    height, width = image.shape[:2]
    text = fitted_label(height, width, text)
    scale, thickness, margin, text_w, text_h = _label_layout(height, width, text)
    font = cv2.FONT_HERSHEY_SIMPLEX
    pad = max(1, margin // 2)
    x0, y0 = max(0, margin - pad), max(0, margin - pad)
    x1, y1 = min(width, margin + text_w + pad), min(height, margin + text_h + 2 * pad + 1)
    box = image[y0:y1, x0:x1]
    box[...] = (box.astype(np.float32) * (1.0 - LABEL_BOX_OPACITY)).astype(np.uint8)
    origin = (margin, margin + text_h)
    cv2.putText(image, text, origin, font, scale, (255, 255, 255), thickness, cv2.LINE_AA)


def side_by_side(
    frames: Sequence[np.ndarray], labels: Sequence[str] | None = None, gap_px: int = 4
) -> np.ndarray:
    """Place frames of one height left to right with ``gap_px`` white columns between them.

    Returns uint8 RGB of shape (H, sum(W_i) + gap_px * (n - 1), 3); the inputs are not changed.
    """
    if len(frames) == 0:
        raise UsageError("side_by_side got no frames: give at least one frame.")
    checked = [_check_frame(f) for f in frames]
    heights = {f.shape[0] for f in checked}
    if len(heights) != 1:
        raise UsageError(
            f"frames have different heights {sorted(heights)}: resize them to one height first."
        )
    if labels is not None and len(labels) != len(checked):
        raise UsageError(f"got {len(labels)} labels for {len(checked)} frames: give one per frame.")
    if gap_px < 0:
        raise UsageError(f"gap_px {gap_px} is negative: give 0 or more pixels.")
    height = checked[0].shape[0]
    total_w = sum(f.shape[1] for f in checked) + gap_px * (len(checked) - 1)
    out = np.full((height, total_w, 3), GAP_VALUE, dtype=np.uint8)
    x0 = 0
    for i, frame in enumerate(checked):
        panel = out[:, x0 : x0 + frame.shape[1]]
        panel[...] = frame
        if labels is not None and labels[i]:
            draw_label(panel, labels[i])
        x0 += frame.shape[1] + gap_px
    return out


class SliceCollector:
    """Keep one column (``x``: y-t slice) or one row (``y``: x-t slice) of each pushed frame."""

    def __init__(self, x: int | None = None, y: int | None = None) -> None:
        if (x is None) == (y is None):
            raise UsageError("a slice needs exactly one of x or y: pass --x X or --y Y.")
        self.x = x
        self.y = y
        self._lines: list[np.ndarray] = []
        self._shape: tuple[int, int] | None = None

    def push(self, frame: np.ndarray) -> None:
        frame = _check_frame(frame)
        height, width = frame.shape[:2]
        if self._shape is None:
            if self.x is not None and not 0 <= self.x < width:
                raise UsageError(
                    f"--x {self.x} is outside the frame (width {width}): choose 0 to {width - 1}."
                )
            if self.y is not None and not 0 <= self.y < height:
                raise UsageError(
                    f"--y {self.y} is outside the frame (height {height}): choose 0 to "
                    f"{height - 1}."
                )
            self._shape = (height, width)
        elif (height, width) != self._shape:
            raise InputError(
                f"frame size changed from {self._shape[1]}x{self._shape[0]} to {width}x{height}: "
                "slice a video whose frames all have one size."
            )
        line = frame[:, self.x] if self.x is not None else frame[self.y]
        self._lines.append(line.copy())

    def __len__(self) -> int:
        return len(self._lines)

    def image(self) -> np.ndarray:
        """y-t slice (H, T, 3) for ``x``; x-t slice (T, W, 3) for ``y``."""
        if not self._lines:
            raise InputError("the video has no frames to slice: check the input.")
        axis = 1 if self.x is not None else 0
        return np.ascontiguousarray(np.stack(self._lines, axis=axis))


def _pad_to(image: np.ndarray, height: int) -> np.ndarray:
    if image.shape[0] == height:
        return image
    out = np.full((height, *image.shape[1:]), PAD_VALUE, dtype=np.uint8)
    out[: image.shape[0]] = image
    return out


#: a slice panel's shorter side is enlarged to at least this (px) when it is smaller
SLICE_MIN_SIDE_PX = 240
#: the longest side the automatic zoom draws a slice panel (px; ours)
SLICE_MAX_SIDE_PX = 1600


def slice_figure(
    videos: Sequence[str | os.PathLike],
    x: int | None = None,
    y: int | None = None,
    labels: Sequence[str] | None = None,
    zoom: int | None = None,
    caption: bool = False,
) -> np.ndarray:
    """Slices of several videos (same column x or row y in each) side by side, streamed.

    ``caption``: a strip under the panels says which line was sliced, which way time
    runs, the zoom, and what grey means (the ``slice`` command's pictures).

    Labels default to the file names. x-t slices of videos of different lengths are padded
    with grey at the bottom to the longest. ``zoom``: each slice pixel drawn as a block of
    zoom x zoom (nearest neighbour: the values stay exact); None picks the smallest that
    makes the largest panel at least :data:`SLICE_MIN_SIDE_PX` on its shorter side, up to
    8 (a 60-frame slice of a 96 px clip is otherwise a stamp, its label unreadable), and
    none that draws a panel longer than :data:`SLICE_MAX_SIDE_PX` (a 30-frame clip beside
    a 90-frame one set x8 from the short one: a 320 px row became 2560 px, the picture
    5124 px wide).
    """
    from motionmag.video.reader import VideoReader

    if not videos:
        raise UsageError("no videos given: name at least one video to slice.")
    if labels is None:
        labels = [Path(v).name or str(v) for v in videos]
    images, lengths, sizes, rates = [], [], [], []
    for video in videos:
        collector = SliceCollector(x=x, y=y)
        with VideoReader(video) as reader:
            sizes.append((reader.info.width, reader.info.height))
            rates.append(float(reader.info.fps))
            for frame in reader:
                collector.push(frame)
        if len(collector) < 2:
            raise InputError(
                f"'{video}' has {len(collector)} frame(s): a slice shows motion over "
                "time, so give a video."
            )
        images.append(collector.image())
        lengths.append(len(collector))
    if zoom is None:  # from the largest panel: a short clip's slice no longer sets it
        side = max(min(im.shape[:2]) for im in images)
        longest = max(max(im.shape[:2]) for im in images)
        zoom = math.ceil(SLICE_MIN_SIDE_PX / max(side, 1))
        zoom = int(np.clip(min(zoom, SLICE_MAX_SIDE_PX // longest), 1, 8))
    if zoom > 1:
        images = [np.repeat(np.repeat(im, zoom, axis=0), zoom, axis=1) for im in images]
    height = max(im.shape[0] for im in images)
    panels = [
        label_fits(_pad_to(im, height), text) for im, text in zip(images, labels, strict=True)
    ]
    figure = side_by_side(panels, labels=labels)
    if not caption:
        return figure
    text = slice_caption(x, y, zoom, lengths, sizes, rates)
    return np.concatenate([figure, caption_strip(figure.shape[1], text)])


def slice_caption(
    x: int | None,
    y: int | None,
    zoom: int,
    lengths: Sequence[int],
    sizes: Sequence[tuple[int, int]] = (),
    rates: Sequence[float] = (),
) -> str:
    """The words under a slice picture: which line, which way time runs, the zoom, how to
    read slope and grey, and the frame counts, sizes (px) and rates (fps) when the videos
    differ in them (a row was then another line of the scene, or a frame another time,
    without a word; review, stop 59)."""
    if x is not None:
        text = (
            f"y-t slice at x = {x} px: rows are y, time runs left to right, each frame a "
            f"column {zoom} px wide"
        )
    else:
        text = (
            f"x-t slice at y = {y} px: columns are x, time runs top to bottom, each frame a "
            f"row {zoom} px high"
        )
    text += f" (drawn x{zoom}); a motion of v px per frame is a line of slope v; grey: no picture"
    if len(set(lengths)) > 1:  # a cut output beside its whole input: say so, not only grey
        text += f". The videos differ in length: {' / '.join(map(str, lengths))} frames"
    if len(set(sizes)) > 1:
        line = "x" if x is not None else "y"
        text += (
            f". The videos differ in size: {' / '.join(f'{w}x{h}' for w, h in sizes)} px, "
            f"so {line} = {x if x is not None else y} may not be the same line of the scene in each"
        )
    if rates and any(not math.isclose(r, rates[0], rel_tol=RATE_TOLERANCE) for r in rates):
        text += (
            f". The videos differ in frame rate: {' / '.join(f'{r:g}' for r in rates)} fps, "
            "so a frame is not the same time in each and their slopes are not comparable"
        )
    return text


def caption_strip(width: int, text: str, scale: float = 0.45) -> np.ndarray:
    """A white strip ``width`` px wide with ``text`` in black, wrapped at words to fit."""
    font, thickness = cv2.FONT_HERSHEY_SIMPLEX, 1
    margin = 6
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        fits = cv2.getTextSize(trial, font, scale, thickness)[0][0] + 2 * margin <= width
        if lines and fits:
            lines[-1] = trial
        else:
            lines.append(word)
    line_h = cv2.getTextSize("Ag", font, scale, thickness)[0][1] + 6
    strip = np.full((line_h * len(lines) + 2 * margin, width, 3), GAP_VALUE, np.uint8)
    for i, line in enumerate(lines):
        origin = (margin, margin + (i + 1) * line_h - 4)
        cv2.putText(strip, line, origin, font, scale, (0, 0, 0), thickness, cv2.LINE_AA)
    return strip


#: picture formats ``save_png`` writes, by file extension (PIL's format names)
IMAGE_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
    ".bmp": "BMP",
    ".webp": "WEBP",
}


def image_format(path: str | os.PathLike) -> str:
    """PIL format name for a picture's file name; UsageError for any other extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_FORMATS:
        raise UsageError(
            f"output '{path}' is not a picture file name: end it in .png "
            f"(or {', '.join(sorted(set(IMAGE_FORMATS) - {'.png'}))})."
        )
    return IMAGE_FORMATS[suffix]


def save_png(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write an RGB (or greyscale) uint8 image atomically (temporary file, rename), as PNG
    or the picture format its extension names (``IMAGE_FORMATS``)."""
    from PIL import Image

    target = Path(path)
    image_format_name = image_format(target)
    folder = target.parent
    if not folder.is_dir():
        raise UsageError(f"output folder '{folder}' does not exist: create it first.")
    image = np.ascontiguousarray(image)
    if image.dtype != np.uint8 or image.ndim not in (2, 3):
        raise UsageError(f"image of shape {image.shape} and type {image.dtype} is not uint8.")
    with atomic_output(target) as temporary:
        Image.fromarray(image).save(temporary, format=image_format_name)
