"""``motionmag live --resize auto``: time the magnifier before the run and pick a size.

What matters: a laptop's speed is not known in advance, and the magnifier's time per
frame scales with the pixels. So before the source starts, a throw-away copy of the
magnifier (the real one keeps its reference frame and filter state clean) is timed on
synthetic frames of the processing size: ``warmup`` frames first (first calls build
kernels and buffers), then ``rounds`` of ``frames`` timed ones (whole batches when the
method batches; the median round counts).
:func:`~motionmag.live.pipeline.size_to_keep_up` then gives the largest size at which the
magnifier, timed alone, takes at most :data:`AUTO_SHARE` of the source's frame period,
and the run processes at that size (or at the full size when it already fits).

The frames are random texture: the learned nets and the classical pyramids take the
same time whatever the picture holds. Ours, not a paper's.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from .pipeline import KEEP_UP_SHARE, FrameMagnifier, size_to_keep_up

#: share of the frame period the magnifier may take when timed alone (ours): in a live run
#: it shares the cores with decoding and writing and took 1.2-1.3x its time alone
#: (ha2024-fast, bf16, batch 4, 640x360: 30.3 ms before a run, 38.7 ms in it), so
#: KEEP_UP_SHARE of the live time is about this much of the time alone
AUTO_SHARE = KEEP_UP_SHARE / 1.25

#: frames pushed before timing, and frames in each timed round (ours: 2 batches of 4, the
#: batch the learned nets run live with); the median of TIMED_ROUNDS rounds is taken, so
#: one hiccup of a shared machine does not shrink the picture. In all 32 frames, measured
#: at 640x360 on 2 cores: 1.5 s for ha2024-fast in bf16, 11 s for oh2018 (fp32)
WARMUP_FRAMES = 8
TIMED_FRAMES = 8
TIMED_ROUNDS = 3


def magnifier_ms_per_frame(
    magnifier: FrameMagnifier,
    width: int,
    height: int,
    warmup: int = WARMUP_FRAMES,
    frames: int = TIMED_FRAMES,
    rounds: int = TIMED_ROUNDS,
    clock: Callable[[], float] = time.perf_counter,
) -> float:
    """Wall time (ms) of one ``push`` of a ``width`` x ``height`` frame after warm-up: the
    median over ``rounds`` of the mean over ``frames`` pushes."""
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    for _ in range(warmup):
        magnifier.push(frame)
    means_ms = []
    for _ in range(rounds):
        began = clock()
        for _ in range(frames):
            magnifier.push(frame)
        means_ms.append((clock() - began) * 1000.0 / frames)
    return float(np.median(means_ms))


def auto_size(
    magnifier: FrameMagnifier,
    width: int,
    height: int,
    source_fps: float,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[tuple[int, int], str]:
    """The size to process at, and a sentence for the report saying why.

    ``magnifier`` is a throw-away copy: it is pushed synthetic frames.
    """
    if not source_fps > 0:
        return (width, height), (
            "--resize auto: the source gives no frame rate to keep up with, so it ran at the "
            "full size (give --fps, or --resize WxH)"
        )
    period_ms = 1000.0 / source_fps
    took_ms = magnifier_ms_per_frame(magnifier, width, height, clock=clock)
    size = size_to_keep_up(width, height, took_ms, period_ms, AUTO_SHARE)
    measured = (
        f"--resize auto: the magnifier took {took_ms:.1f} ms a frame at {width}x{height} "
        f"before the run, the source gives one every {period_ms:.1f} ms"
    )
    if size is None:
        return (width, height), f"{measured}, so it ran at the full size"
    share = round(100 * AUTO_SHARE)
    return size, (
        f"{measured}, so it ran at {size[0]}x{size[1]} (where, timed alone, it takes at "
        f"most {share} % of that period, leaving room for decoding and writing; give "
        "--resize WxH to choose)"
    )
