"""``motionmag analyze kernels MODEL -o PNG``: picture a learned encoder's linear kernels."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..errors import UsageError
from ..output_paths import check_output_path

ANALYSES = ("kernels",)


def add_analyze_command(subparsers) -> argparse.ArgumentParser:
    """Add ``analyze`` (with ``kernels``) to an argparse subparsers object."""
    p = subparsers.add_parser("analyze", help="analyse a trained network (kernels)")
    p.add_argument("analysis", choices=ANALYSES, help="kernels: Oh et al. Sec. 4.3 / Fig. 9")
    p.add_argument("model", help="a learned model, e.g. oh2018")
    p.add_argument("-o", "--output", required=True, help="PNG to write")
    p.add_argument("--branch", choices=("shape", "texture"), default="shape", help="encoder branch")
    p.add_argument("--weights", default=None, help="a .safetensors file instead of the shipped")
    p.add_argument("--images", type=int, default=6, help="number of probe images (default 6)")
    p.add_argument("--kernel", type=int, default=None,
                   help="kernel crop side in px, odd (default: 15 for the shape branch, the "
                   "receptive field, 75, for the texture branch)")  # fmt: skip
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
    check_output_path(output, overwrite=args.overwrite, inputs=[args.weights], flag="-o")
    kernel = args.kernel
    if args.images < 1 or (kernel is not None and not (3 <= kernel < SPACING_PX and kernel % 2)):
        wrong = (
            f"--images {args.images} is below 1"
            if args.images < 1
            else f"--kernel {kernel} is not an odd number from 3 to {SPACING_PX - 1}"
        )
        raise UsageError(
            f"{wrong}: give --images >= 1 and an odd --kernel below the {SPACING_PX} px "
            "between probed positions, e.g. 15."
        )
    if args.model != "oh2018":
        raise UsageError(f"kernel analysis exists for oh2018 only, not '{args.model}'.")
    model = (
        create_model(args.model, weights=args.weights)
        if args.weights
        else create_model(args.model, pretrained=True)
    )
    branch, stride = oh2018_branches(model)[args.branch]
    approximation = approximate_kernels(
        branch,
        probe_images(args.images),
        stride=stride,
        kernel_px=kernel or default_kernel_px(model, args.branch),
        progress=not args.quiet,
    )
    temporary = output.with_name(f".{output.stem}.tmp.png")
    plot_kernels(
        approximation,
        temporary,
        title=f"{args.model} {args.branch} encoder: linear kernel approximation (luma), "
        "sorted by approximation error; red = top 8",
    )
    temporary.replace(output)
    best = approximation.order()[:8]
    errors = ", ".join(f"ch {c} {approximation.error[c]:.2f}" for c in best)
    print(f"kernels: {output}\n  top 8 by approximation error: {errors}")
    return 0
