"""Refuse a frame size that cannot fit in memory before any work.

A huge ``--resize`` would be killed without a message when its pages are touched
(``memory_free.py``). This compares a floor of what magnifying one frame size needs
with the memory the system says is available, and refuses only what certainly cannot
fit.

Measured (2026-12-04, 2 cores, 4000x3000 frames, static mode, peak RSS less the ~0.35 GB
of an idle process): linear 206, riesz 204, ha2024-fast 272, phase 557 bytes per
processed pixel. The floor is below all of them (ours).
"""

from __future__ import annotations

from ..errors import UsageError
from ..memory_free import free_if_short, gb_text

#: bytes per processed pixel that every method needs at least (see the module docstring)
FLOOR_BYTES_PER_PIXEL = 150


def check_frame_fits_memory(width: int, height: int, available: int | None = None) -> None:
    """UsageError when frames of ``width`` x ``height`` px need more than the available
    memory (``available`` bytes; default: what the system says now)."""
    needed = FLOOR_BYTES_PER_PIXEL * width * height
    free = free_if_short(needed, available)
    if free is not None:
        raise UsageError(
            f"frames of {width}x{height} px need at least {gb_text(needed)} GB of memory to "
            f"magnify, and {gb_text(free)} GB is free: give a smaller --resize, or cut a "
            "region with --crop."
        )


def check_clip_fits_memory(
    method: str,
    frames: int,
    width: int,
    height: int,
    bytes_per_pixel: float,
    available: int | None = None,
) -> None:
    """UsageError when a whole-clip method (it holds every frame, and float copies of
    them, until the clip ends) needs more for ``frames`` frames of ``width`` x ``height``
    px, at ``bytes_per_pixel`` (the method's measured ``clip_bytes_per_pixel``), than the
    available memory: one sentence before the first frame is read. It read on, 2.6 MB a
    frame at 160x96, until the system killed it (review, stop 57)."""
    if bytes_per_pixel <= 0:  # a streaming method (or not measured)
        return
    needed = bytes_per_pixel * frames * width * height
    free = free_if_short(needed, available)
    if free is not None:
        raise UsageError(
            f"{method} holds the whole clip in memory: {frames} frames of {width}x{height} px "
            f"need about {gb_text(needed)} GB, and {gb_text(free)} GB is free: give a "
            "shorter --start/--end window, a smaller --resize, or cut a region with --crop."
        )
