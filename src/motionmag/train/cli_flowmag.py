"""``motionmag train flowmag``: flags onto :class:`~motionmag.train.flowmag.FlowMagTrainConfig`.

What matters: this module is imported whenever the CLI builds its parser, so it imports
nothing heavy (torch and the trainer load when the command runs). A flag left out takes
the run's own setting when resuming (``--resume`` with the same ``--run``) and the
default otherwise; ``--export`` writes the best weights and a model card when the run
stops. Wired into ``train/cli_train.py`` by :func:`add_flowmag_command`.
"""

from __future__ import annotations

from pathlib import Path

from ..folder_lock import exclusive_folder
from .cli_common import (
    add_init_flag,
    add_run_flags,
    add_schedule_flags,
    add_session_flags,
    check_session_flags,
    finish,
    given_fields,
    resolve_config,
    set_threads,
    steps_past_init,
    train_kwargs,
)

#: flag dest -> FlowMagTrainConfig field
_FIELDS = {
    "size": "size_px",
    "batch": "batch",
    "steps": "steps",
    "lr": "lr",
    "width": "width",
    "seed": "seed",
    "dataset_size": "dataset_size",
    "max_motion": "max_motion_px",
    "videos": "videos",
    "video_stride": "video_stride",
    "color_weight": "color_weight",
    "warmup_steps": "warmup_steps",
    "base": "base",
    "target": "target",
    "workers": "workers",
    "device": "device",
    "checkpoint_every": "checkpoint_every",
    "log_every": "log_every",
    "validate_every": "validate_every",
    "val_samples": "val_samples",
    "precision": "precision",
}

_DESCRIPTION = (
    "Train FlowMag's U-Net (Pan, Geng, Owens 2023) self-supervised: L_mag + 10 L_color "
    "through a frozen differentiable Lucas-Kanade flow, alpha log-uniform in 1..16, on "
    "unlabeled pairs (synthetic frames A/B, plus --videos frame pairs), Adam 3e-4. "
    "Checkpoints go to --run; --resume continues exactly; --export writes the weights "
    "and a model card."
)


def add_flowmag_command(models) -> None:
    """Add ``flowmag`` to the ``train`` command's model sub-parsers."""
    p = models.add_parser(
        "flowmag", help="FlowMag U-Net (Pan et al. 2023)", description=_DESCRIPTION
    )
    p.add_argument("--size", type=int, default=None, help="crop side, px (default 128)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default 4)")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="total steps (default 100000; with --init, 100000 past the weights' step)",
    )
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 3e-4)")
    p.add_argument("--width", type=int, default=None, help="U-Net base channels (16; paper 64)")
    add_run_flags(p, "runs/flowmag/w<width>-s<size>-b<batch>-seed<seed>")
    p.add_argument("--seed", type=int, default=None, help="data and run seed (default 0)")
    p.add_argument(
        "--dataset-size", type=int, default=None, help="samples per epoch (default 100000)"
    )
    p.add_argument(
        "--max-motion",
        type=float,
        default=None,
        help="synthetic pairs: most motion per layer, px (default 2)",
    )
    p.add_argument(
        "--videos",
        default=None,
        metavar="FOLDER",
        help="add filtered frame pairs of the videos in FOLDER",
    )
    p.add_argument("--video-stride", type=int, default=None, help="pair stride (default 1)")
    p.add_argument("--no-synthetic", action="store_true", help="video pairs only")
    p.add_argument("--color-weight", type=float, default=None, help="lambda_color (default 10)")
    p.add_argument(
        "--warmup-steps",
        type=int,
        default=None,
        help="steps imitating the flow-warped frame before the paper's loss (default 0)",
    )
    p.add_argument(
        "--paper-head",
        action="store_true",
        help="the paper's plain sigmoid output instead of our residual head (starts as grey)",
    )
    p.add_argument(
        "--base",
        choices=("frame", "linear"),
        default=None,
        help="what the residual head starts from: linear (I_t + (alpha - 1)(I_t - I_0), "
        "default) or frame (I_t)",
    )
    p.add_argument(
        "--no-motion-input",
        action="store_true",
        help="the paper's input (frames and alpha embedding) without our (alpha - 1)(I_t - I_0) "
        "channels",
    )
    p.add_argument(
        "--target",
        choices=("flow", "truth"),
        default=None,
        help="flow: the paper's self-supervised loss (default); truth: a control, not "
        "FlowMag: L1 to the synthetic sample's true magnified frame",
    )
    p.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        default=None,
        help="bf16: run the generator in bfloat16 (autocast); the frozen flow, the loss and "
        "validation stay fp32 (default fp32)",
    )
    p.add_argument("--workers", type=int, default=None, help="data workers (default 0)")
    add_schedule_flags(p)
    p.add_argument("--val-samples", type=int, default=None, help="validation pairs (default 16)")
    add_session_flags(p)
    add_init_flag(p, "flowmag")
    p.set_defaults(run=run_train_flowmag)


def _default_run(config) -> Path:
    return (
        Path("runs")
        / "flowmag"
        / f"w{config.width}-s{config.size_px}-b{config.batch}-seed{config.seed}"
    )


def run_train_flowmag(args) -> int:
    """Run ``motionmag train flowmag``; 0, or 130 / 143 when stopped by a signal."""
    from .flowmag import (
        NETWORK,
        FlowMagTrainConfig,
        export_weights,
        load_checkpoint,
        train_flowmag,
    )

    given = given_fields(args, _FIELDS)
    if args.no_synthetic:
        given["synthetic"] = False
    if args.no_motion_input:
        given["motion_input"] = False
    if args.paper_head:
        given["residual"] = False
        given["base"] = "frame"
    set_threads(args.threads)
    check_session_flags(args)
    config, run_dir = resolve_config(
        args,
        FlowMagTrainConfig,
        given,
        _default_run,
        lambda path: load_checkpoint(path)["config"],
    )
    steps_past_init(args, config, given, NETWORK, "flowmag")
    config.validate()
    banner = f"training flowmag in {run_dir} on {config.device}"
    with exclusive_folder(run_dir, "motionmag train"):  # the export writes into it too
        result = train_flowmag(
            config, run_dir, init_from=args.init, banner=banner, **train_kwargs(args)
        )
        summary = (
            f"step {result.step}/{config.steps}, {result.samples_seen} samples seen, "
            f"{result.train_seconds / 3600:.2f} h in all, "
            f"{result.seconds_per_step:.2f} s/step now"
        )
        if result.validation:
            summary += f"; validation loss {result.validation['total']:.4f}"
        print(summary)
        steps_left = config.steps - result.step
        return finish(args, run_dir, result.interrupted, export_weights, steps_left)
