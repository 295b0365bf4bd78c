"""``motionmag bench [METHOD ...]``: speed, FLOPs, parameters and memory, side by side.

What matters: every argument is checked before any timing (one sentence, exit 2,
nothing written); the oh2018 architecture is always timed in the same run, as the
reference the ratios are taken to (EVALUATION.md section 6, and :mod:`.bench`);
``--write-record`` updates the record ``motionmag methods`` shows only with protocol
measurements (both default sizes, at least 5 runs).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from ..devices import check_parallel_count
from ..errors import UsageError
from ..output_paths import check_output_path
from .bench import (
    DEFAULT_SIZES,
    RECORD,
    BenchResult,
    check_record_protocol,
    format_table,
    merge_record,
    parse_sizes,
    run_bench,
    select_methods,
    to_json,
)
from .report import write_json

#: the learned methods' speed-path options `motionmag bench` can time beside the plain path
SPEED_FLAGS = ("backend", "precision", "batch")


def add_bench_arguments(p: argparse.ArgumentParser) -> None:
    """The flags of ``motionmag bench``."""
    default_sizes = ",".join(f"{w}x{h}" for w, h in DEFAULT_SIZES)
    p.add_argument(
        "methods",
        nargs="*",
        metavar="METHOD",
        help="registered methods (default: all whose weights are installed; oh2018 is "
        "always timed as the reference, with random weights if none are installed)",
    )
    p.add_argument(
        "--sizes",
        default=default_sizes,
        help=f"comma-separated WIDTHxHEIGHT frame sizes in px (default {default_sizes})",
    )
    p.add_argument(
        "--frames",
        type=int,
        default=None,
        help="frames per timed run (default: 20 at 640x360, 4 at 1920x1080, in proportion to "
        "1 / area, from 4 to 100)",
    )
    p.add_argument(
        "--runs", type=int, default=5, help="timed runs; fps from the median (default 5)"
    )
    p.add_argument("--threads", type=int, default=2, help="torch / OpenCV threads (default 2)")
    p.add_argument(
        "--mode",
        choices=("static", "dynamic", "temporal"),
        default=None,
        help="time every method in this mode, leaving out those without it (default: static "
        "for learned and two-frame methods, temporal, band 1-3 Hz, for the others)",
    )
    p.add_argument("--json", default=None, metavar="PATH", help="write all results as JSON")
    p.add_argument(
        "--no-memory",
        dest="memory",
        action="store_false",
        help="time in this process; skip the peak RSS of a fresh process per case",
    )
    p.add_argument(
        "--write-record",
        action="store_true",
        help="merge the fps into the record `motionmag methods` shows (protocol runs only)",
    )
    p.add_argument(
        "--backend",
        choices=("torch", "onnx"),
        default=None,
        help="oh2018, ha2024, ha2024-fast: time them plain and with this backend",
    )
    p.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default=None,
        help="oh2018, ha2024, ha2024-fast: time them plain and at this precision",
    )
    p.add_argument(
        "--batch",
        type=int,
        default=None,
        metavar="N",
        help="oh2018, ha2024, ha2024-fast: time them plain and decoding N frames at once",
    )
    p.add_argument("--overwrite", action="store_true", help="replace --json if it exists")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _progress(result: BenchResult) -> None:
    print(
        f"motionmag bench: {result.label} {result.size} {result.mode}: {result.fps:.3g} fps",
        file=sys.stderr,
        flush=True,
    )


def command_line(args: argparse.Namespace) -> str:
    """The parsed arguments as one explicit ``motionmag bench`` command (for the record)."""
    words = ["motionmag", "bench", *args.methods, "--sizes", args.sizes.replace(" ", "")]
    if args.frames is not None:
        words += ["--frames", str(args.frames)]
    words += ["--runs", str(args.runs), "--threads", str(args.threads)]
    if args.mode:
        words += ["--mode", args.mode]
    for flag in SPEED_FLAGS:
        if getattr(args, flag, None):
            words += [f"--{flag}", str(getattr(args, flag))]
    if not args.memory:
        words.append("--no-memory")
    if args.json:
        words += ["--json", args.json]
    if args.write_record:
        words.append("--write-record")
    return shlex.join(words)


def run_bench_command(args: argparse.Namespace) -> int:
    """Check the arguments, time every case, print the table, write --json / the record."""
    sizes = parse_sizes(args.sizes)
    for flag, value in (("--runs", args.runs), ("--threads", args.threads)):
        if value < 1:
            raise UsageError(f"{flag} must be at least 1, not {value}.")
    check_parallel_count("--threads", args.threads)
    if args.frames is not None and args.frames < 1:
        raise UsageError(f"--frames must be at least 1, not {args.frames}.")
    if args.json:
        check_output_path(args.json, overwrite=args.overwrite, flag="--json", suffix=".json")
    if args.batch is not None and args.batch < 1:
        raise UsageError(f"--batch must be at least 1, not {args.batch}.")
    options = {k: getattr(args, k) for k in SPEED_FLAGS if getattr(args, k, None)}
    if args.write_record:
        check_record_protocol(sizes, args.runs, args.threads, args.frames, args.mode)
        if options:
            raise UsageError(
                "--write-record keeps only default settings: drop --backend / --precision / "
                "--batch."
            )
    chosen = select_methods(args.methods or None)  # unknown names, missing weights fail here
    if not args.methods and not args.quiet:
        from ..magnify.registry import methods, weights_available

        untimed = [s.name for s in methods() if s.weights and not weights_available(s)]
        untimed = [name for name in untimed if all(name != spec.name for spec, _ in chosen)]
        if untimed:  # "every installed method": say which are not
            print(f"note: {', '.join(untimed)} have no weights installed: not timed (name "
                  "one to time its architecture with random weights).",
                  file=sys.stderr)  # fmt: skip
    if args.mode:
        without = [spec.name for spec, _ in chosen if args.mode not in spec.modes]
        if without and len(without) == len(args.methods or []):
            raise UsageError(
                f"{', '.join(without)} {'has' if len(without) == 1 else 'have'} no "
                f"{args.mode} mode: choose another --mode (motionmag methods lists each "
                "method's modes)."
            )
        if without and not args.quiet:
            print(f"note: {', '.join(without)} {'has' if len(without) == 1 else 'have'} no "
                  f"{args.mode} mode: left out.", file=sys.stderr)  # fmt: skip
    if options:  # combinations that cannot run fail before anything is timed
        from ..magnify.learned import check_speed_settings

        check_speed_settings(**options)
        if options.get("backend") == "onnx":  # before oh2018 (always timed) runs plain
            from ..magnify.onnx_backend import require_onnx

            require_onnx(export=True)
        plain = [spec.name for spec, _ in chosen if not spec.speed_options]
        if plain and not args.quiet:
            print(
                f"note: {', '.join(plain)} take{'s' if len(plain) == 1 else ''} no "
                f"{' / '.join('--' + k for k in options)}: timed plain only.",
                file=sys.stderr,
            )
    command = command_line(args)
    results = run_bench(
        args.methods or None,
        sizes=sizes,
        frames=args.frames,
        runs=args.runs,
        threads=args.threads,
        memory=args.memory,
        progress=None if args.quiet else _progress,
        options=options or None,
        mode=args.mode,
    )
    print(format_table(results))
    if args.json:
        write_json(args.json, to_json(results, command=command))
        print(f"results: {args.json}")
    if args.write_record:
        record = json.loads(RECORD.read_text()) if RECORD.is_file() else {"methods": {}}
        write_json(RECORD, merge_record(record, results, command=command))
        print(f"record: {RECORD}")
    return 0
