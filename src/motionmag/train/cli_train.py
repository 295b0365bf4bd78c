"""``motionmag train MODEL`` (oh2018, ha2024 and the thesis nets): train resumably.

What matters: flags map onto :class:`~motionmag.train.oh2018.Oh2018TrainConfig` (or
:class:`~motionmag.train.oh2018.Ha2024TrainConfig`, which adds the ``ha2024`` flags); a flag
left out takes the run's own setting when resuming (``--resume`` with the same
``--run``) and the paper's default otherwise, so "run the same command again" continues
a killed run exactly. ``--export`` writes the best weights and a model card when the run
stops. Bad flags are ``UsageError`` (exit 2) before any work; a run stopped by SIGTERM /
Ctrl-C saves its checkpoint and exits 143 / 130. Wired into ``cli.py`` with
``add_train_command(sub)``. ``train ha2024 --remove KINDS`` runs Ha et al.'s
learning-to-remove instead (``cli_removal.py``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UsageError
from ..folder_lock import exclusive_folder
from ..magnify.learned import VIEWS
from ..nets.thesis_widths import sizes_of, thesis_width
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

_COMMON = (
    " on synthetic pairs rendered on the fly (or read from `motionmag synth` shards), "
    "with Adam 1e-4 and batch 4. Checkpoints go to --run every --checkpoint-every steps "
    "and when the run is stopped (SIGTERM, Ctrl-C); --resume continues it exactly."
)
_DESCRIPTIONS = {
    "oh2018": (
        "Oh et al. 2018 (ECCV)",
        "Train the learning-based magnification network of Oh et al. (2018) with the "
        "paper's loss" + _COMMON,
    ),
    "ha2024": (
        "Ha et al. 2024 (real-time)",
        "Train the real-time network of Ha et al. (2024): one linear encoder layer, a "
        "1/4-resolution latent, a deep narrow decoder; Oh's loss plus an image-gradient L1 "
        "in place of the paper's VGG perceptual loss" + _COMMON,
    ),
    "sigma-theta": (
        "Singh 2024 Ch. 6: sigma-theta Net",
        "Train the sigma-theta Net of Singh (2024, thesis Ch. 6): learnable scale-space and "
        "steered-gradient filters whose phase and magnitude changes are magnified, and a "
        "multi-scale decoder; 10 L1 + edge L1 + 0.1 x a spectrum L1 in place of the "
        "thesis's VGG perceptual loss, Gaussian input noise" + _COMMON,
    ),
}
_MDMM = (
    "magnifies the Fourier phase and amplitude differences of the two frames, then "
    "corrects the result in space at four scales; 10 L1 + edge L1 + 0.1 x a spectrum L1 "
    "in place of the thesis's VGG perceptual loss, plus L1s on the Fourier phase and "
    "amplitude, Gaussian input noise" + _COMMON
)
for _name, _size, _width in sizes_of("mdmm"):
    _DESCRIPTIONS[_name] = (
        f"Singh 2024 Ch. 5: MD-MM {_size}",
        f"Train MD-MM {_size} of Singh (2024, thesis Ch. 5; FCB width {_width}): " + _MDMM,
    )
_LWMM = (
    "a feature-sharing encoder, an appearance encoder whose sum with the manipulated "
    "encoder difference is decoded; 10 L1 + edge L1 + 0.1 x a spectrum L1 in place of the "
    "thesis's VGG perceptual loss, an appearance L1 to the clean frames and, with --proxy, "
    "an L1 to a noise-free proxy's manipulator input; Gaussian input noise. Train the proxy "
    "first: the same command with --noise-max 0 and no --proxy" + _COMMON
)
for _name, _size, _width in sizes_of("lwmm"):
    _DESCRIPTIONS[_name] = (
        f"Singh 2024 Ch. 3: LW-MM {_size}",
        f"Train LW-MM of Singh (2024, thesis Ch. 3; width C = {_width}): " + _LWMM,
    )
_HMN = (
    "three levels of gated, dilated motion blocks on Sobel-edge differences, fused coarse "
    "to fine; 10 L1 + edge L1 + 0.1 x a spectrum L1 in place of the thesis's VGG perceptual "
    "loss, Gaussian input noise. Three runs: a proxy (--noise-max 0), the model, then a "
    "fine-tuning from it (--init) with the feature contrastive loss (--proxy)" + _COMMON
)
for _name, _size, _width in sizes_of("hmn"):
    _DESCRIPTIONS[_name] = (
        f"Singh 2024 Ch. 7: HMN {_size}",
        f"Train HMN of Singh (2024, thesis Ch. 7; base width c = {_width}): " + _HMN,
    )
_DESCRIPTIONS["kl-dnas"] = (
    "Singh 2024 Ch. 4: KL-DNAS",
    "Search and train the KL-DNAS student of Singh (2024, thesis Ch. 4): layer-wise "
    "mixed operations (convolutions of several kernels and dilations; none / add / concat "
    "links), distilled part by part from a frozen noise-free LW-MM (--teacher) under a "
    "latency target measured on this machine (|log(latency / target)|); four runs in "
    "series, --stage encoder, middle, decoder, finetune, each from the previous one's "
    "export (--previous); 10 L1 + edge L1 + 0.1 x a spectrum L1 in place of the thesis's "
    "VGG perceptual loss, Gaussian input noise" + _COMMON,
)
#: the thesis networks (Gaussian input noise, the thesis's loss weights)
_THESIS_MODELS = ("sigma-theta", "mdmm-d1", "mdmm-d2", "lwmm", "lwmm-light", "hmn", "hmn-light",
                  "kl-dnas")  # fmt: skip

#: flags of kl-dnas (flag dest = config field)
_KL_DNAS_FIELDS = ("stage", "teacher", "previous", "layers", "reach", "ops", "kd_weight",
                   "latency_weight", "latency_fraction", "arch_lr", "arch_warmup",
                   "arch_schedule", "latency_table")  # fmt: skip
#: flags that map one to one onto Oh2018TrainConfig fields (flag dest -> field)
_FIELDS = {
    "size": "size_px",
    "batch": "batch",
    "steps": "steps",
    "lr": "lr",
    "seed": "seed",
    "dataset_size": "dataset_size",
    "shards": "shards",
    "workers": "workers",
    "device": "device",
    "checkpoint_every": "checkpoint_every",
    "log_every": "log_every",
    "validate_every": "validate_every",
    "val_samples": "val_samples",
    "val_seed": "val_seed",
    "linear_manipulator": "linear_manipulator",
    "precision": "precision",
    "small_motion_fraction": "small_motion_fraction",
    "ssim_weight": "ssim_weight",
    "noise_max": "noise_max",
}
#: flags of ha2024 only
_HA2024_FIELDS = {
    "edge_weight": "edge_weight",
    "texture_channels": "texture_channels",
    "decoder_blocks": "decoder_blocks",
    "teacher": "teacher",
    "teacher_views": "teacher_views",
}
#: flags of the thesis networks
_THESIS_FIELDS = {"l1_weight": "l1_weight", "edge_weight": "edge_weight",
                  "freq_weight": "freq_weight"}  # fmt: skip
_MDMM_FIELDS = {**_THESIS_FIELDS, "phase_weight": "phase_weight",
                "amplitude_weight": "amplitude_weight", "width": "width"}  # fmt: skip
_LWMM_FIELDS = {**_THESIS_FIELDS, "appearance_weight": "appearance_weight",
                "motion_weight": "motion_weight", "channels": "channels",
                "proxy": "proxy"}  # fmt: skip
_HMN_FIELDS = {**_THESIS_FIELDS, "channels": "channels", "proxy": "proxy",
               "negative": "negative", "snapshot_every": "snapshot_every",
               "contrastive_weight": "contrastive_weight"}  # fmt: skip
_MODEL_FIELDS = {
    "ha2024": _HA2024_FIELDS,
    "sigma-theta": {**_THESIS_FIELDS, "channels": "channels"},
    "mdmm-d1": _MDMM_FIELDS,
    "mdmm-d2": _MDMM_FIELDS,
    "lwmm": _LWMM_FIELDS,
    "lwmm-light": _LWMM_FIELDS,
    "hmn": _HMN_FIELDS,
    "hmn-light": _HMN_FIELDS,
    "kl-dnas": {**_THESIS_FIELDS, **{name: name for name in _KL_DNAS_FIELDS}},
}


def add_train_command(subparsers) -> argparse.ArgumentParser:
    """Add ``train`` (models ``oh2018`` and ``ha2024``) to an argparse subparsers object."""
    train = subparsers.add_parser(
        "train",
        help="train a learned magnifier",
        description="Train a learned magnifier on data generated here (nothing is "
        "downloaded): resumable runs in a folder, with checkpoints, a CSV log and "
        "validation, and exported safetensors weights with a JSON model card. Each "
        "MODEL has its own flags: motionmag train MODEL --help.",
    )
    models = train.add_subparsers(dest="model", metavar="MODEL", required=True)
    for model, (summary, description) in _DESCRIPTIONS.items():
        p = models.add_parser(model, help=summary, description=description)
        _add_flags(p, model)
    from ..deepmag.cli_train import add_deepmag_color_command, add_deepmag_motion_command

    add_deepmag_color_command(models)
    add_deepmag_motion_command(models)
    from .cli_flowmag import add_flowmag_command

    add_flowmag_command(models)
    return train


def _add_flags(p: argparse.ArgumentParser, model: str) -> None:
    p.add_argument("--size", type=int, default=None, help="crop side in px (default 128)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default 4)")
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="total steps of the run (default 100000; with --init, 100000 past the weights' step)",
    )
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 1e-4)")
    add_run_flags(p, f"runs/{model}/s<size>-b<batch>-seed<seed>")
    p.add_argument(
        "--shards",
        default=None,
        metavar="DIR",
        help="read `motionmag synth` shards (same --size and --small-motion-fraction) instead "
        "of rendering on the fly; with --workers 0, 1.8x the samples/h on 2 cores; 'none' "
        "renders on the fly (a resumed shard run: the same samples, without the shards)",
    )
    p.add_argument("--seed", type=int, default=None, help="dataset and run seed (default 0)")
    p.add_argument(
        "--dataset-size",
        type=int,
        default=None,
        help="on-the-fly samples per epoch (default 100000, the paper's)",
    )
    p.add_argument(
        "--images",
        action="append",
        default=None,
        metavar="DIR",
        help="folder of photos added to the bundled ones (on-the-fly data); repeatable",
    )
    p.add_argument("--workers", type=int, default=None, help="data worker processes (default 1)")
    add_schedule_flags(p)
    p.add_argument("--val-samples", type=int, default=None, help="validation set (default 40)")
    p.add_argument("--val-seed", type=int, default=None, help="held-out seed (default 1000000)")
    if model not in _THESIS_MODELS:  # the thesis nets train in fp32 with their own manipulators
        p.add_argument(
            "--linear-manipulator",
            action="store_const",
            const=True,
            default=None,
            help="use the linear manipulator (Eq. 2) instead of Eq. 3",
        )
        p.add_argument(
            "--precision",
            choices=("fp32", "bf16"),
            default=None,
            help="bf16: run the decoder in bfloat16 (autocast), about 1.6x the steps per hour "
            "on a CPU with bf16 instructions; the encoder and manipulator stay fp32 (default fp32)",
        )
    p.add_argument(
        "--small-motion-fraction",
        type=float,
        default=None,
        metavar="F",
        help="share of training motions drawn log-uniform in 0.02-1 px instead of the "
        "paper's uniform 0-min(10, 30/alpha) px (ours; default 0)",
    )
    if model not in _THESIS_MODELS:  # their nets and losses have neither
        p.add_argument(
            "--ssim-weight",
            type=float,
            default=None,
            metavar="W",
            help="add W x (1 - SSIM(output, true frame)) to the loss (ours; default 0, the "
            "paper's loss)",
        )
    p.add_argument(
        "--noise-max",
        type=float,
        default=None,
        metavar="S",
        help="training noise strength s ~ U(0, S) per sample, Poisson-like (default 0.3, "
        "the authors' code; 0: no noise)"
        if model not in _THESIS_MODELS
        else "Gaussian training noise, sigma ~ U(0, S) per input frame in [-1, 1] units "
        "(default 0.04; 0: no noise)",
    )
    add_session_flags(p)
    add_init_flag(p, model)
    if model == "ha2024":
        p.add_argument(
            "--edge-weight",
            type=float,
            default=None,
            help="weight of the image-gradient L1 that replaces the perceptual loss (default 1)",
        )
        p.add_argument(
            "--texture-channels",
            type=int,
            default=None,
            help="latent channels read as texture (default 16; 0: no texture/shape split)",
        )
        p.add_argument(
            "--decoder-blocks",
            type=int,
            default=None,
            help="decoder ResBlocks at 1/4 resolution (default 36: 14.7 GFLOPs per 384 px "
            "pair; 24: 10.6)",
        )
        p.add_argument(
            "--teacher",
            default=None,
            nargs="+",
            metavar="FILE.safetensors",
            help="distil: train toward this oh2018 or ha2024 network's output instead of the "
            "true frame (e.g. a smaller --decoder-blocks from the shipped weights); several: "
            "toward the mean of their outputs",
        )
        p.add_argument(
            "--teacher-views",
            type=int,
            default=None,
            choices=VIEWS,
            help="average each teacher over this many mirror views (default 1)",
        )
        from .cli_removal import add_removal_flags

        add_removal_flags(p)
    if model in _THESIS_MODELS:
        _add_thesis_flags(p, model)
    p.set_defaults(run=run_train)


def _add_thesis_flags(p: argparse.ArgumentParser, model: str) -> None:
    """The loss-weight and width flags of the thesis networks."""
    weights = [
        ("--l1-weight", 10.0, "weight of the image L1"),
        ("--edge-weight", 1.0, "weight of the edge (image-gradient) L1"),
        ("--freq-weight", 0.1, "weight of the spectrum L1 that replaces the perceptual loss"),
    ]
    if model.startswith("mdmm"):
        weights += [
            ("--phase-weight", 1.0, "weight of the Fourier-phase L1 (Eq. 5.8)"),
            ("--amplitude-weight", 1.0, "weight of the Fourier log-amplitude L1 (Eq. 5.8)"),
        ]
    if model.startswith("lwmm"):
        weights += [
            ("--appearance-weight", 1.0, "weight of the appearance L1 L_A (Eq. 3.1)"),
            ("--motion-weight", 1.0, "weight of the proxy L1 L_M (Eq. 3.2)"),
        ]
    if model.startswith("hmn"):
        weights.append(("--contrastive-weight", 1.0, "weight of C_loss (Eq. 7.4)"))
    if model == "kl-dnas":
        weights += [
            ("--kd-weight", 0.1, "weight of the feature L1 to the teacher (Eqs. 4.4, 4.7)"),
            ("--latency-weight", 1.0, "weight of L_lat (Eq. 4.11)"),
        ]
    for flag, default, text in weights:
        p.add_argument(flag, type=float, default=None, help=f"{text} (default {default:g})")
    if model == "sigma-theta":
        p.add_argument("--channels", type=int, default=None, help="decoder width c (default 12)")
    elif model.startswith("lwmm"):
        width = thesis_width(model)
        p.add_argument("--channels", type=int, default=None, help=f"width C (default {width})")
        p.add_argument(
            "--proxy",
            default=None,
            metavar="FILE.safetensors",
            help="the frozen noise-free proxy (same C) whose manipulator input L_M pulls "
            "toward; leave out to train the proxy itself (with --noise-max 0)",
        )

    elif model.startswith("hmn"):
        width = thesis_width(model)
        p.add_argument("--channels", type=int, default=None, help=f"base width c (default {width})")
        p.add_argument(
            "--proxy",
            default=None,
            metavar="FILE.safetensors",
            help="fine-tune with the feature contrastive loss: this noise-free proxy (same c) "
            "is its positive; start from the model's weights with --init",
        )
        p.add_argument(
            "--negative",
            default=None,
            metavar="FILE.safetensors",
            help="C_loss's first negative (the thesis: the checkpoint an epoch earlier; "
            "default: the weights the session starts from)",
        )
        p.add_argument(
            "--snapshot-every",
            type=int,
            default=None,
            metavar="STEPS",
            help="refresh the negative from the model every STEPS steps (default 25000, one "
            "epoch of 100k pairs; 0: never)",
        )
    elif model == "kl-dnas":
        from .cli_kl_dnas import add_kl_dnas_flags

        add_kl_dnas_flags(p)
    else:
        width = thesis_width(model)
        p.add_argument("--width", type=int, default=None, help=f"FCB width f (default {width})")


def _default_run(config) -> Path:
    return Path("runs") / config.MODEL / f"s{config.size_px}-b{config.batch}-seed{config.seed}"


def run_train(args: argparse.Namespace) -> int:
    """Run ``motionmag train MODEL``; returns 0, or 130 / 143 when stopped by a signal."""
    from .oh2018 import config_class, export_weights, load_checkpoint, recipe_for
    from .oh2018 import train_model as train

    flags = {**_FIELDS, **_MODEL_FIELDS.get(args.model, {})}
    if args.model == "ha2024":
        from .cli_removal import is_removal_run, removal_requested, run_remove

        if removal_requested(args) or (args.resume and is_removal_run(args.run_dir)):
            return run_remove(args, flags)
    config_cls = config_class(args.model)
    given = given_fields(args, flags)
    if args.images is not None:
        given["images"] = tuple(args.images)
    if str(given.get("shards", "")).lower() == SHARDS_NONE:
        given["shards"] = None
    set_threads(args.threads)
    check_session_flags(args)
    resumed: dict = {}  # the checkpoint --resume reads, kept for its data description

    def saved_config(path: Path) -> dict:
        resumed.update(load_checkpoint(path, model=args.model))
        return resumed["config"]

    config, run_dir = resolve_config(args, config_cls, given, _default_run, saved_config)
    if args.resume and "shards" in given and config.shards is None:
        _render_what_the_shards_held(config, given, resumed.get("data") or {})
    steps_past_init(args, config, given, recipe_for(config).network, args.model)
    _check_shard_flags(config, given)
    config.validate()
    _note_hmn_fine_tuning(args, config)
    banner = f"training {args.model} in {run_dir} on {config.device}"
    with exclusive_folder(run_dir, "motionmag train"):  # the export writes into it too
        result = train(config, run_dir, init_from=args.init, banner=banner, **train_kwargs(args))
        print(_summary(result, config))
        steps_left = config.steps - result.step
        return finish(args, run_dir, result.interrupted, export_weights, steps_left)


def _summary(result, config) -> str:
    """The line a session ends with: step, samples, hours, speed, validation."""
    summary = (
        f"step {result.step}/{config.steps}, {result.samples_seen} samples seen, "
        f"{result.train_seconds / 3600:.2f} h in all, {result.samples_per_hour:.0f} samples/h now"
    )
    if result.validation:
        summary += (
            f"; validation SSIM {result.validation['ssim']:.4f} at step "
            f"{result.validation['step']} (input {result.validation['input_ssim']:.4f})"
        )
    return summary


def _note_hmn_fine_tuning(args: argparse.Namespace, config) -> None:
    """A note when HMN's contrastive fine-tuning (``--proxy``) starts a new run without
    ``--init``: the thesis's third run (Sec. 7.1.5) fine-tunes the model of the second."""
    if (
        args.model.startswith("hmn")
        and getattr(config, "proxy", None)
        and args.init is None
        and not getattr(args, "resume", False)
    ):
        print(
            "note: --proxy without --init runs the contrastive fine-tuning from random "
            "weights; the thesis's third run starts it from the model trained on noisy "
            "inputs (--init FILE, README: HMN).",
            file=sys.stderr,
        )


#: ``--shards none``: render on the fly (a resumed run whose shards stayed behind)
SHARDS_NONE = "none"


def _render_what_the_shards_held(config, given: dict, data: dict) -> None:
    """``--resume --shards none`` on a run that read shards: render on the fly the samples
    the shards held, with their count as ``dataset_size`` (the data stream is the same
    only then; the default 100,000 drew others). A lent GPU cannot take the 4.5 GB of
    shards, and ``--resume`` reused their path, so a carried run stopped at its start
    (stop-58 review). A note says what is rendered, and when the shards' seed or
    generator settings (``synth --hires-factor``, ...) were not the run's: then the
    samples differ from theirs. (Photo folders given to ``synth --images`` are not in
    the comparison: the run renders from its own ``--images``.) ``data``: the resumed
    checkpoint's data description."""
    import warnings

    from ..synth.oh2018 import Oh2018Config

    if data.get("source") != "shards":
        return
    held = data.get("dataset_size")
    if "dataset_size" not in given and held:
        config.dataset_size = int(held)
    rendered = json.loads(  # as the manifest holds it (lists, not tuples)
        json.dumps(
            Oh2018Config(
                size_px=config.size_px, small_motion_fraction=config.small_motion_fraction
            ).to_dict()
        )
    )
    differ = [
        what
        for what, same in (
            (f"seed {data.get('seed')}", data.get("seed") in (None, config.seed)),
            ("other generator settings", data.get("generator_config") in (None, rendered)),
        )
        if not same
    ]
    warnings.warn(
        f"--shards none: the samples of '{data.get('shards')}' are rendered on the fly "
        f"({config.dataset_size} a pass, seed {config.seed})"
        + (
            f"; the shards were rendered with {' and '.join(differ)}, so these samples "
            "differ from theirs"
            if differ
            else ""
        )
        + ".",
        stacklevel=2,
    )


def _check_shard_flags(config, given: dict) -> None:
    """UsageError for flags that shape on-the-fly data given to a run that reads shards:
    the shards are rendered already, so they would change nothing but validation."""
    shaping = [flag for flag, name in (("--dataset-size", "dataset_size"), ("--images", "images"))
               if name in given]  # fmt: skip
    if config.shards is not None and shaping:
        named = " and ".join(shaping)
        raise UsageError(
            f"{named} {'shape' if len(shaping) > 1 else 'shapes'} the data rendered on the "
            f"fly, but this run reads the shards in '{config.shards}': leave {named} out, or "
            "render shards with them (`motionmag synth --n N --images DIR ...`)."
        )


#: the historical name of :func:`run_train`
run_train_oh2018 = run_train
