"""``motionmag analyze kernels MODEL -o PNG``: picture a learned encoder's linear kernels."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..atomic import atomic_output
from ..errors import UsageError
from ..output_paths import check_output_path
from ..synth.photos import BUNDLED, EXTRA_BUNDLED

ANALYSES = ("kernels",)
#: most probe images ``--images`` takes: one 512 px crop of each bundled photograph
#: (``probe_images``; beyond 13 they repeat photos, and 512 px photos whole); more changes
#: the averaged kernels little: two seeds' texture kernels agree at 0.92 with 6
MAX_IMAGES = len([n for n in BUNDLED if n != "cat"]) + len(EXTRA_BUNDLED)


def add_analyze_command(subparsers) -> argparse.ArgumentParser:
    """Add ``analyze`` (with ``kernels``) to an argparse subparsers object."""
    p = subparsers.add_parser("analyze", help="analyse a trained network (kernels)")
    p.add_argument(
        "analysis",
        metavar="ANALYSIS",
        choices=ANALYSES,
        help="kernels: Oh et al. Sec. 4.3 / Fig. 9",
    )
    p.add_argument("model", metavar="MODEL", help="oh2018 (the one network analysed so far)")
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="the picture to write")
    p.add_argument(
        "--branch",
        choices=("shape", "texture"),
        default="shape",
        help="encoder branch (default shape)",
    )
    p.add_argument(
        "--weights", default=None, help="a .safetensors file instead of the shipped weights"
    )
    p.add_argument("--images", type=int, default=6,
                   help=f"number of probe images, 1-{MAX_IMAGES} (default 6; one at a time: "
                   "under 1 GB of memory however many)")  # fmt: skip
    p.add_argument("--kernel", type=int, default=None,
                   help="kernel crop side in px, odd (default: 15 for the shape branch, which "
                   "holds 0.99 of its kernels' mass; for the texture branch its whole "
                   "receptive field, 75)")  # fmt: skip
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--overwrite", action="store_true", help="replace OUTPUT if it exists")
    p.set_defaults(run=run_analyze)
    return p


def run_analyze(args: argparse.Namespace) -> int:
    from ..models import create_model
    from .kernels import (
        SPACING_PX,
        approximate_kernels,
        default_kernel_px,
        oh2018_branches,
        plot_kernels,
        probe_images,
    )

    output = Path(args.output)
    if output.suffix.lower() != ".png":
        raise UsageError(f"output must be a .png file, not '{output}'.")
    kernel = args.kernel
    if not 1 <= args.images <= MAX_IMAGES:
        raise UsageError(f"--images {args.images} is outside 1-{MAX_IMAGES}: give, e.g., 6.")
    if kernel is not None and not (3 <= kernel < SPACING_PX and kernel % 2):
        raise UsageError(
            f"--kernel {kernel} is not an odd number from 3 to {SPACING_PX - 1} (below the "
            f"{SPACING_PX} px between probed positions): give, e.g., 15."
        )
    if args.model != "oh2018":
        raise UsageError(f"kernel analysis exists for oh2018 only, not '{args.model}'.")
    model = (
        create_model(args.model, weights=args.weights)
        if args.weights
        else create_model(args.model, pretrained=True)
    )  # first: a --weights that is no file is create_model's sentence, not a frame folder's
    check_output_path(output, overwrite=args.overwrite, inputs=[args.weights], flag="-o")
    branch, stride = oh2018_branches(model)[args.branch]
    approximation = approximate_kernels(
        branch,
        probe_images(args.images),
        stride=stride,
        kernel_px=kernel or default_kernel_px(model, args.branch),
        progress=not args.quiet,
    )
    kernel_px = approximation.kernels.shape[-1]
    weights_name = Path(args.weights).name if args.weights else "shipped weights"
    crops = f"{args.images} photo crop" + ("s" if args.images != 1 else "")
    with atomic_output(output) as temporary:
        plot_kernels(
            approximation,
            temporary,
            title=f"{args.model} {args.branch} encoder ({weights_name}): linear kernel "
            f"approximation (Oh et al. Sec. 4.3) around {crops}, "
            f"{kernel_px} x {kernel_px} px of input, luma = R + G + B;\nsorted by "
            "approximation error, red = top 8 (Oh et al.'s selection, however linear)",
        )
    best = approximation.order()[:8]
    errors = ", ".join(f"ch {c} {approximation.error[c]:.2f}" for c in best)
    print(f"kernels: {output}\n  top 8 by approximation error: {errors}")
    return 0
