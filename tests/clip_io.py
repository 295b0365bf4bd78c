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


def read_clip(path: Path) -> np.ndarray:
    """Every frame of a video (or PNG folder) as one (T, H, W, 3) uint8 array."""
    with VideoReader(path) as reader:
        return np.stack(list(reader))
