"""The ``motionmag`` command line: a thin map from flags onto the public API.

What matters: every failure ends as one plain sentence on stderr and the exit status of
INTERFACE.md (2 bad arguments, 3 unreadable or unsupported input, 1 anything else), with
no partial output left behind (the writers are atomic). Progress bars go to stderr and
``--quiet`` silences them; results go to stdout.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence

from . import __version__, startup_interrupt
from .allocator import keep_freed_memory
from .errors import MotionmagError, Terminated, UsageError
from .magnify.stabilize import DEFAULT_MODEL as DEFAULT_STABILIZE_MODEL
from .magnify.stabilize import MODELS as STABILIZE_MODELS
from .output_paths import check_distinct_outputs, check_output_path

#: the command line being parsed (set by :func:`main`), for the parser's error hints
_given_argv: list[str] = []


class _Parser(argparse.ArgumentParser):
    """argparse with INTERFACE.md's error style: one sentence, exit status 2; help lines
    never broken at a hyphen, examples kept as written (``cli_examples``)."""

    def __init__(self, *args, **kwargs) -> None:
        from .cli_examples import HelpFormatter

        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        hint = _dash_name_hint(_given_argv)
        prog = _command_prog(self, _given_argv)
        self.exit(2, f"motionmag: error: {message}{hint} (see '{prog} --help').\n")


def _command_prog(parser: argparse.ArgumentParser, argv: Sequence[str]) -> str:
    """The deepest (sub)command that ``argv`` names under ``parser``: an unknown flag is
    reported by the top parser, whose help (``motionmag --help``) does not list the
    command's flags (``live ... --end 1`` pointed there)."""
    prog = parser.prog
    tokens = iter(argv)
    while True:
        commands = next(
            (a.choices for a in parser._actions if isinstance(a, argparse._SubParsersAction)),
            None,
        )
        if not commands:
            return prog
        name = next((t for t in tokens if not str(t).startswith("-")), None)
        if name not in commands:
            return prog
        parser = commands[name]
        prog = parser.prog


def _dash_name_hint(argv: Sequence[str]) -> str:
    """A file name argparse took for an option (``-clip.mp4``): how to write it instead."""
    for token in argv:
        if not token.startswith("-") or "=" in token or not ("." in token or "/" in token):
            continue
        if not _is_number(token):  # a negative number is not a name
            return f"; '{token}' begins with '-' and was read as an option: write it ./{token}"
    return ""


def _finite_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def _add_time_window(p: argparse.ArgumentParser) -> None:
    """``--start S`` and ``--end S``: the frames from S to before S seconds."""
    p.add_argument(
        "--start", type=_finite_float, default=None, metavar="S", help="begin at S seconds"
    )
    p.add_argument(
        "--end", type=_finite_float, default=None, metavar="S", help="stop before S seconds"
    )


def _epochs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of epochs") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} epochs: give 0 or more")
    return value


def _option(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"'{text}' is not KEY=VALUE")
    key, value = text.split("=", 1)
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        parsed = value
    return key.strip().replace("-", "_"), parsed


#: what to make smaller when a command runs out of memory, by command (its own flags)
_MEMORY_ADVICE = {
    "magnify": "try --resize, --crop, a shorter --start/--end, a shorter --fir-taps or a "
    "smaller --order",
    "live": "try --resize or a shorter --fir-taps",
    "measure": "try a smaller --roi or fewer --grid cells",
    "spectrum": "try a smaller --roi",
    "eval": "try a smaller --n or --size",
    "bench": "try smaller --sizes",
    "train": "try a smaller --batch or --size",
    "synth": "try a smaller --size",
}


def _add_stabilize(p: argparse.ArgumentParser, help_text: str) -> None:
    """``--stabilize [MODEL]`` (``magnify/stabilize.py``; a bare flag: its DEFAULT_MODEL)."""
    p.add_argument(
        "--stabilize", nargs="?", const=DEFAULT_STABILIZE_MODEL, default=None, metavar="MODEL",
        help=help_text,
    )  # fmt: skip


def add_magnification_options(
    p: argparse.ArgumentParser,
    filter_help: str = "temporal filter (default butter, streaming)",
    fps_help: str = (
        "the input's true rate, in which --band, --start and --end are read (the output "
        "keeps the file's own rate)"
    ),
    resize_help: str = "process at this size, px (a width alone keeps the aspect ratio)",
    reference_help: str = "static mode's reference frame, counted from --start (default 0)",
) -> None:
    """The method, factor, mode, filter, region and device flags of ``magnify`` and ``live``."""
    p.add_argument(
        "--method",
        default=None,
        help="default: linear, marked * in `motionmag methods` (a shipped model becomes the "
        "default only where its card says it beats the phase-based method)",
    )
    p.add_argument("--alpha", type=_finite_float, default=10.0, help="total factor (default 10)")
    p.add_argument(
        "--mode",
        choices=("static", "dynamic", "temporal"),
        default=None,
        help="default: temporal when --band is given, else static",
    )
    p.add_argument(
        "--band",
        nargs=2,
        type=_finite_float,
        metavar=("LOW", "HIGH"),
        help="temporal pass band in Hz",
    )
    p.add_argument(
        "--filter", choices=("butter", "diff-iir", "fir"), default="butter", help=filter_help
    )
    p.add_argument("--order", type=int, default=2, help="Butterworth order (default 2)")
    p.add_argument(
        "--fir-taps",
        type=int,
        default=None,
        help="FIR length in frames, odd (default: about 4 periods of LOW, 31-255)",
    )
    p.add_argument("--fps", type=_finite_float, default=None, help=fps_help)
    p.add_argument(
        "--reference",
        type=int,
        default=0,
        help=reference_help,
    )
    p.add_argument("--mask", default=None, help="greyscale image: white magnify, black keep")
    p.add_argument(
        "--crop",
        nargs=4,
        type=int,
        default=None,
        metavar=("X", "Y", "W", "H"),
        help="magnify only this region of the frame (px; the output is the region)",
    )
    p.add_argument("--resize", default=None, metavar="W[xH]", help=resize_help)
    _add_stabilize(
        p,
        "register every frame to the first before magnifying, so camera shake is not "
        "magnified: translation (default) | similarity (a camera that turns) | affine | "
        "homography",
    )
    p.add_argument(
        "--keep-stabilized",
        action="store_true",
        help="with --stabilize: write the stabilized frames instead of warping back",
    )
    p.add_argument(
        "--device",
        default=None,
        choices=("cpu", "cuda"),
        help="for learned methods (default: cuda when present, else cpu)",
    )
    p.add_argument(
        "--set",
        dest="options",
        action="append",
        type=_option,
        default=[],
        metavar="KEY=VALUE",
        help="method option, e.g. lambda_c_px=16 (repeatable)",
    )


def _add_magnify(sub) -> None:
    p = sub.add_parser(
        "magnify",
        help="magnify the small motions (or colour changes) of a video",
        description="Magnify motions of INPUT into OUTPUT (.mp4 H.264, .mkv FFV1, dir/ PNGs). "
        "alpha is the total factor: output motion = alpha x input motion.",
    )
    p.add_argument("input", metavar="INPUT", help="a video file or a folder of frames")
    p.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUTPUT",
        help=".mp4 (H.264), .mkv (lossless FFV1) or a folder ending in / (PNG frames)",
    )
    add_magnification_options(p)
    p.add_argument(
        "--backend",
        default=None,
        choices=("torch", "onnx"),
        help="learned methods: run the network with torch (default) or ONNX Runtime (CPU)",
    )
    _add_time_window(p)
    p.add_argument("--side-by-side", action="store_true", help="write input | output")
    p.add_argument(
        "--tta",
        type=_epochs,
        default=None,
        metavar="EPOCHS",
        help="flowmag: test-time adaptation, fine-tune a copy on the input first (epochs)",
    )
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_run_magnify)


#: keyword arguments the command line passes to the Python API next to ``--set``'s (its
#: ``**options``): the temporal filter's flags, which Python takes as options
FILTER_FLAG_KEYS = ("order", "fir_taps")


def refuse_flag_settings(options: list[tuple[str, object]], function) -> None:
    """UsageError for a ``--set KEY`` that one of the command's flags sets: ``function``'s
    named parameters (``magnify`` or ``Stream``) and :data:`FILTER_FLAG_KEYS` (``--set
    order=3`` beside ``--order``: a TypeError traceback, or silently one of the two)."""
    from .magnify.api import named_arguments

    named = named_arguments(function) | set(FILTER_FLAG_KEYS)
    for key, _value in options:
        if key in named:
            flag = {"input": "INPUT", "output": "-o"}.get(key, "--" + key.replace("_", "-"))
            raise UsageError(f"--set {key}=... is what {flag} sets: give {flag} instead.")


def _method_settings(args: argparse.Namespace) -> dict:
    """The method's settings from --tta, --backend and --set (which wins); --quiet also
    hides FlowMag's adaptation bar, however its epochs were given."""
    from .magnify.api import magnify

    refuse_flag_settings(args.options, magnify)
    settings: dict = {}
    if args.tta is not None:
        settings["tta_epochs"] = args.tta
    if args.quiet and args.method == "flowmag":
        settings["tta_progress"] = False
    if args.backend:
        settings["backend"] = args.backend
        given = dict(args.options).get("backend")
        if given is not None and given != args.backend:
            raise UsageError(
                f"--backend {args.backend} and --set backend={given} disagree: give one of them."
            )
    return settings | dict(args.options)


def _run_magnify(args: argparse.Namespace) -> int:
    from .magnify.api import magnify

    if args.tta is not None and args.method != "flowmag":
        raise UsageError(
            "--tta fine-tunes FlowMag on the input before magnifying: it needs --method flowmag."
        )
    result = magnify(
        args.input,
        args.output,
        method=args.method,
        alpha=args.alpha,
        mode=args.mode,
        band=tuple(args.band) if args.band else None,
        filter=args.filter,
        fps=args.fps,
        reference=args.reference,
        mask=args.mask,
        resize=args.resize,
        crop=tuple(args.crop) if args.crop else None,
        start=args.start,
        end=args.end,
        device=args.device,  # None: MagnifyConfig's default (CUDA if seen; CPU for onnx)
        side_by_side=args.side_by_side,
        stabilize=args.stabilize,
        keep_stabilized=args.keep_stabilized,
        overwrite=args.overwrite,
        quiet=args.quiet,
        order=args.order,
        fir_taps=args.fir_taps,
        **_method_settings(args),
    )
    print(
        f"wrote {result.output}: {result.frames} frames, {result.width}x{result.height}, "
        f"{result.fps:g} fps, method {result.method}"
    )
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    return 0


def _add_methods(sub) -> None:
    p = sub.add_parser("methods", help="list the methods: kind, modes, weights, speed")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(run=_run_methods)


def _run_methods(args: argparse.Namespace) -> int:
    from .atomic import dumps_strict
    from .magnify.registry import default_method, methods, weights_available
    from .magnify.speeds import measured_fps, measured_speed
    from .models.card_summary import card_summary
    from .models.registry import model_card

    rows = []
    default = default_method()  # reads the shipped cards: once, not per method
    for spec in methods():
        installed = spec.weights is not None and weights_available(spec)
        card = model_card(spec.weights.removesuffix(".safetensors")) if installed else None
        rows.append(
            {
                "name": spec.name,
                "kind": spec.kind,
                "modes": list(spec.modes),
                "weights": "-"
                if spec.weights is None
                else ("installed" if installed else "missing"),
                "speed": measured_speed(spec.name),
                "speed_fps": measured_fps(spec.name),  # the same, as numbers (for --json)
                "paper": spec.paper,
                "summary": spec.summary,
                "trained": card_summary(card),
                "default": spec.name == default,
            }
        )
    if args.json:
        print(dumps_strict(rows, indent=2))
        return 0
    print(methods_table(rows, shutil.get_terminal_size((80, 24)).columns))
    return 0


def methods_table(rows: list[dict], columns: int = 80) -> str:
    """``motionmag methods`` as text that fits ``columns``: one line of facts per method,
    its paper and summary wrapped beneath, and a legend for the marks."""
    import textwrap

    from .magnify.speeds import recorded_machine

    def fps(row: dict) -> str:
        record = row["speed_fps"]
        if not record:
            return "-"
        sizes = record["fps"]
        if list(sizes) == ["640x360", "1080p"]:
            text = " / ".join(f"{v:.3g}" for v in sizes.values())
        else:  # another set of sizes: each named
            text = ", ".join(f"{v:.3g} @{k}" for k, v in sizes.items())
        return text if record["mode"] == "temporal" else f"{text} ({record['mode']})"

    weights = {"-": "-", "installed": "shipped", "missing": "none shipped"}
    cells = [
        [
            row["name"] + (" *" if row["default"] else ""),
            weights[row["weights"]],
            fps(row),
            ",".join(row["modes"]),  # in MethodSpec's one order
        ]
        for row in rows
    ]
    titles = ["method", "weights", "fps 640x360 / 1080p", "modes"]
    widths = [max(len(c[i]) for c in [titles, *cells]) for i in range(len(titles))]

    def line(values: list[str]) -> str:  # every column as wide as its widest cell
        return "  ".join(f"{v:<{w}}" for v, w in zip(values, widths, strict=True)).rstrip()

    width = max(40, columns - 1)
    wrap = textwrap.TextWrapper(
        width=width, initial_indent="    ", subsequent_indent="    ", break_on_hyphens=False
    )
    lines = [line(titles), "-" * min(width, len(line(titles)))]
    for row, row_cells in zip(rows, cells, strict=True):
        lines.append(line(row_cells))
        trained = f" [{row['trained']}]" if row["trained"] else ""
        lines.extend(wrap.wrap(f"{row['kind']}; {row['paper']}: {row['summary']}{trained}"))
    legend = (
        "* the default method. weights: - none needed; none shipped: train them (motionmag "
        "train NAME) or give a file with --set weights=FILE. [..., xG for x10]: the "
        "shipped weights' training and the gain they measure for alpha 10 on a photo "
        "moved 0.3 px. fps: frames per second (learned methods: static mode) on "
        f"{recorded_machine()} and later (motionmag bench --write-record); - not measured."
    )
    lines.extend(textwrap.wrap(legend, width=width, break_on_hyphens=False))
    return "\n".join(lines)


def _add_slice(sub) -> None:
    p = sub.add_parser("slice", help="x-t / y-t slice images of videos, side by side")
    p.add_argument("videos", nargs="+", metavar="VIDEO")
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--x", type=int, help="column: a y-t slice (rows y, columns time)")
    where.add_argument("--y", type=int, help="row: an x-t slice (rows time, columns x)")
    p.add_argument("-o", "--output", required=True, metavar="PNG")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    p.set_defaults(run=_run_slice)


def _run_slice(args: argparse.Namespace) -> int:
    from .video import save_png, slice_figure
    from .video.compose import image_format

    image_format(args.output)
    check_output_path(args.output, overwrite=args.overwrite, inputs=args.videos, flag="-o")
    save_png(args.output, slice_figure(args.videos, x=args.x, y=args.y, caption=True))
    print(f"wrote {args.output}")
    return 0


def _add_spectrum(sub) -> None:
    p = sub.add_parser("spectrum", help="temporal spectrum of a region, to choose a band")
    p.add_argument("video", metavar="VIDEO")
    p.add_argument(
        "--roi",
        nargs=4,
        type=int,
        metavar=("X", "Y", "W", "H"),
        default=None,
        help="the region to read, px (default: the whole frame)",
    )
    p.add_argument("--fps", type=_finite_float, default=None, help="override the frame rate")
    _add_time_window(p)
    _add_stabilize(
        p,
        "first register every frame to the first on what lies outside --roi, so a shaking "
        "camera does not smear the spectrum: translation (default) | similarity | affine | "
        "homography",
    )
    p.add_argument("-o", "--output", required=True, metavar="PNG")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_run_spectrum)


def _run_spectrum(args: argparse.Namespace) -> int:
    from .eval.spectrum import plot_spectrum, region_spectrum
    from .video import save_png
    from .video.compose import image_format

    image_format(args.output)
    check_output_path(args.output, overwrite=args.overwrite, inputs=[args.video], flag="-o")
    spectrum = region_spectrum(
        args.video,
        args.roi,
        args.fps,
        args.start,
        args.end,
        stabilize=args.stabilize,
        quiet=args.quiet,
    )
    save_png(args.output, plot_spectrum(spectrum, name=os.path.basename(str(args.video))))
    low, high = spectrum.suggested_band()
    if spectrum.has_clear_peak:
        print(
            f"wrote {args.output}: a peak at {spectrum.peak_hz:.2f} Hz; "
            f"try --band {low:.2f} {high:.2f}"
        )
    else:
        print(
            f"wrote {args.output}: no clear peak above the 1/f background (the most "
            f"prominent bump is at {spectrum.peak_hz:.2f} Hz); look at the plot, or try "
            "--roi on the part that moves."
        )
    return 0


def _add_measure(sub) -> None:
    p = sub.add_parser(
        "measure",
        help="how far a region moves, frame by frame (px), and how much more in a magnified video",
        description="Measure the translation of a region of each VIDEO relative to a "
        "reference frame (global Lucas-Kanade, sub-pixel): its frequency, amplitude, RMS "
        "and peak-to-peak in px along the direction of motion. Give an input and its "
        "magnified output to measure the magnification achieved.",
    )
    p.add_argument("videos", nargs="+", metavar="VIDEO")
    p.add_argument(
        "--roi",
        nargs=4,
        type=int,
        action="append",
        metavar=("X", "Y", "W", "H"),
        default=None,
        help="region in px, at least 24 a side (default: the whole frame); repeat it to "
        "measure several regions and how each moves against the first (amplitude ratio "
        "and phase)",
    )
    p.add_argument(
        "--grid",
        nargs=2,
        type=int,
        metavar=("COLS", "ROWS"),
        default=None,
        help="tile the region (--roi, default the whole frame) into COLS x ROWS cells and "
        "map each cell's amplitude and phase at the strongest cell's frequency",
    )
    p.add_argument("--map", metavar="PNG", help="with --grid: draw the amplitude and phase maps")
    p.add_argument(
        "--freq",
        type=_finite_float,
        default=None,
        metavar="HZ",
        help="read amplitudes and phases at this frequency instead of the spectral peak "
        "(the strongest cell's with --grid), e.g. a second mode",
    )
    p.add_argument(
        "--reference", type=int, default=0, help="reference frame, counted from --start (default 0)"
    )
    p.add_argument(
        "--band",
        nargs=2,
        type=_finite_float,
        metavar=("LOW", "HIGH"),
        default=None,
        help="band-pass the displacement to LOW-HIGH Hz before measuring (e.g. around a "
        "vibration), so drift and noise outside it do not count",
    )
    p.add_argument("--fps", type=_finite_float, default=None, help="override the frame rate")
    _add_time_window(p)
    _add_stabilize(
        p,
        "measure against the scene, not the camera: register every frame to the first "
        "on what lies outside the regions (translation (default) | similarity | affine | "
        "homography)",
    )
    p.add_argument("--csv", metavar="PATH", help="write the per-frame displacements here")
    p.add_argument("--json", metavar="PATH", help="write the summary here")
    p.add_argument("--plot", metavar="PNG", help="draw the displacement against time")
    p.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_run_measure)


def _run_measure(args: argparse.Namespace) -> int:
    from .eval.region_motion import (
        check_frequency,
        describe_regions,
        plot_region_motion,
        region_motions,
        write_motion_csv,
    )
    from .eval.report import write_json
    from .video import probe, save_png
    from .video.compose import image_format

    if args.band is not None and not 0 < args.band[0] < args.band[1]:
        raise UsageError("--band LOW HIGH needs 0 < LOW < HIGH (in Hz).")
    if args.map and args.grid is None:
        raise UsageError("--map draws the cells of --grid: give --grid COLS ROWS too.")
    if args.freq is not None:  # before any video is read; per video again when measured
        check_frequency(args.freq, float(probe(args.videos[0], fps=args.fps).fps))
        if args.band is not None and not args.band[0] <= args.freq <= args.band[1]:
            raise UsageError(
                f"--freq {args.freq:g} Hz is outside --band {args.band[0]:g} {args.band[1]:g}, "
                "which removes it: read a frequency inside the band."
            )
    if args.grid is not None and (args.plot or (args.roi and len(args.roi) > 1)):
        raise UsageError(
            "--grid tiles one region and maps it (--map): give at most one --roi, and "
            "--map instead of --plot."
        )
    for picture in (args.plot, args.map):
        if picture:
            image_format(picture)
    outputs = {"--csv": args.csv, "--json": args.json, "--plot": args.plot, "--map": args.map}
    check_distinct_outputs(outputs)
    for flag, path in outputs.items():
        if path:
            suffix = {"--csv": ".csv", "--json": ".json"}.get(flag)
            check_output_path(
                path, overwrite=args.overwrite, inputs=args.videos, flag=flag, suffix=suffix
            )
    _check_same_size(args.videos, args.fps)
    if args.grid is not None:
        return _run_measure_grid(args)
    rois = args.roi or [None]
    band = tuple(args.band) if args.band else None
    # per_video[v][r]: video v's motion in region r
    per_video = [
        region_motions(
            video,
            rois,
            args.reference,
            args.fps,
            band,
            quiet=args.quiet,
            start_s=args.start,
            end_s=args.end,
            stabilize=args.stabilize,
        )
        for video in args.videos
    ]
    regions, text = describe_regions(per_video, args.freq)
    print(text)
    everything = [videos[r] for r in range(len(rois)) for videos in per_video]
    if args.csv:
        write_motion_csv(args.csv, everything)
    if args.json:
        write_json(
            args.json, {"band_hz": args.band, "reference": args.reference, "regions": regions}
        )
    if args.plot:
        save_png(args.plot, plot_region_motion(everything))
    for path in (args.csv, args.json, args.plot):
        if path:
            print(f"wrote {path}")
    return 0


def _check_same_size(videos: Sequence[str], fps: float | None) -> None:
    """UsageError unless every video has the first one's frame size (a region is one set
    of pixels in all of them: a ``--side-by-side`` output holds the input on its left)
    and rate (a ratio compares motions at one frequency)."""
    from .eval.region_motion import check_same_rate
    from .video import probe

    first = probe(videos[0], fps=fps)
    for video in videos[1:]:
        info = probe(video, fps=fps)
        if (info.width, info.height) != (first.width, first.height):
            raise UsageError(
                f"'{video}' is {info.width}x{info.height} and '{videos[0]}' "
                f"{first.width}x{first.height}: measure videos of one size (a --side-by-side "
                "output holds the input on its left half; magnify without it to measure)."
            )
        check_same_rate(videos[0], float(first.fps), video, float(info.fps))


def _run_measure_grid(args: argparse.Namespace) -> int:
    """``measure --grid``: the amplitude and phase of every cell (eval/motion_map.py)."""
    from .eval.motion_map import (
        PHASE_FLOOR,
        format_map,
        measure_grid,
        plot_motion_maps,
        reference_frame,
    )
    from .eval.region_motion import write_motion_csv
    from .eval.report import write_json
    from .video import save_png

    cols, rows = args.grid
    roi = args.roi[0] if args.roi else None
    band = tuple(args.band) if args.band else None
    maps, per_video = measure_grid(
        args.videos,
        roi,
        cols,
        rows,
        args.reference,
        args.fps,
        band,
        args.freq,
        args.quiet,
        args.start,
        args.end,
        args.stabilize,
    )
    for motion in maps:
        print(format_map(motion))
    moving = int(maps[0].moving_cells().sum())
    for motion in maps[1:]:
        print(
            f"{motion.path} moves x{motion.median_ratio(maps[0]):.2f} as much as "
            f"{maps[0].path} (the median over the {moving} cells that move there, at "
            f"least {PHASE_FLOOR:.0%} of the strongest)"
            if moving
            else f"{motion.path}: nothing moves measurably in {maps[0].path}, so no ratio to it"
        )
    if args.csv:
        write_motion_csv(args.csv, [m for motions in per_video for m in motions])
    if args.json:
        document = {"band_hz": args.band, "reference": args.reference}
        ratios = {"median_ratio_to_first": [m.median_ratio(maps[0]) for m in maps[1:]]}
        write_json(
            args.json,
            {**document, "maps": [m.to_dict() for m in maps], **(ratios if maps[1:] else {})},
        )
    if args.map:
        backgrounds = [reference_frame(motions[0], args.fps) for motions in per_video]
        save_png(args.map, plot_motion_maps(maps, backgrounds))
    for path in (args.csv, args.json, args.map):
        if path:
            print(f"wrote {path}")
    return 0


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="make a sample clip, magnify it, show where the results are")
    p.add_argument(
        "-o", "--output", default="motionmag-demo", metavar="DIR",
        help="folder for the results (default motionmag-demo)",
    )  # fmt: skip
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo's files")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=_run_demo)


def _run_demo(args: argparse.Namespace) -> int:
    from .demo import ALPHA, AMPLITUDE_PX, BAND_HZ, DEMO_ROI, FREQUENCY_HZ, run_demo

    result = run_demo(args.output, quiet=args.quiet, overwrite=args.overwrite)
    print(f"A {AMPLITUDE_PX} px vibration at {FREQUENCY_HZ:g} Hz, magnified x{ALPHA:g} (linear):")
    print(f"  input          {result.input}")
    print(f"  magnified      {result.magnified}")
    print(f"  side by side   {result.side_by_side}")
    print(f"  x-t slice      {result.slice}")
    print(f"  measured magnification x{result.measured_alpha:.1f} (asked for x{ALPHA:g})")
    x, y, w, h = DEMO_ROI
    print(
        f"Measure it yourself: motionmag measure {result.input} {result.magnified} "
        f"--roi {x} {y} {w} {h} --band {BAND_HZ[0]:g} {BAND_HZ[1]:g}"
    )
    return 0


def _add_eval(sub) -> None:
    from .eval.cli_eval import add_eval_arguments, run_eval

    p = sub.add_parser(
        "eval",
        help="evaluate methods: synthetic pairs, linearity, circles, rig, real video",
        description="Run the evaluation suites of docs/EVALUATION.md for one or more methods; "
        "print a table, and optionally write JSON (--json) and Fig. 8-style plots (--plot).",
    )
    add_eval_arguments(p, _option)
    p.set_defaults(run=run_eval)


def _add_bench(sub) -> None:
    from .eval.cli_bench import add_bench_arguments, run_bench_command

    p = sub.add_parser(
        "bench",
        help="frames per second, GFLOPs, parameters and peak memory of every method",
        description="Time methods at 640x360 and 1920x1080 side by side with the oh2018 "
        "architecture (ratios, as these machines are noisy); print a table, optionally "
        "write JSON (--json) and the record `motionmag methods` shows (--write-record).",
    )
    add_bench_arguments(p)
    p.set_defaults(run=run_bench_command)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="motionmag",
        description="Video motion magnification: make small motions visible, and measurable.",
    )
    parser.add_argument("--version", action="version", version=f"motionmag {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    from .analyze.cli_analyze import add_analyze_command
    from .live.cli_live import add_live_command
    from .synth.synth_cli import add_synth_command
    from .train.cli_train import add_train_command

    for add in (
        _add_magnify,
        _add_methods,
        _add_slice,
        _add_spectrum,
        _add_measure,
        _add_demo,
        _add_eval,
        _add_bench,
        add_synth_command,
        add_train_command,
        add_analyze_command,
        add_live_command,
    ):
        add(sub)
    from .cli_examples import add_examples

    add_examples(parser, sub)
    return parser


def _bare_stabilize(argv: list[str]) -> list[str]:
    """A bare ``--stabilize`` just before a file name (``magnify --stabilize in.mp4``)
    would take the file as its model; read it as the bare flag's model instead (a
    token with a dot or a slash, or naming an existing file or folder, is a path, never a
    model: a frame folder ``frames`` was taken for a model)."""
    out = []
    for i, token in enumerate(argv):
        out.append(token)
        if token != "--stabilize":
            continue
        following = argv[i + 1] if i + 1 < len(argv) else ""
        path_like = "." in following or "/" in following or os.path.exists(following)
        if following not in STABILIZE_MODELS and path_like:
            out.append(DEFAULT_STABILIZE_MODEL)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``motionmag`` console script; returns the exit status."""
    argv = _bare_stabilize(list(sys.argv[1:] if argv is None else argv))
    empty = _empty_argument(argv)
    if empty is not None:
        print(f"motionmag: error: {empty}", file=sys.stderr)
        return 2
    _given_argv[:] = argv
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as stop:  # argparse: --help, --version, or a usage error (status 2)
        return int(stop.code or 0)
    finally:
        _given_argv.clear()
    args.argv = argv  # the command as given, for the records commands write (eval --json)
    keep_freed_memory()  # large per-frame buffers are reused, not re-faulted (allocator.py)
    startup_interrupt.command_starts()  # parsed (its imports done): _run reports a Ctrl+C
    with _sigterm_as_interrupt(), _warnings_as_notes():
        return _run(args)


#: the package's folder: warnings raised from files under it are ours
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep


@contextlib.contextmanager
def _warnings_as_notes() -> Iterator[None]:
    """While a command runs, a warning motionmag raises reads as the command line's other
    notes, ``note: ...`` (Python's form adds the file, line, class and source line);
    others as Python shows them. Put back afterwards (a caller of ``main`` keeps its own)."""
    python_format = warnings.formatwarning

    def format_warning(message, category, filename, lineno, line=None) -> str:
        if os.path.abspath(str(filename)).startswith(_PACKAGE_DIR):
            return f"note: {message}\n"
        return python_format(message, category, filename, lineno, line)

    warnings.formatwarning = format_warning
    try:
        yield
    finally:
        warnings.formatwarning = python_format


def _empty_argument(argv: list[str]) -> str | None:
    """The sentence for an empty argument (``--csv ''``, ``--json=``, an empty input
    path), which argparse takes as a value: some commands read it as "not given" and
    wrote nothing with exit 0, others as the current folder. None when there is none."""
    for index, item in enumerate(argv):
        if item.startswith("--") and item.endswith("=") and len(item) > 3:
            flag = item[:-1]
        elif item == "" or item.isspace():
            before = argv[index - 1] if index else ""
            flag = before if before.startswith("-") and not _is_number(before) else None
        else:
            continue
        where = f"to {flag}" if flag else "as an argument"
        return f"an empty value was given {where}: give a path or value, or leave it out."
    return None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`Terminated` in the main thread."""

    def terminate(_signum, _frame) -> None:
        raise Terminated

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


#: what a stop outside a trainer's own handler keeps, by command (default: nothing)
_KEPT_AFTER_STOP = {
    "train": "what the run had written is kept: --resume continues from its last checkpoint "
    "(before the first one, run the same command again).",
    "synth": "the shards written so far are kept, and the same command continues from them.",
}


def _kept_after_stop(args: argparse.Namespace) -> str:
    """What a stop keeps (:data:`_KEPT_AFTER_STOP`); DeepMag's trainers have no --resume:
    the same command continues their run."""
    command = getattr(args, "command", None)
    if command == "train" and str(getattr(args, "model", "")).startswith("deepmag"):
        return "the run's last checkpoint is kept, and the same command continues from it."
    return _KEPT_AFTER_STOP.get(command, startup_interrupt.NOTHING_KEPT)


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; a failure becomes one sentence and an exit status."""
    try:
        return int(args.run(args) or 0)
    except MotionmagError as error:
        message = str(error).rstrip()
        print(f"motionmag: error: {message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt as stop:
        killed = isinstance(stop, Terminated)
        print(
            f"motionmag: {'stopped by SIGTERM' if killed else 'interrupted'}; "
            + _kept_after_stop(args),
            file=sys.stderr,
        )
        return 143 if killed else 130
    except MemoryError:
        advice = _MEMORY_ADVICE.get(getattr(args, "command", None), "try smaller settings")
        print(f"motionmag: error: out of memory: {advice}.", file=sys.stderr)
        return 1
    except BrokenPipeError:  # the reader went away (`motionmag methods | head`): quietly
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # 128 + SIGPIPE, as a shell pipeline reports it
    except OSError as error:
        print(os_error_sentence(error), file=sys.stderr)
        return 1


#: what to do about the system errors a user can meet, by errno name
_OS_ADVICE = {
    "ENOSPC": "free some disk space, or write somewhere else",
    "EDQUOT": "free some of your disk quota, or write somewhere else",
    "EACCES": "check the file's permissions, or choose another path",
    "EPERM": "check the file's permissions, or choose another path",
    "EROFS": "the disk is read-only: write somewhere else",
    "ENOENT": "check the path",
    "EIO": "the disk or network share failed: check it, and run the command again",
    "EMFILE": "too many files are open: close other programs, or raise `ulimit -n`",
}


def os_error_sentence(error: OSError) -> str:
    """One ``motionmag: error:`` line for a system error: what failed, on which file, and
    what to do (it gave the first two only)."""
    import errno

    what = str(error.strerror or error).rstrip(". ")
    if error.filename:
        what += f": {error.filename}"
    advice = _OS_ADVICE.get(errno.errorcode.get(error.errno or -1, ""), "")
    return f"motionmag: error: {what}" + (f"; {advice}." if advice else ".")


if __name__ == "__main__":
    sys.exit(main())
