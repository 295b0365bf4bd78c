"""``motionmag live SOURCE``: magnify a camera, a stream or a file as it plays.

What matters: every argument problem (a bad option, an output that exists, no display
for a window, an unknown method, a SOURCE that names nothing) is refused with one
sentence before the camera or stream is opened, and the output file is written
atomically, so a failed run leaves nothing. Ctrl+C, q/Esc in the window, ``--duration``
and ``--max-frames`` end a run normally: the output is kept and the report printed.
"""

from __future__ import annotations

import argparse
import math
import sys

import numpy as np

from ..errors import UsageError
from ..output_paths import check_distinct_outputs, check_output_path


def add_live_command(subparsers) -> argparse.ArgumentParser:
    """Add ``live`` to an argparse subparsers object (the flags mirror ``magnify``)."""
    from ..cli import _finite_float, add_magnification_options

    p = subparsers.add_parser(
        "live",
        help="magnify a camera, a network stream or a file in real time",
        description="Magnify SOURCE live: a camera (0, /dev/video0), a URL FFmpeg opens "
        "(rtsp://, http://, ...) or a file played at its frame rate. Show a window, or "
        "write -o OUT (.mp4, .mkv, dir/). When the magnifier is slower than the source, "
        "old frames are dropped (and counted) so latency stays bounded; a report of frames "
        "in, processed, dropped, fps and latency is printed at the end.",
    )
    p.add_argument("source", metavar="SOURCE", help="camera index or device, URL, or file")
    p.add_argument(
        "-o",
        "--output",
        default=None,
        metavar="OUT",
        help="write to this file (.mp4, .mkv) or PNG folder (ending in /)",
    )
    p.add_argument("--show", action="store_true", help="also show a window when writing -o")
    add_magnification_options(
        p,
        filter_help="temporal filter (default butter; fir is non-causal and adds latency: "
        "half its length plus the block it is streamed in)",
        fps_help="the source's true rate, in which --band is read (a file or stream still "
        "plays, and is written, at its own rate; a camera is asked for this rate, and a "
        "frame folder plays at it)",
        resize_help="process at this size, px (a width alone keeps the aspect ratio); auto: "
        "time the magnifier first and take the largest size at which it keeps up",
        reference_help="static mode's reference frame, counted from the first frame read "
        "(default 0)",
    )
    p.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="play a file or URL at its frame rate and drop frames the magnifier cannot "
        "keep up with (default); --no-realtime reads a file as fast as it decodes and "
        "processes every frame",
    )
    p.add_argument(
        "--queue",
        type=int,
        default=None,
        metavar="N",
        help="frames that may wait for the magnifier; older ones are dropped (default 2, "
        "or twice --set batch: the frames that arrive while a batch is computed; latency "
        "when behind is about N + 1 processing times)",
    )
    p.add_argument(
        "--duration",
        type=_finite_float,
        default=None,
        metavar="SECONDS",
        help="stop after this many seconds of run time (default: until the source ends)",
    )
    p.add_argument("--max-frames", type=int, default=None, metavar="N", help="frames to read")
    p.add_argument(
        "--every",
        type=_finite_float,
        default=5.0,
        metavar="SECONDS",
        help="print a status line this often (default 5; 0 for none)",
    )
    p.add_argument("--report", default=None, metavar="JSON", help="write the report as JSON")
    p.add_argument("--overwrite", action="store_true", help="replace OUT/JSON if they exist")
    p.add_argument("--quiet", action="store_true", help="no status lines")
    p.set_defaults(run=run_live_command)
    return p


#: frames that may wait for a magnifier that takes one frame at a time (absorbs a stall)
DEFAULT_QUEUE_FRAMES = 2


def default_queue(options: dict) -> int:
    """``--queue``'s default: 2, or twice the method's ``batch`` (ours).

    A batching magnifier takes frames without work until its batch is full, then computes
    the batch while as many frames arrive again: they need room to wait. With batch 4 and
    a queue of 2, ha2024-fast (bf16, 568x318, 25 fps) dropped 67 of 750 frames, with 8
    14 (2026-12-03, 30 s each, ``benchmarks/results/live_ab/queue{2,8}_batch4.json``).
    """
    batch = options.get("batch", 1)
    batch = batch if isinstance(batch, int) and not isinstance(batch, bool) else 1
    return max(DEFAULT_QUEUE_FRAMES, 2 * batch)


def _check_reference(
    reference: int, frame_count: int | None, max_frames: int | None, source: str
) -> None:
    """Static mode's reference beyond the frames the source will give, refused before it
    plays (it was refused after the whole file). A file's count may be an estimate from
    its duration, one short: a reference just past it is left to the magnifier's own
    check at the end."""
    limits = [] if frame_count is None else [frame_count + 1]
    if max_frames is not None:
        limits.append(max_frames)  # exact: the run stops there
    if limits and reference >= min(limits):
        frames = min(c for c in (frame_count, max_frames) if c is not None)
        raise UsageError(
            f"reference frame {reference} is beyond the end of '{source}' ({frames} "
            "frames): choose a smaller --reference."
        )


def _check_arguments(args: argparse.Namespace) -> None:
    from ..video import output_kind

    if args.duration is not None and args.duration <= 0:
        raise UsageError(f"--duration {args.duration:g} is not positive: give seconds, e.g. 60.")
    if args.max_frames is not None and args.max_frames < 1:
        raise UsageError(f"--max-frames {args.max_frames} is below 1: give a frame count >= 1.")
    if args.queue is not None and args.queue < 1:
        raise UsageError(f"--queue {args.queue} is below 1: give a frame count >= 1.")
    if args.every < 0 or (args.every and not math.isfinite(args.every)):
        raise UsageError(f"--every {args.every:g} is negative: give seconds, or 0 for none.")
    check_distinct_outputs({"-o": args.output, "--report": args.report})
    for flag, path in (("-o", args.output), ("--report", args.report)):
        if path is not None:
            frames = flag == "-o" and output_kind(path) == "png"
            check_output_path(
                path,
                overwrite=args.overwrite,
                inputs=[args.source],
                flag=flag,
                folder_output=frames,
                suffix=".json" if flag == "--report" else None,
            )


def run_live_command(args: argparse.Namespace) -> int:
    from ..cli import refuse_flag_settings
    from ..devices import resolve_device
    from ..magnify.config import MagnifyConfig
    from ..magnify.frame_memory import check_frame_fits_memory
    from ..magnify.geometry import FrameGeometry
    from ..magnify.mask import load_mask
    from ..magnify.registry import default_method, get_method, with_default_band
    from ..magnify.stream import Stream
    from ..video.live_source import open_source
    from .pipeline import run_live
    from .sinks import FileSink, WindowSink, display_problem

    _check_arguments(args)  # an unsupported extension fails before the camera opens
    show = args.output is None or args.show
    if show:
        problem = display_problem()
        if problem is not None:
            raise UsageError(problem)
    if args.device is not None:
        resolve_device(args.device)
    method = args.method or default_method()
    get_method(method)
    refuse_flag_settings(args.options, Stream)
    options = {"order": args.order, "fir_taps": args.fir_taps, **dict(args.options)}
    band = tuple(args.band) if args.band else None
    config = MagnifyConfig.from_arguments(
        method, args.alpha, args.mode, band, args.filter, args.fps, args.reference, "cpu", {}
    )
    config.validate()

    source = open_source(args.source, realtime=args.realtime, fps=args.fps)
    sinks = []
    try:
        info = source.info
        static = config.resolved_mode() == "static"
        if static:
            _check_reference(args.reference, info.frame_count, args.max_frames, args.source)
        crop = tuple(args.crop) if args.crop else None
        auto = args.resize is not None and args.resize.strip().lower() == "auto"
        geometry = FrameGeometry.from_arguments(
            info.width, info.height, crop, None if auto else args.resize
        )

        def make_stream(mask: np.ndarray | None) -> Stream:
            stream = Stream(
                method=method,
                alpha=args.alpha,
                mode=args.mode,
                band=band,
                fps=args.fps or info.fps,
                filter=args.filter,
                reference=args.reference,
                mask=mask,
                device=args.device,  # None: MagnifyConfig's default, as for magnify
                stabilize=args.stabilize,
                keep_stabilized=args.keep_stabilized,
                frame_geometry=geometry,  # an alpha map drawn on the source is cut alike
                **options,
            )
            if stream.whole_clip:
                raise UsageError(
                    f"{method}{' with test-time adaptation' if 'tta_epochs' in options else ''} "
                    "magnifies a whole clip at once (nothing comes out until the "
                    "input ends, and memory grows with every frame), so it cannot run live: "
                    "record the video, then run motionmag magnify on it."
                )
            return stream

        if auto:
            from .calibrate import auto_size

            if not args.quiet:
                print("timing the magnifier for --resize auto ...", file=sys.stderr, flush=True)
            size, auto_note = auto_size(make_stream(None), *geometry.size, info.fps)
            geometry = FrameGeometry.from_arguments(info.width, info.height, crop, size)
        width, height = geometry.size
        check_frame_fits_memory(width, height)
        mask = load_mask(args.mask, geometry) if args.mask is not None else None
        stream = make_stream(mask)
        if args.output is not None:
            aspect = geometry.pixel_aspect(info.sample_aspect_ratio)
            sinks.append(
                FileSink(
                    args.output, info.fps, width, height, args.overwrite, sample_aspect_ratio=aspect
                )
            )
        if show:
            sinks.append(WindowSink(f"motionmag live: {method} x{args.alpha:g}"))
    except BaseException:
        for sink in sinks:
            sink.abort()
        source.close()
        raise

    def status(interval) -> None:
        print(interval.line(), file=sys.stderr, flush=True)

    report = run_live(
        source,
        stream,
        sinks,
        method=f"{method} x{args.alpha:g} {config.resolved_mode()}",
        queue_frames=args.queue if args.queue is not None else default_queue(options),
        geometry=geometry,
        duration_s=args.duration,
        max_frames=args.max_frames,
        interval_s=args.every or None,
        on_interval=None if args.quiet else status,
        temporal=config.resolved_mode() == "temporal",
        keep_first=args.reference + 1 if static else 0,
        band_hz=with_default_band(stream.config).band,
        filter_fps=stream.config.fps,
    )
    report.output = args.output
    report.notes.extend(stream.notes)  # the method's own (e.g. a thesis net's temporal gain)
    if auto:
        report.notes.insert(0, auto_note)
    if args.report is not None:
        report.write_json(args.report)
    print(report.table())
    for sink in sinks:
        for note in getattr(getattr(sink, "writer", None), "notes", []):
            print(f"note: {note}", file=sys.stderr)
    if stream.stabilization is not None:
        print(f"note: {stream.stabilization.note()}", file=sys.stderr)
    return 0
