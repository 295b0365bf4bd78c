"""The public Python API: magnify a file, an array of frames, or a live stream.

What matters: these are the names of INTERFACE.md and the README, and they share one
configuration (:class:`MagnifyConfig`) with the command line, so the CLI is a thin map
from flags to these calls. alpha is the total factor everywhere.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from ..errors import InputError, UsageError
from .config import MagnifyConfig, check_switches
from .engine import MagnifyResult, magnify_file
from .registry import default_method
from .stream import Stream, uint8_rgb_advice


def named_arguments(function) -> set[str]:
    """The names ``function`` (``magnify``, ``magnify_frames``, ``Stream``) takes as
    parameters of its own, not through its ``**options``: what a method option must not
    be called."""
    import inspect

    return {
        name
        for name, parameter in inspect.signature(function).parameters.items()
        if parameter.kind is not inspect.Parameter.VAR_KEYWORD
    }


def magnify(
    input: str | os.PathLike,
    output: str | os.PathLike,
    method: str | None = None,
    alpha: float = 10.0,
    mode: str | None = None,
    band: tuple[float, float] | None = None,
    filter: str = "butter",
    fps: float | None = None,
    reference: int = 0,
    mask: str | os.PathLike | np.ndarray | None = None,
    resize: str | tuple[int, int] | None = None,
    crop: tuple[int, int, int, int] | None = None,
    start: float | None = None,
    end: float | None = None,
    device: str | None = None,
    side_by_side: bool = False,
    stabilize: str | None = None,
    keep_stabilized: bool = False,
    overwrite: bool = False,
    quiet: bool = True,
    **options,
) -> MagnifyResult:
    """Magnify a video file into ``output`` (``.mp4`` H.264, ``.mkv`` FFV1, ``dir/`` PNGs).

    Args:
        method: a name from ``motionmag methods`` (default: best shipped model, else linear).
        alpha: total factor, output motion = alpha x input motion.
        mode: ``static`` | ``dynamic`` | ``temporal`` (default: temporal if ``band``).
        band: (low, high) pass band in Hz for temporal mode.
        filter: ``butter`` | ``diff-iir`` | ``fir``.
        fps: the input's true frame rate (frames per second) for ``band``; the output
            keeps the file's own rate.
        reference: static mode's reference frame index.
        mask: greyscale image file, or array (H, W) (uint8, or floats in [0, 1]): white
            = magnify, black = keep; the input's shape, or that shape scaled.
        resize: process (and write) at ``W`` or ``WxH`` pixels.
        crop: (x, y, w, h) px of the input: magnify (and write) only this region; a
            ``mask`` of the input's size is cut to it too.
        start, end: magnify (and write) only the frames from ``start`` to before ``end``
            seconds; the audio is cut to the same window.
        device: ``cpu`` | ``cuda`` (``cuda:N``); default: a CUDA GPU when torch sees one,
            else the CPU (always the CPU with ``backend="onnx"``).
        side_by_side: write the input and the output next to each other.
        stabilize: ``translation`` | ``similarity`` | ``affine`` | ``homography``:
            register every frame to the first with this global motion model before
            magnifying, so a shaking camera's motion is not magnified; the output is
            warped back into each frame's coordinates unless ``keep_stabilized``.
        options: method settings, e.g. ``lambda_c_px=16`` for linear.
    """
    check_switches(side_by_side=side_by_side, keep_stabilized=keep_stabilized,
                   overwrite=overwrite, quiet=quiet)  # fmt: skip
    config = MagnifyConfig.from_arguments(
        method or default_method(), alpha, mode, band, filter, fps, reference, device, options
    )
    return magnify_file(
        input,
        output,
        config,
        mask=mask,
        resize=resize,
        crop=crop,
        start_s=start,
        end_s=end,
        side_by_side_output=side_by_side,
        stabilize=stabilize,
        keep_stabilized=keep_stabilized,
        overwrite=overwrite,
        quiet=quiet,
    )


def magnify_frames(
    frames: np.ndarray,
    fps: float = 30.0,
    method: str | None = None,
    alpha: float = 10.0,
    mode: str | None = None,
    band: tuple[float, float] | None = None,
    filter: str = "butter",
    reference: int = 0,
    device: str | None = None,
    stabilize: str | None = None,
    keep_stabilized: bool = False,
    **options,
) -> np.ndarray:
    """Magnify an in-memory clip: uint8 (T, H, W, 3) RGB in, the same shape out
    (``stabilize``, ``keep_stabilized``: as :func:`magnify`)."""
    try:
        frames = np.asarray(frames)
    except ValueError:  # a list of frames of different shapes
        raise InputError(
            "the frames differ in size: give frames of one size, (T, H, W, 3) uint8 RGB."
        ) from None
    advice = uint8_rgb_advice(frames, "frames", "(T, H, W, 3)")
    if advice is not None:
        raise InputError(advice)
    if len(frames) < 2:
        raise InputError(
            f"got {len(frames)} frame(s): magnification needs at least two; pass an array "
            "of shape (T, H, W, 3) with T >= 2."
        )
    if min(frames.shape[1:3]) < 1:
        raise InputError(f"the frames are {frames.shape[2]}x{frames.shape[1]} px: give images.")
    stream = Stream(
        method=method,
        alpha=alpha,
        mode=mode,
        band=band,
        fps=fps,
        filter=filter,
        reference=reference,
        device=device,
        stabilize=stabilize,
        keep_stabilized=keep_stabilized,
        **options,
    )
    if stream.config.resolved_mode() == "static" and stream.config.reference >= len(frames):
        raise UsageError(
            f"reference frame {stream.config.reference} is beyond the end of the frames "
            f"({len(frames)} frames): choose a smaller --reference."
        )
    out = [o for o in (stream.push(frame) for frame in frames) if o is not None]
    out.extend(stream.flush())
    for note in stream.notes:  # only an array comes back: notes as warnings, as measure's
        warnings.warn(note, stacklevel=2)
    return np.stack(out)
