"""``motionmag train deepmag-color`` and ``deepmag-motion``: train a DeepMag CNN, resumably, then
export it.

What matters: two sub-commands added to ``train``'s model sub-parsers by
:func:`add_deepmag_color_command` and :func:`add_deepmag_motion_command`
(``train/cli_train.py`` calls them). They share their flags and their run
(:func:`_add_common_flags`, :func:`_run`): flags map onto
:class:`~.train.ColorTrainConfig` / :class:`~.train_motion.MotionTrainConfig`; running
the same command again with the same ``--run`` continues the run from its checkpoint.
``--export`` evaluates on the TEST split, calibrates alpha on TRAIN videos
(:mod:`.calibration`) and writes the safetensors weights and the JSON model card, with
the command that made them.
"""

from __future__ import annotations

import argparse
import math
import shlex
import sys
from pathlib import Path

from ..atomic import write_json
from ..devices import resolve_device
from ..errors import UsageError
from ..folder_lock import exclusive_folder
from ..output_paths import check_creatable_file
from ..train.cli_common import check_not_replaced, default_device, given_fields, set_threads

_COLOR_DESCRIPTION = (
    "Train the pulse-derivative CNN of DeepMag (Chen and McDuff 2018, Fig. 3a) on synthetic "
    "physiological videos of the train split rendered on the fly (tasks A-D), MSE and Adam. "
    "Resumes from --run's checkpoint; --export writes weights, test-split correlations "
    "and the alpha calibration."
)
_MOTION_DESCRIPTION = (
    "Train the respiration-derivative CNN of DeepMag (Chen and McDuff 2018, Fig. 3b, SELU) on "
    "the steerable-pyramid phase differences (Eq. 20) of synthetic physiological videos of "
    "the train split rendered on the fly (tasks A-D), MSE and Adam. Resumes from --run's "
    "checkpoint; --export writes weights, test-split correlations of the breathing per task "
    "and the alpha calibration (chest displacement gain)."
)

#: flag dest -> train config field, for both nets
_FIELDS = {
    "seed": "seed",
    "size": "size_px",
    "duration": "duration_s",
    "videos_per_round": "videos_per_round",
    "rounds": "rounds",
    "passes": "passes",
    "batch": "batch",
    "lr": "lr",
    "test_videos": "test_videos",
    "device": "device",
}
#: flags of the motion net only
_MOTION_FIELDS = {
    "net_size": "net_size_px",
    "widths": "widths",
    "hidden": "hidden",
    "test_duration": "test_duration_s",
}


def _add_common_flags(p: argparse.ArgumentParser, passes: int, test_videos: int) -> None:
    p.add_argument("--run", dest="run_dir", default=None, help="run folder (resumes there)")
    p.add_argument(
        "--seed", type=int, default=None, help="data and initialisation seed (default 0)"
    )
    p.add_argument("--size", type=int, default=None, help="rendered frame size, px (default 128)")
    p.add_argument("--duration", type=float, default=None, help="seconds per video (default 10)")
    p.add_argument(
        "--videos-per-round", type=int, default=None, help="videos per round (default 8)"
    )
    p.add_argument("--rounds", type=int, default=None, help="most rounds (default 1000)")
    p.add_argument("--passes", type=int, default=None, help=f"passes per round (default {passes})")
    p.add_argument("--batch", type=int, default=None, help="batch size (default 64)")
    p.add_argument(
        "--lr", type=float, default=None,
        help="Adam learning rate (1e-3); a resumed run continues at this rate",
    )  # fmt: skip
    p.add_argument(
        "--test-videos", type=int, default=None, help=f"test videos (default {test_videos})"
    )
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when present)")
    p.add_argument(
        "--max-minutes", type=float, default=None,
        help="stop once the run's training time (all sessions) passes this",
    )  # fmt: skip
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--export", default=None, metavar="FILE.safetensors", help="export here")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace an existing --export file (a continued run replaces its own)",
    )


def add_deepmag_color_command(models) -> argparse.ArgumentParser:
    """Add ``deepmag-color`` to the ``train`` command's model sub-parsers."""
    p = models.add_parser(
        "deepmag-color", help="DeepMag colour CNN", description=_COLOR_DESCRIPTION
    )
    _add_common_flags(p, passes=4, test_videos=16)
    p.set_defaults(run=run_train_deepmag_color)
    return p


def add_deepmag_motion_command(models) -> argparse.ArgumentParser:
    """Add ``deepmag-motion`` to the ``train`` command's model sub-parsers."""
    p = models.add_parser(
        "deepmag-motion", help="DeepMag motion (respiration) CNN", description=_MOTION_DESCRIPTION
    )
    _add_common_flags(p, passes=2, test_videos=16)
    p.add_argument("--net-size", type=int, default=None, help="net input side, px (default 64)")
    p.add_argument(
        "--widths", type=int, nargs=3, default=None, metavar="C", help="conv widths (16 16 32)"
    )
    p.add_argument("--hidden", type=int, default=None, help="dense units (default 64)")
    p.add_argument(
        "--test-duration", type=float, default=None, help="seconds per test video (default 30)"
    )
    p.set_defaults(run=run_train_deepmag_motion)
    return p


def _note_calibration(calibration: dict) -> None:
    """Say so when the export's alpha calibration is unusable (the weights are written
    all the same, with the curve in their card)."""
    from .calibration import calibration_problem

    problem = calibration_problem(calibration)
    if problem is not None:
        _log(f"note: {problem}")


def _command() -> str:
    """The command line that is running, for the model card."""
    return shlex.join(["motionmag", *sys.argv[1:]])


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def _run(args: argparse.Namespace, config_cls, fields: dict[str, str], kind: str):
    """Parse the common flags into ``config_cls``; returns (config, run folder)."""
    given = given_fields(args, fields)
    set_threads(args.threads)
    if "device" not in given:
        given["device"] = default_device()
    if args.max_minutes is not None:
        if not args.max_minutes > 0:
            raise UsageError(f"--max-minutes must be positive, not {args.max_minutes}.")
        given["time_limit_s"] = 60.0 * args.max_minutes
    if args.export is not None and not args.export.endswith(".safetensors"):
        raise UsageError(f"--export '{args.export}' must end in .safetensors.")
    if args.export is not None:
        check_creatable_file(args.export, "--export")
    config = config_cls(**given)
    run_dir = Path(args.run_dir or f"runs/{kind}/s{config.size_px}-seed{config.seed}")
    if run_dir.exists() and not run_dir.is_dir():
        raise UsageError(f"--run '{run_dir}' is a file: give a folder.")
    record = _saved_record(run_dir)
    saved = _saved_config(record, run_dir, config_cls, kind)
    if saved is not None:  # a resumed run keeps its own settings; the flags given win
        config = config_cls(**{**saved, **given})
    if args.export is not None and not _own_export(record, Path(args.export)):
        check_not_replaced(args.export, "--export", args)  # only its own, unasked
    _check_config(config)
    return config, run_dir


def _saved_record(run_dir: Path) -> dict | None:
    """The record of the run in ``run_dir``, from its checkpoint (``record.json`` is
    written only when a session ends, so a run stopped by SIGTERM has none); None for a
    new run; InputError for a damaged checkpoint."""
    from .train import read_checkpoint

    if not (run_dir / "checkpoint.pt").is_file():
        return None
    return read_checkpoint(run_dir / "checkpoint.pt")["record"]


def _saved_config(record: dict | None, run_dir: Path, config_cls, kind: str) -> dict | None:
    """The settings of the run whose ``record`` it is (None for a new run); UsageError
    when ``run_dir`` holds another model's run (its checkpoint would not load). The
    device and the time limit are this session's own."""
    import dataclasses

    if record is None:
        return None
    names = {f.name for f in dataclasses.fields(config_cls)}
    saved = record["config"]
    if not isinstance(saved, dict) or set(saved) != names:
        raise UsageError(
            f"'{run_dir}' holds a run of another model than {kind}: choose another --run."
        )
    return {k: v for k, v in saved.items() if k not in ("device", "time_limit_s")}


def _own_export(record: dict | None, export: Path) -> bool:
    """True when ``export`` was written by the run whose ``record`` it is: its card's
    first training session is the run's (a continued run replaces its own export; any
    other file needs --overwrite)."""
    import json

    card_path = export.with_suffix(".json")
    if record is None or not card_path.is_file():
        return False
    try:
        theirs = json.loads(card_path.read_text())["training"]["sessions"][0]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return False
    return theirs == (record.get("sessions") or [None])[0]


#: shortest training video (s; ours): the targets are band-passed (a zero-phase filter
#: needs about 0.75 s at 30 fps) and normalised by their spread over the video
MIN_DURATION_S = 1.0


def _check_config(config) -> None:
    """UsageError, one flag at a time, for settings no training can run with; before the
    run folder is made."""
    resolve_device(config.device)
    at_least = [
        ("--size", config.size_px, 48, " px"),
        ("--passes", config.passes, 1, ""),
        ("--batch", config.batch, 1, ""),
        ("--rounds", config.rounds, 1, ""),
        ("--videos-per-round", config.videos_per_round, 1, ""),
        ("--test-videos", config.test_videos, 1, ""),
        ("--seed", config.seed, 0, ""),
    ]
    motion_only = {"--net-size": ("net_size_px", 38, " px"), "--hidden": ("hidden", 1, "")}
    for flag, (field_name, least, unit) in motion_only.items():
        if hasattr(config, field_name):
            at_least.append((flag, getattr(config, field_name), least, unit))
    for flag, value, least, unit in at_least:
        if value < least:
            raise UsageError(f"{flag} {value} is below {least}{unit}: give {least} or more.")
    for flag, value in (("--lr", config.lr), ("--duration", config.duration_s)):
        if not (math.isfinite(value) and value > 0):
            raise UsageError(f"{flag} {value:g} is not a positive number: give one above 0.")
    if config.duration_s < MIN_DURATION_S:  # 2 frames gave a NaN loss, 0.5 s a traceback
        raise UsageError(
            f"--duration {config.duration_s:g} s is too short for the band-passed targets: "
            f"give {MIN_DURATION_S:g} s or more."
        )
    widths = getattr(config, "widths", None)
    if widths is not None and min(widths) < 1:
        raise UsageError(f"--widths {' '.join(map(str, widths))}: give widths of 1 or more.")


def run_train_deepmag_color(args: argparse.Namespace) -> int:
    """Run ``motionmag train deepmag-color``; returns 0."""
    from .calibration import calibrate_color
    from .train import (
        ColorTrainConfig,
        color_model_card,
        evaluate_color,
        export_weights,
        train_deepmag_color,
    )

    config, run_dir = _run(args, ColorTrainConfig, _FIELDS, "deepmag-color")
    with exclusive_folder(run_dir, "motionmag train"):  # the export writes into it too
        model, record = train_deepmag_color(run_dir, config, log=_log, command=_command())
        if not args.export:
            return 0
        evaluation = evaluate_color(model, config, config.test_videos)
        write_json(run_dir / "test_eval.json", evaluation, indent=1)
        for p in model.parameters():
            p.requires_grad_(False)
        calibration = calibrate_color(model, config, log=_log)
        _note_calibration(calibration)
        card = color_model_card(record, evaluation, calibration)
        weights, card_path = export_weights(model, args.export, card)
        _log(f"wrote {weights} and {card_path}")
    return 0


def run_train_deepmag_motion(args: argparse.Namespace) -> int:
    """Run ``motionmag train deepmag-motion``; returns 0."""
    import time

    from ..eval.physio_measures import respiration_scores
    from .calibration import calibrate_motion
    from .train import export_weights
    from .train_motion import (
        MotionTrainConfig,
        evaluate_motion,
        motion_model_card,
        train_deepmag_motion,
    )

    fields = {**_FIELDS, **_MOTION_FIELDS}
    config, run_dir = _run(args, MotionTrainConfig, fields, "deepmag-motion")
    if config.widths is not None:
        config.widths = tuple(config.widths)
    if config.test_duration_s < 10:
        raise UsageError(
            f"--test-duration {config.test_duration_s:g} s is below 10 s: give 10 or more."
        )
    with exclusive_folder(run_dir, "motionmag train"):  # the export writes into it too
        model, record = train_deepmag_motion(run_dir, config, log=_log, command=_command())
        if not args.export:
            return 0
        started = time.monotonic()
        evaluation = evaluate_motion(model, config, config.test_videos)
        write_json(run_dir / "test_eval.json", evaluation, indent=1)
        for p in model.parameters():
            p.requires_grad_(False)
        # the gain is measured as the eval suite measures it; the reach of its chest search
        # is alpha x the chest's range: 8 covers the calibrated gains (our choice)
        calibration = calibrate_motion(
            model, config, lambda video, out: respiration_scores(video, out, 8.0), log=_log
        )
        calibration["measure_alpha_reach"] = 8.0
        _note_calibration(calibration)
        card = motion_model_card(record, evaluation, calibration)
        card["training"]["export_seconds"] = round(time.monotonic() - started, 1)
        weights, card_path = export_weights(model, args.export, card)
        _log(f"wrote {weights} and {card_path}")
    return 0
