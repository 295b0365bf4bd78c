"""Test helpers: write frames to a video file and read a whole video back."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from motionmag.video import VideoReader, VideoWriter


def write_clip(path: Path, frames, fps: float) -> Path:
    """Write uint8 (H, W, 3) frames to ``path`` at ``fps``; returns ``path``."""
    frames = list(frames)
    with VideoWriter(path, fps, frames[0].shape[1], frames[0].shape[0]) as writer:
        for frame in frames:
            writer.write(frame)
    return path


def write_jitter_clip(path: Path, height: int, width: int, frames: int, seed: int) -> Path:
    """A random uint8 texture (``seed``) moving 1 px sideways and back, frame after frame,
    ``frames`` frames of ``height`` x ``width`` at 30 fps, written to ``path``."""
    base = np.random.default_rng(seed).integers(0, 256, (height, width, 3)).astype(np.uint8)
    return write_clip(path, [np.roll(base, i % 2, axis=1) for i in range(frames)], 30.0)


def read_clip(path: Path) -> np.ndarray:
    """Every frame of a video (or PNG folder) as one (T, H, W, 3) uint8 array."""
    with VideoReader(path) as reader:
        return np.stack(list(reader))


def write_uneven_clip(path: Path, frames, intervals_ms=(50, 33), first_ms: int = 0) -> Path:
    """Write uint8 (H, W, 3) frames losslessly (FFV1) with their pts the given intervals
    apart in turn (ms), the first at ``first_ms``: a variable-rate clip. Returns ``path``."""
    from fractions import Fraction

    import av

    frames = list(frames)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=30)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv444p"
        stream.codec_context.time_base = Fraction(1, 1000)
        pts = first_ms
        for i, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            pts += intervals_ms[i % len(intervals_ms)]
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_ffv1(path: Path, frames, pix_fmt: str, frame_format: str = "rgb24",
               rotation: float | None = None) -> Path:  # fmt: skip
    """Write arrays (``frame_format``, e.g. "rgb24" or "gray16le") losslessly as FFV1 in
    ``pix_fmt`` at 30 fps, with FFmpeg's display ``rotation`` (degrees) if given."""
    from fractions import Fraction

    import av

    frames = list(frames)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=30)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = pix_fmt
        if rotation is not None:
            stream.set_display_rotation(rotation)
        for i, pixels in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(pixels, format=frame_format)
            frame.pts, frame.time_base = i, Fraction(1, 30)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
