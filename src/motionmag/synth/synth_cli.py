"""``motionmag synth``: write Oh et al. (2018) training data to shards on disk.

What matters: the flags map one to one onto ``shards.write_shards`` (the public API);
every bad argument is a ``UsageError`` (exit 2: a missing ``--images`` / ``--masks``
folder too) and such a folder without readable images an ``InputError`` (exit 3),
raised before any work; the output is
atomic and resumable (run the same command again after an interruption); the progress
bar goes to stderr, the one-line summary to stdout. Wired into ``cli.py`` with
``add_synth_command(sub)``.
"""

from __future__ import annotations

import argparse

from ..devices import check_parallel_count
from ..errors import UsageError

#: what --help says about the data, once
_DESCRIPTION = (
    "Generate Oh et al. (2018, Sec. 3.3) synthetic training pairs into shards under "
    "OUTPUT: frames A, B (A with every layer moved by its motion), Y (moved by alpha x "
    "motion; alpha is the total factor), colour-perturbed B' and Y', alpha and per-layer "
    "motion. Five equal parts a-e cycle over the sample index; sample i of --seed S is "
    "always the same. Textures: scikit-image's bundled photographs plus --images."
)


def add_synth_command(subparsers) -> argparse.ArgumentParser:
    """Add the ``synth`` subcommand to an argparse subparsers object; returns its parser."""
    p = subparsers.add_parser(
        "synth",
        help="generate synthetic training pairs (Oh et al. 2018) into shards",
        description=_DESCRIPTION,
    )
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="shard folder")
    p.add_argument("--n", type=int, required=True, help="number of samples")
    p.add_argument("--size", type=int, default=384, help="frame side in px (default 384)")
    p.add_argument("--seed", type=int, default=0, help="dataset seed (default 0)")
    p.add_argument(
        "--images",
        action="append",
        default=[],
        metavar="DIR",
        help="folder of photos (e.g. COCO) added to the bundled ones; repeatable",
    )
    p.add_argument(
        "--masks",
        default=None,
        metavar="DIR",
        help="folder of object masks (e.g. VOC SegmentationObject); default: random shapes",
    )
    p.add_argument("--workers", type=int, default=1, help="processes (default 1)")
    p.add_argument(
        "--hires-factor",
        type=int,
        default=4,
        help="render at this multiple of the output size (default 4)",
    )
    p.add_argument(
        "--small-motion-fraction",
        type=float,
        default=0.0,
        metavar="F",
        help="share of motions drawn log-uniform in 0.02-1 px instead of the paper's uniform "
        "0-min(10, 30/alpha) px (ours; the same flag of `motionmag train`; default 0)",
    )
    p.add_argument(
        "--samples-per-shard",
        type=int,
        default=None,
        help="default: up to 256 and about 128 MiB per shard",
    )
    p.add_argument("--overwrite", action="store_true", help="replace another dataset in DIR")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(run=run_synth)
    return p


def run_synth(args: argparse.Namespace) -> int:
    """Run ``motionmag synth`` from parsed flags; returns the exit status (0)."""
    from .oh2018 import MIN_SIZE_PX, Oh2018Config
    from .shards import write_shards

    if args.n <= 0:
        raise UsageError(f"--n must be a positive number of samples, not {args.n}.")
    if args.size < MIN_SIZE_PX:
        raise UsageError(f"--size {args.size} is too small: use at least {MIN_SIZE_PX} px.")
    if args.size % 4:
        raise UsageError(
            f"--size {args.size} is not a multiple of 4, which training needs: use e.g. "
            f"{args.size - args.size % 4 + 4}."
        )
    if args.seed < 0:
        raise UsageError(f"--seed {args.seed} is negative: give 0 or more.")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {args.workers}.")
    check_parallel_count("--workers", args.workers)
    if args.hires_factor < 1:
        raise UsageError(f"--hires-factor must be at least 1, not {args.hires_factor}.")
    if args.samples_per_shard is not None and args.samples_per_shard < 1:
        raise UsageError(f"--samples-per-shard must be at least 1, not {args.samples_per_shard}.")
    if not 0.0 <= args.small_motion_fraction <= 1.0:
        raise UsageError(
            f"--small-motion-fraction {args.small_motion_fraction} must lie in [0, 1]."
        )
    config = Oh2018Config(
        size_px=args.size,
        hires_factor=args.hires_factor,
        small_motion_fraction=args.small_motion_fraction,
    )
    result = write_shards(
        args.output,
        args.n,
        config=config,
        seed=args.seed,
        images=args.images,
        masks=args.masks,
        workers=args.workers,
        samples_per_shard=args.samples_per_shard,
        overwrite=args.overwrite,
        quiet=args.quiet,
    )
    rate = f", {result.samples_per_second:.1f} samples/s" if result.generated else ""
    shards = f"{result.shards} shard{'s' if result.shards != 1 else ''}"
    print(
        f"wrote {result.n} samples of {args.size}x{args.size} px in {shards} "
        f"to {result.folder} (manifest {result.folder / 'manifest.json'}; "
        f"{result.generated} generated now{rate})"
    )
    return 0
