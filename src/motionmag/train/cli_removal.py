"""``motionmag train ha2024 --remove KINDS``: learn to remove, prune, retrain (Ha et al. 2024).

What matters: the removal flags ride on ``train ha2024`` (its other flags keep their
meaning); ``--remove`` switches the run to the three phases of
:func:`~motionmag.train.removal.learn_to_remove` in ``--run`` (``remove/``,
``pruned.safetensors``, ``retrain/``, ``removal.json``). A removal flag without
``--remove`` is a UsageError, as is any bad value, before any work. ``--steps`` is the
removal phase's total (with ``--init``, the weights' step counts), ``--retrain-steps``
the steps after pruning. ``--resume`` of a removal run needs no ``--remove``: the run's
own kinds and settings carry on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..atomic import write_json
from ..errors import UsageError
from ..folder_lock import exclusive_folder
from ..output_paths import check_suffix
from .cli_common import (
    check_not_replaced,
    check_session_flags,
    default_device,
    given_fields,
    record_export,
    set_threads,
    steps_past_init,
)

#: removal flags (dest -> Ha2024RemovalConfig field); kinds and parts are parsed apart
_REMOVAL_FIELDS = {
    "remove_weight": "remove_weight",
    "remove_power": "remove_power",
    "switch_lr": "switch_lr",
    "prune_threshold": "prune_threshold",
    "retrain_steps": "retrain_steps",
}


def add_removal_flags(p: argparse.ArgumentParser) -> None:
    """The ``--remove`` flags of ``train ha2024``."""
    g = p.add_argument_group(
        "learning to remove (Ha et al. 2024, Sec. 4.3, Eq. 3-5)",
        "switch residual-block components, push the switches to 'removed' with "
        "lambda_rm * mean(1 - w^p), prune those with w > tau, retrain",
    )
    g.add_argument(
        "--remove",
        default=None,
        metavar="KIND[,KIND]",
        help="components to learn to remove: activations, skips, blocks (comma-separated)",
    )
    g.add_argument(
        "--remove-in",
        default=None,
        metavar="PART[,PART]",
        help="network parts to remove from: manipulator, decoder (default both; the "
        "ha2024 encoder has no residual block)",
    )
    g.add_argument("--remove-weight", type=float, default=None, help="lambda_rm (default 1)")
    g.add_argument("--remove-power", type=float, default=None, help="p of Eq. 5 (default 1)")
    g.add_argument(
        "--switch-lr", type=float, default=None, help="Adam lr of the switches (default 1e-3)"
    )
    g.add_argument(
        "--prune-threshold",
        type=float,
        default=None,
        help="tau: a component goes when its switch w > tau (default 0.5)",
    )
    g.add_argument(
        "--retrain-steps",
        type=int,
        default=None,
        help="steps of the pruned network with the task loss alone (default 0)",
    )
    g.add_argument(
        "--report",
        default=None,
        metavar="FILE.json",
        help="also write the removal report (removal.json of --run) here",
    )


def removal_requested(args: argparse.Namespace) -> bool:
    """True for ``--remove``; UsageError for a removal flag without it."""
    if getattr(args, "remove", None) is not None:
        return True
    extra = [d for d in (*_REMOVAL_FIELDS, "remove_in", "report") if getattr(args, d, None)]
    if extra:
        flag = "--" + extra[0].replace("_", "-")
        raise UsageError(f"{flag} only works with --remove (activations, skips, blocks).")
    return False


def is_removal_run(run_dir: str | None) -> bool:
    """A ``--run`` folder that a ``--remove`` run made (its phase-1 checkpoint)."""
    from .removal import REMOVE_DIR
    from .run_state import CHECKPOINT

    return bool(run_dir) and (Path(run_dir) / REMOVE_DIR / CHECKPOINT).is_file()


def run_remove(args: argparse.Namespace, flags: dict[str, str]) -> int:
    """Run ``train ha2024 --remove``; ``flags`` maps the ordinary flags onto config fields."""

    from .oh2018 import RECIPES, load_checkpoint
    from .removal import (
        REMOVE_DIR,
        Ha2024RemovalConfig,
        learn_to_remove,
        parse_kinds,
        parse_parts,
    )
    from .run_state import CHECKPOINT

    given = given_fields(args, {**flags, **_REMOVAL_FIELDS})
    if args.remove is not None:  # on --resume, left out: the run's own kinds
        given["remove"] = parse_kinds(args.remove)
    if args.remove_in is not None:
        given["remove_parts"] = parse_parts(args.remove_in)
    if args.images is not None:
        given["images"] = tuple(args.images)
    set_threads(args.threads)
    check_session_flags(args)
    if args.report is not None:
        check_suffix(args.report, ".json", "--report")
    base = Ha2024RemovalConfig()
    if "device" not in given:
        base.device = default_device()
    config = Ha2024RemovalConfig.from_dict({**base.to_dict(), **given})
    run_dir = Path(args.run_dir) if args.run_dir else _default_run(config)
    for flag, path in (("--report", args.report), ("--export", args.export)):
        if path is not None:  # a resumed run's own files only, now that its folder is known
            check_not_replaced(path, flag, args, run_dir)
    if args.resume and not any(run_dir.rglob(CHECKPOINT)):
        raise UsageError(
            f"--resume: '{run_dir}' holds no checkpoint to continue: check --run, or leave "
            "out --resume to start a new run."
        )
    if args.resume and (run_dir / REMOVE_DIR / CHECKPOINT).is_file():
        saved = load_checkpoint(run_dir / REMOVE_DIR / CHECKPOINT, model="ha2024-remove")
        saved = dict(saved["config"])
        saved.pop("device", None)
        base = Ha2024RemovalConfig.from_dict({**base.to_dict(), **saved})
        config = Ha2024RemovalConfig.from_dict({**base.to_dict(), **given})
    if not args.resume:
        steps_past_init(args, config, given, RECIPES["ha2024"].network, "ha2024")
    config.validate()  # before the banner: a bad value is its one sentence
    with exclusive_folder(run_dir, "motionmag train"):  # the exports write into it too
        print(f"learning to remove {', '.join(config.remove)} in {run_dir}", file=sys.stderr)
        report = learn_to_remove(
            config,
            run_dir,
            resume=args.resume,
            init_from=args.init,
            progress=not args.quiet,
            command="motionmag " + " ".join(sys.argv[1:]),
            max_seconds=args.max_hours * 3600 if args.max_hours is not None else None,
        )
        return _after_removal(args, config, run_dir, report)


def _after_removal(args: argparse.Namespace, config, run_dir: Path, report: dict) -> int:
    """What a removal session prints and writes once its training stops (the report,
    the pruned export, how to go on), with its run folder still held."""
    from .removal import export_pruned

    if "stale_retrain" in report:
        print(
            f"note: the pruning changed since retraining began, so that run is kept as "
            f"'{report['stale_retrain']}' and retraining started again",
            file=sys.stderr,
        )
    if "removal" in report:
        print(_summary(report))
    else:  # stopped (--max-hours, a signal) before the switches were learned
        print(
            "stopped before the removal phase finished: nothing pruned or exported yet; "
            "continue with --resume",
            file=sys.stderr,
        )
    if args.report is not None:
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        write_json(args.report, report)
        record_export(run_dir, args.report)
    if args.export is not None and "removal" in report:
        export_pruned(run_dir, args.export)
        record_export(run_dir, args.export)
        print(f"pruned weights written to {args.export}")
    interrupted = report.get("interrupted")
    if interrupted in ("SIGTERM", "SIGINT"):
        print(f"stopped by {interrupted}; continue with --resume", file=sys.stderr)
        return 143 if interrupted == "SIGTERM" else 130
    if interrupted and "removal" in report:  # --max-hours ran out after pruning
        if "retrain_phase" not in report:
            message = "stopped by --max-hours after pruning, before retraining"
        else:
            message = (
                f"stopped by --max-hours while retraining, at step "
                f"{report['retrain_phase']['step']} of "
                f"{report['pruned']['step'] + config.retrain_steps}"
            )
        if args.export is not None:
            message += " (the export holds the pruned network as retrained so far)"
        print(f"{message}; continue with --resume", file=sys.stderr)
    return 0


def _default_run(config) -> Path:
    return Path("runs") / config.MODEL / f"s{config.size_px}-b{config.batch}-seed{config.seed}"


def _summary(report: dict) -> str:
    lines = [
        f"removed at tau = {report['removal']['threshold']} (w > tau of its own / gone, "
        "with its block or alone / switched):"
    ]
    for part, kinds in report["removal"]["summary"].items():
        for kind, c in kinds.items():
            lines.append(f"  {part:12s} {kind:10s} {c['above']}/{c['removed']}/{c['switched']}")
    size = report["size"]
    for phase in ("remove_phase", "pruned", "retrain_phase"):
        validation = (report.get(phase) or {}).get("validation")
        if validation:
            lines.append(
                f"validation SSIM {phase}: {validation['ssim']:.4f} "
                f"(input {validation['input_ssim']:.4f})"
            )
    lines.append(
        f"GFLOPs per 384 px pair {size['gflops_before']:.2f} -> {size['gflops_after']:.2f}, "
        f"parameters {size['parameters_before']:,} -> {size['parameters_after']:,}"
    )
    return "\n".join(lines)
