"""Video I/O: frames in and out as uint8 RGB (H, W, 3), probing, side-by-side and slices.

What matters here: everything streams (memory O(1) in the number of frames); the frame rate
is an exact ``Fraction`` end to end; outputs are never partial (temporary name, atomic
rename); every input problem is an ``InputError`` and every argument problem a ``UsageError``,
each one plain sentence. This package imports numpy, PyAV, Pillow and OpenCV, never torch.
"""

from motionmag.video.compose import SliceCollector, save_png, side_by_side, slice_figure
from motionmag.video.probe import VideoInfo, probe
from motionmag.video.reader import VideoReader
from motionmag.video.writer import VideoWriter, output_kind

__all__ = [
    "SliceCollector",
    "VideoInfo",
    "VideoReader",
    "VideoWriter",
    "output_kind",
    "probe",
    "save_png",
    "side_by_side",
    "slice_figure",
]
