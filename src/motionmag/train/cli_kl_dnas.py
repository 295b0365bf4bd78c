"""``motionmag train kl-dnas``'s own flags (the stage, the teacher, the search space)."""

from __future__ import annotations

import argparse


def add_kl_dnas_flags(p: argparse.ArgumentParser) -> None:
    """Add the KL-DNAS stage, teacher, previous-stage and search-space flags to ``p``."""
    p.add_argument(
        "--stage",
        choices=("encoder", "middle", "decoder", "finetune"),
        default=None,
        help="the run in the series: search the encoder, then appearance + manipulator, then "
        "the decoder, then fine-tune the derived student (default encoder)",
    )
    p.add_argument(
        "--teacher",
        default=None,
        metavar="FILE.safetensors",
        help="the frozen LW-MM trained without noise (`motionmag train lwmm --noise-max 0`); "
        "the student's width is its 2C",
    )
    p.add_argument(
        "--previous",
        default=None,
        metavar="FILE.safetensors",
        help="the previous stage's export (every stage but encoder); its searched parts are "
        "derived (argmax) with their weights",
    )
    p.add_argument("--layers", type=int, default=None, help="LR layers per block (default 4)")
    p.add_argument(
        "--reach", type=int, default=None, help="earlier layers an LC chain reaches (default 3)"
    )
    p.add_argument(
        "--ops",
        choices=("reduced", "full"),
        default=None,
        help="LR candidates: reduced = none, 3x3 d1/d2/d4, 5x5 d1 (default); full = the "
        "thesis's 9 (3x3 and 5x5 at dilations 1, 2, 4, 8)",
    )
    p.add_argument(
        "--latency-fraction",
        type=float,
        default=None,
        help="each stage's latency target as a share of the teacher's, measured here "
        "(default 0.45, the thesis's SM1)",
    )
    p.add_argument(
        "--arch-lr", type=float, default=None, help="Adam lr of the mixture logits (default 3e-4)"
    )
    p.add_argument(
        "--arch-warmup",
        type=float,
        default=None,
        help="share of --steps with the mixture logits frozen (default 0.1)",
    )
    p.add_argument(
        "--arch-schedule",
        choices=("joint", "alternate"),
        default=None,
        help="joint: logits and weights step on every batch (default, half the cost); "
        "alternate: first-order DARTS, a weight step and a logit step take turns",
    )
    p.add_argument(
        "--latency-table",
        default=None,
        metavar="FILE.json",
        help="op and teacher times measured on the machine the model is for (`python "
        "benchmarks/kl_dnas_latency.py --json FILE` there), e.g. when searching on a lent "
        "GPU; default: measured here when the run starts",
    )
