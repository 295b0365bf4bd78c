"""``motionmag train deepmag-color``: train DeepMag's colour CNN, resumably, then export it.

What matters: one sub-command added to ``train``'s model sub-parsers by
:func:`add_deepmag_color_command` (``train/cli_train.py`` calls it), flags map onto
:class:`~.train.ColorTrainConfig`; running the same command again with the same ``--run``
continues the run from its checkpoint. ``--export`` evaluates on the TEST split,
calibrates alpha on TRAIN videos (:func:`.calibration.calibrate_color`) and writes the
safetensors weights and the JSON model card.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UsageError
from ..train.cli_common import default_device, given_fields, set_threads

_DESCRIPTION = (
    "Train the pulse-derivative CNN of DeepMag (Chen and McDuff 2018, Fig. 3a) on synthetic "
    "physiological videos of the train split rendered on the fly (tasks A-D), MSE and Adam. "
    "Resumes from --run's checkpoint; --export writes weights, test-split correlations "
    "and the alpha calibration."
)

#: flag dest -> ColorTrainConfig field
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


def add_deepmag_color_command(models) -> argparse.ArgumentParser:
    """Add ``deepmag-color`` to the ``train`` command's model sub-parsers."""
    p = models.add_parser("deepmag-color", help="DeepMag colour CNN", description=_DESCRIPTION)
    p.add_argument("--run", dest="run_dir", default=None, help="run folder (resumes there)")
    p.add_argument("--seed", type=int, default=None, help="data and initialisation seed (0)")
    p.add_argument("--size", type=int, default=None, help="rendered frame size, px (128)")
    p.add_argument("--duration", type=float, default=None, help="seconds per video (10)")
    p.add_argument("--videos-per-round", type=int, default=None, help="videos per round (8)")
    p.add_argument("--rounds", type=int, default=None, help="most rounds (1000)")
    p.add_argument("--passes", type=int, default=None, help="passes per round (4)")
    p.add_argument("--batch", type=int, default=None, help="batch size (64)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (1e-3)")
    p.add_argument("--test-videos", type=int, default=None, help="test videos (16)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if present)")
    p.add_argument("--max-minutes", type=float, default=None, help="stop after this long")
    p.add_argument("--threads", type=int, default=None, help="torch threads")
    p.add_argument("--export", default=None, metavar="FILE.safetensors", help="export here")
    p.set_defaults(run=run_train_deepmag_color)
    return p


def run_train_deepmag_color(args: argparse.Namespace) -> int:
    """Run ``motionmag train deepmag-color``; returns 0."""
    from .calibration import calibrate_color
    from .train import (
        ColorTrainConfig,
        color_model_card,
        evaluate_color,
        export_color_weights,
        train_deepmag_color,
    )

    given = given_fields(args, _FIELDS)
    set_threads(args.threads)
    if "device" not in given:
        given["device"] = default_device()
    if args.max_minutes is not None:
        given["time_limit_s"] = 60.0 * args.max_minutes
    config = ColorTrainConfig(**given)
    if config.size_px < 48 or config.passes < 1 or config.batch < 1:
        raise UsageError("--size must be >= 48 px, --passes and --batch >= 1.")
    run_dir = Path(args.run_dir or f"runs/deepmag-color/s{config.size_px}-seed{config.seed}")

    def log(message: str) -> None:
        print(message, file=sys.stderr)

    model, record = train_deepmag_color(run_dir, config, log=log)
    if args.export:
        evaluation = evaluate_color(model, config, config.test_videos)
        (run_dir / "test_eval.json").write_text(json.dumps(evaluation, indent=1))
        for p in model.parameters():
            p.requires_grad_(False)
        calibration = calibrate_color(model, config, log=log)
        card = color_model_card(record, evaluation, calibration)
        weights, card_path = export_color_weights(model, args.export, card)
        log(f"wrote {weights} and {card_path}")
    return 0
