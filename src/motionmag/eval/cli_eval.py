"""``motionmag eval METHOD [METHOD ...]``: run evaluation suites, print, save and plot.

What matters: every check of an argument happens before any work (one sentence, exit
2/3, nothing written); a suite that does not apply to a method (e.g. pair tests for a
temporal-only method) is skipped with a note instead of failing the whole run; outputs
are written atomically at the end.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
import time
from pathlib import Path

from ..devices import resolve_device
from ..errors import InputError, UsageError
from ..flow.opencv import FLOW_ESTIMATORS
from ..magnify.registry import get_method
from ..output_paths import check_distinct_outputs, check_output_path
from .report import format_table, plot, read_json, to_json, write_json
from .results import SuiteResult
from .runner import MethodUnderTest
from .suites import GROUPS, SUITES, resolve_suites

PLOT_SUFFIXES = {".png", ".pdf", ".svg", ".jpg", ".jpeg"}


def add_eval_arguments(p: argparse.ArgumentParser, option_type) -> None:
    """The flags of ``motionmag eval`` (``option_type`` parses KEY=VALUE)."""
    listing = "; ".join(f"{s.name}: {s.summary}" for s in SUITES)
    p.add_argument("methods", nargs="+", metavar="METHOD", help="one or more registered methods")
    p.add_argument(
        "--suite",
        default="all",
        help=f"comma-separated suites or groups ({', '.join(sorted(GROUPS))}); "
        f"default all. Suites: {listing}",
    )
    p.add_argument("--n", type=int, default=None, help="cases per level (default: the suite's)")
    p.add_argument("--size", type=int, default=None, help="frame side in px (default: suite's)")
    p.add_argument("--seed", type=int, default=0, help="seed of the evaluation sets (default 0)")
    p.add_argument(
        "--alpha",
        type=float,
        default=None,
        help="total factor for the suites that take one (physio-tasks; default: the suite's)",
    )
    p.add_argument(
        "--device",
        default="cpu",
        help="cpu | cuda (default: cpu, so numbers compare across machines)",
    )
    p.add_argument(
        "--set",
        dest="options",
        action="append",
        type=option_type,
        default=[],
        metavar="KEY=VALUE",
        help="method setting, applied to every METHOD (repeatable)",
    )
    p.add_argument(
        "--video", default=None, help="clip for the real-video suite (default: built-in)"
    )
    p.add_argument(
        "--ruler",
        default=None,
        choices=FLOW_ESTIMATORS,
        help="optical flow that measures the motion in the real-video suite (default dis; "
        "FlowMag's Table 1 uses several rulers, none a method was trained or warped with)",
    )
    p.add_argument("--json", default=None, metavar="PATH", help="write all results as JSON")
    p.add_argument(
        "--plot", default=None, metavar="PATH", help="write the curves (.png/.pdf/.svg/.jpg)"
    )
    p.add_argument(
        "--compare",
        nargs="+",
        default=[],
        metavar="JSON",
        help="add results saved earlier with --json to the table and plot",
    )
    p.add_argument("--overwrite", action="store_true", help="replace --json / --plot if they exist")
    p.add_argument("--quiet", action="store_true", help="no progress bars")


def _check_arguments(args: argparse.Namespace) -> None:
    for name in args.methods:
        get_method(name)
    twice = sorted({name for name in args.methods if args.methods.count(name) > 1})
    if twice:  # it ran twice and printed two identical columns
        raise UsageError(
            f"{', '.join(twice)} is named more than once: name each method once (compare "
            "settings of one method with --json and --compare)."
        )
    if args.alpha is not None and not (math.isfinite(args.alpha) and args.alpha > 0):
        raise UsageError(f"--alpha must be a positive total factor, not {args.alpha}.")
    if args.n is not None and args.n < 1:
        raise UsageError(f"--n must be at least 1, not {args.n}.")
    if args.size is not None and args.size < 32:
        raise UsageError(f"--size {args.size} is too small: use at least 32 px.")
    if args.plot and Path(args.plot).suffix.lower() not in PLOT_SUFFIXES:
        raise UsageError(f"--plot '{args.plot}' must end in {', '.join(sorted(PLOT_SUFFIXES))}.")
    check_distinct_outputs({"--json": args.json, "--plot": args.plot})
    for flag, path in (("--json", args.json), ("--plot", args.plot)):
        if path:
            inputs = [*args.compare, args.video]
            suffix = ".json" if flag == "--json" else None
            check_output_path(
                path, overwrite=args.overwrite, inputs=inputs, flag=flag, suffix=suffix
            )
    resolve_device(args.device)


def _check_video(args: argparse.Namespace) -> None:
    """InputError for a ``--video`` that is missing or not a video (after the check that
    a real-video suite is in the run, which says more when it is not)."""
    if args.video and not Path(args.video).exists():
        raise InputError(f"video '{args.video}' does not exist: check the path.")
    if args.video:  # a file that is not a video: before any suite runs
        from ..video.probe import probe

        probe(args.video)


def _check_method_options(args: argparse.Namespace) -> None:
    """Build each method once with the ``--set`` options (and ``--alpha``), before any
    suite runs: an option the method does not have, a bad value, or weights that are
    not shipped is one sentence (each suite used to report it as 'skipped', and the run
    went on without the method, exit 0)."""
    from ..magnify.config import MagnifyConfig
    from ..magnify.registry import build_magnifier

    for name in args.methods:
        spec = get_method(name)
        mode = "temporal" if "temporal" in spec.modes else spec.modes[0]
        build_magnifier(
            MagnifyConfig(
                method=name, alpha=args.alpha if args.alpha is not None else 10.0, mode=mode,
                band=(1.0, 3.0) if mode == "temporal" else None, fps=30.0,
                device=args.device, options=dict(args.options),
            )
        )  # fmt: skip


def _check_suite_flags(args: argparse.Namespace, suites) -> None:
    """UsageError for a flag that none of the chosen suites reads (it would change
    nothing): --alpha, --video and --ruler."""
    names = [spec.name for spec in suites]
    if args.alpha is not None and not any(spec.takes_alpha for spec in suites):
        takers = [spec.name for spec in SUITES if spec.takes_alpha]
        which = f"the {takers[0]} suite" if len(takers) == 1 else f"the suites {', '.join(takers)}"
        raise UsageError(
            f"--alpha is read only by {which}, which this run ({', '.join(names)}) does not "
            "include: leave it out, or add it with --suite."
        )
    for flag, value in (("--video", args.video), ("--ruler", args.ruler)):
        if value is not None and "real-video" not in names:
            raise UsageError(
                f"{flag} is read by the real-video suite only, which is not in this run "
                f"({', '.join(names)}): leave it out, or add --suite real-video."
            )


#: settings that do not make two runs' numbers incomparable (``unscored_alphas`` is a
#: result the linearity suite keeps beside its settings)
_INCIDENTAL_SETTINGS = {"seconds", "unscored_alphas"}


def _compared_results(
    compared: list[tuple[str, SuiteResult]],
    results: list[SuiteResult],
    wanted: set[str],
    paths: list[str],
) -> list[SuiteResult]:
    """The ``--compare`` results of the suites run, each labelled with its file; a note
    for a file with none of them, and for one run with other settings (other scenes,
    sizes or levels: its numbers are not like for like; a file with none is said by
    :func:`run_eval` before the work)."""
    import dataclasses

    # each compared result against this run's result of its own method (the settings of
    # a suite can differ by method: a temporal-only method's band), else the suite's first
    ours: dict[tuple[str, str | None], dict] = {}
    floors: dict[str, float | None] = {}
    for r in results:
        ours.setdefault((r.suite, None), r.settings)
        ours[(r.suite, r.method)] = r.settings
        floors.setdefault(r.suite, _first_floor(r))
    kept = []
    for path in paths:
        mine = [r for p, r in compared if p == path and r.suite in wanted]
        for result in mine:
            here = ours.get((result.suite, result.method), ours.get((result.suite, None), {}))
            theirs = result.settings
            differ = sorted(
                key for key in set(theirs) | set(here)
                if key not in _INCIDENTAL_SETTINGS and theirs.get(key) != here.get(key)
            )  # fmt: skip
            if differ and result.suite in floors:
                theirs_floor, ours_floor = _first_floor(result), floors[result.suite]
                floor = (
                    f" (its input floor at the first level is {theirs_floor:.4g}, this "
                    f"run's {ours_floor:.4g}; the table's floor column is this run's)"
                    if theirs_floor is not None and ours_floor is not None
                    else ""
                )
                print(f"motionmag eval: note: {result.method} / {result.suite} of '{path}' "
                      f"was run with other settings ({', '.join(differ)}): its numbers are "
                      f"not on the same cases as this run's{floor}.", file=sys.stderr)  # fmt: skip
            label = f"{result.method} ({Path(path).name})"
            kept.append(dataclasses.replace(result, method=label))
    return kept


def _first_floor(result: SuiteResult) -> float | None:
    """The input's score at the suite's first level (its floor), or None without one."""
    if not result.floor or not result.levels:
        return None
    value = result.levels[0].values.get(result.floor)
    return float(value) if value is not None else None


def _refuse_suite_settings(options: list[tuple[str, object]]) -> None:
    """UsageError for a ``--set KEY`` that every suite sets itself (alpha, mode, band, fps,
    reference, filter, device: ``magnify_frames``'s own arguments); it was a TypeError
    traceback."""
    from ..magnify.api import magnify_frames, named_arguments

    named = named_arguments(magnify_frames) - {"frames"}
    for key, _value in options:
        if key in named:
            raise UsageError(
                f"--set {key}=... is set by each suite itself: leave it out (--set is for a "
                "method's own options, e.g. --set lambda_c_px=16)."
            )


def run_eval(args: argparse.Namespace) -> int:
    """Run the chosen suites for every method; print, then write --json / --plot."""
    _check_arguments(args)
    suites = resolve_suites(args.suite)
    _check_suite_flags(args, suites)
    _check_video(args)
    compared = [(path, r) for path in args.compare for r in read_json(path)]
    wanted = {spec.name for spec in suites}
    for path in args.compare:  # said before the work, not after it
        if not any(p == path and r.suite in wanted for p, r in compared):
            print(f"motionmag eval: note: '{path}' has no results of the suites to run "
                  f"({', '.join(sorted(wanted))}): nothing will be compared from it.",
                  file=sys.stderr)  # fmt: skip
    _refuse_suite_settings(args.options)
    _check_method_options(args)
    options = dict(args.options)
    results: list[SuiteResult] = []
    for name in args.methods:
        method = MethodUnderTest(name, device=args.device, options=options)
        for spec in suites:
            kwargs: dict = {"seed": args.seed, "progress": not args.quiet}
            if args.n is not None:
                kwargs["n"] = args.n
            if args.size is not None:
                kwargs["size_px"] = args.size
            if spec.takes_alpha and args.alpha is not None:
                kwargs["alpha"] = args.alpha
            if spec.name == "real-video":
                kwargs["estimator"] = args.ruler or "dis"
                if args.video:
                    kwargs["video"] = args.video
            start = time.perf_counter()
            try:
                result = spec.load()(method, **kwargs)
            except UsageError as error:
                print(f"motionmag eval: {name} / {spec.name} skipped: {error}", file=sys.stderr)
                continue
            result.settings.setdefault("seconds", round(time.perf_counter() - start, 1))
            if options:  # --set changes the numbers: --compare notes a run without them
                result.settings["options"] = dict(options)
            results.append(result)
    if not results:
        raise UsageError("no suite applies to the chosen method(s): see the notes above.")
    everything = results + _compared_results(compared, results, wanted, args.compare)
    print(format_table(everything))
    written: list[str] = []
    try:  # both files or neither: a stop while the plot is drawn kept the JSON alone
        if args.plot:
            plot(everything, args.plot)
            written.append(args.plot)
        if args.json:
            command = shlex.join(["motionmag", *args.argv])
            write_json(args.json, to_json(results, command=command))
            written.append(args.json)
    except BaseException:
        for path in written:
            Path(path).unlink(missing_ok=True)
        raise
    if args.json:
        print(f"results: {args.json}")
    if args.plot:
        print(f"plot: {args.plot}")
    return 0
