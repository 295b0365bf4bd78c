"""Which part of each frame is magnified, and at what size: ``--crop`` and ``--resize``.

What matters: a crop is cut from the source frame first (px of the source), then the
cut is resized, so ``--crop`` on a 4K video processes only the region (the cost scales
with its area) and ``--resize`` keeps its meaning for what is processed and written.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

from ..errors import UsageError

#: the most a --resize may stretch one side against the other (ours: beyond it the pixel
#: aspect ratio players need falls outside what the file can store; 37,500 made it 0)
MAX_STRETCH = 100


def parse_resize(text: str | tuple[int, int] | None, width: int, height: int) -> tuple[int, int]:
    """``W`` or ``WxH`` -> (W, H); a lone W keeps the aspect ratio (rounded)."""
    if text is None:
        return width, height
    if not isinstance(text, str) and hasattr(text, "__len__"):  # (W, H), whole numbers
        if not whole_numbers(text, 2):
            raise UsageError(f"--resize {text!r} is not two whole numbers: give (W, H) in px.")
        new_w, new_h = (int(v) for v in text)
    else:
        if str(text).strip().lower() == "auto":  # motionmag live resolves it before this
            raise UsageError(
                "--resize auto sizes a live run to keep up (motionmag live): here give W or "
                "WxH, e.g. 640 or 640x360."
            )
        parts = str(text).lower().split("x")
        try:
            new_w = int(parts[0])
            new_h = int(parts[1]) if len(parts) == 2 else round(height * new_w / width)
        except (ValueError, IndexError):
            raise UsageError(
                f"--resize '{text}' is not W or WxH: write e.g. 640 or 640x360."
            ) from None
        if len(parts) > 2:
            raise UsageError(f"--resize '{text}' is not W or WxH: write e.g. 640 or 640x360.")
    if new_w < 2 or new_h < 2:
        raise UsageError(f"--resize {new_w}x{new_h} is too small: use at least 2x2 pixels.")
    stretch = (new_w * height) / (new_h * width)
    if not 1 / MAX_STRETCH <= stretch <= MAX_STRETCH:
        keep = round(height * new_w / width)
        raise UsageError(
            f"--resize {new_w}x{new_h} stretches the {width}x{height} picture "
            f"{max(stretch, 1 / stretch):.0f} times more one way than the other (at most "
            f"{MAX_STRETCH}): give --resize {new_w} to keep its shape ({new_w}x{max(keep, 2)})."
        )
    return int(new_w), int(new_h)


def whole_numbers(values: object, count: int) -> bool:
    """True when ``values`` is a sequence (not a string) of ``count`` whole numbers (Python
    or numpy ints, or floats with no fraction; not bools)."""
    return (
        not isinstance(values, str)
        and hasattr(values, "__len__")
        and len(values) == count
        and all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) and float(v).is_integer()
            for v in values
        )
    )


def pixel_box(flag: str, box: object) -> tuple[int, int, int, int]:
    """``box`` = (x, y, w, h) as ints; UsageError unless it is four whole numbers (px)."""
    if not whole_numbers(box, 4):
        raise UsageError(f"{flag} {box!r} is not four whole numbers: give X Y W H in px.")
    x, y, w, h = (int(v) for v in box)
    return x, y, w, h


def parse_crop(
    crop: tuple[int, int, int, int] | None, width: int, height: int
) -> tuple[int, int, int, int] | None:
    """Check ``crop`` = (x, y, w, h) px against a ``width`` x ``height`` frame."""
    if crop is None:
        return None
    x, y, w, h = pixel_box("--crop", crop)
    if w < 2 or h < 2:
        raise UsageError(
            f"--crop {x} {y} {w} {h} is {w}x{h} px (W and H are its width and height): "
            "give W and H of at least 2."
        )
    if x < 0 or y < 0 or x + w > width or y + h > height:
        raise UsageError(
            f"--crop {x} {y} {w} {h} is not inside the {width}x{height} frame: give X Y W H "
            "with W and H of at least 2 and the region within the frame."
        )
    if (x, y, w, h) == (0, 0, width, height):
        return None
    return x, y, w, h


@dataclass(frozen=True)
class FrameGeometry:
    """The source frame's size, the crop cut from it (px, or None) and the processing
    size (W, H) the cut is resized to."""

    source: tuple[int, int]
    crop: tuple[int, int, int, int] | None
    size: tuple[int, int]

    @classmethod
    def from_arguments(
        cls,
        width: int,
        height: int,
        crop: tuple[int, int, int, int] | None = None,
        resize: str | tuple[int, int] | None = None,
    ) -> FrameGeometry:
        crop = parse_crop(crop, width, height)
        cut_w, cut_h = (crop[2], crop[3]) if crop else (width, height)
        return cls((width, height), crop, parse_resize(resize, cut_w, cut_h))

    @property
    def changes_frames(self) -> bool:
        return self.crop is not None or self.size != self.source

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """Cut and resize one source frame (uint8 (H, W, 3))."""
        if self.crop is not None:
            x, y, w, h = self.crop
            frame = frame[y : y + h, x : x + w]
        if (frame.shape[1], frame.shape[0]) != self.size:
            frame = cv2.resize(frame, self.size, interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(frame)

    def pixel_aspect(self, source_aspect: Fraction) -> Fraction:
        """The pixel aspect ratio of the processed frames, given the source's: a crop keeps
        it, a resize that stretches one side more than the other changes it so the picture
        keeps its shown shape. Within 1 % counts as no change (rounded sizes)."""
        cut_w, cut_h = (self.crop[2], self.crop[3]) if self.crop else self.source
        stretch = Fraction(cut_w * self.size[1], cut_h * self.size[0])
        if abs(stretch - 1) <= Fraction(1, 100):
            return source_aspect
        return (source_aspect * stretch).limit_denominator(10_000)
