"""FlowMag checkpoints and weights scored on a larger validation set than training's.

The trainer validates on 16 synthetic pairs (``val_samples``), which is cheap but noisy:
on the shipped run consecutive readings differ by up to 0.1 in loss, so "best" partly
picks noise. This scores run checkpoints (``.pt``) and weights files (``.safetensors``)
on ``--n`` pairs of another seed (default 256 pairs of seed 3,000,000, never used for
choosing during training), with the trainer's own ``evaluate``: the paper's loss
(Eq. 3-5, ``L_mag + 10 L_color`` through the frozen Lucas-Kanade flow) and the L1 to the
true magnified frame (our generator renders it). Lower is better for both.

    OMP_NUM_THREADS=1 python benchmarks/flowmag_validation.py \\
        runs/flowmag/mi-lin/best.pt src/motionmag/models/weights/flowmag.safetensors
"""

from __future__ import annotations

import argparse
import json

import torch

from motionmag.models.registry import create_model
from motionmag.nets.flowmag import FlowMagNet
from motionmag.train.flowmag import (
    FlowMagTrainConfig,
    _validation_batches,
    evaluate,
    load_checkpoint,
    make_flow,
)


def load_net(path: str) -> tuple[torch.nn.Module, dict]:
    """The generator of a run checkpoint or a weights file, and what it is."""
    if path.endswith(".safetensors"):
        return create_model("flowmag", weights=path), {"path": path}
    checkpoint = load_checkpoint(path)
    net = FlowMagNet(**checkpoint["net_config"])
    net.load_state_dict(checkpoint["model"])
    about = {"path": path, "step": checkpoint["step"], "samples_seen": checkpoint["samples_seen"]}
    return net.eval(), about


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", help="run checkpoints (.pt) or .safetensors")
    parser.add_argument("--n", type=int, default=256, help="validation pairs (default 256)")
    parser.add_argument("--seed", type=int, default=3_000_000, help="their seed")
    parser.add_argument("--size", type=int, default=64, help="crop side, px (the shipped run's)")
    parser.add_argument("--max-motion", type=float, default=1.0, help="px per layer (ditto)")
    parser.add_argument("--json", default=None, help="also write the scores here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = FlowMagTrainConfig(
        size_px=args.size, batch=8, max_motion_px=args.max_motion,
        val_samples=args.n, val_seed=args.seed,
    )  # fmt: skip
    batches = _validation_batches(config, None)
    flow = make_flow()
    scores = []
    for path in args.weights:
        net, about = load_net(path)
        parts = evaluate(net, flow, batches, "cpu", config.color_weight)
        about.update({key: round(parts[key], 4) for key in ("total", "mag", "color", "truth_l1")})
        scores.append(about)
        print(json.dumps(about), flush=True)
    if args.json:
        settings = {"n": args.n, "seed": args.seed, "size_px": args.size,
                    "max_motion_px": args.max_motion}  # fmt: skip
        with open(args.json, "w") as handle:
            json.dump({"settings": settings, "scores": scores}, handle, indent=1)


if __name__ == "__main__":
    main()
