"""FlowMag's validation loss (Eq. 3-5) of three generators that need no training.

The reference rows of the README's "FlowMag training" table, on the trainer's own
validation pairs (``FlowMagTrainConfig(max_motion_px=1)``: 16 synthetic pairs of its
validation seed, alpha log-uniform in 1-16): the identity (returns I_t), the untrained linear base
(I_t + (alpha - 1)(I_t - I_0)) and Warp Bilinear driven by the training flow itself
(I_t warped on by (alpha - 1) F(I_0, I_t); it sees the loss's own flow, so it is a
reference, not a fair competitor). The table is at 64 px (its runs' crop, ``--size``);
the default 128 px crop gives the "Before stop 22" rows.

    OMP_NUM_THREADS=1 python benchmarks/flowmag_baselines.py [--size 64] [--json PATH]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from motionmag.nets.flowmag import FlowMagNet
from motionmag.train.flowmag import (
    FlowMagTrainConfig,
    _validation_batches,
    evaluate,
    make_flow,
    warp_target,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=64, help="crop side, px (the table's 64)")
    parser.add_argument("--json", default=None, help="also write the results here")
    args = parser.parse_args()
    torch.manual_seed(0)
    config = FlowMagTrainConfig(max_motion_px=1.0, size_px=args.size)
    batches = _validation_batches(config, [])
    flow = make_flow()

    class WarpBilinear(torch.nn.Module):
        def forward(self, frame0, frame_t, alpha):
            return warp_target(frame_t, flow(frame0, frame_t), torch.as_tensor(alpha))

    generators = {
        "identity": FlowMagNet(width=16, residual=True, base="frame"),
        "linear": FlowMagNet(width=16, residual=True, base="linear"),
        "warp-bilinear-training-flow": WarpBilinear(),
    }
    results = {}
    for name, net in generators.items():
        with torch.no_grad():
            results[name] = evaluate(net, flow, batches, "cpu", config.color_weight)
    print(json.dumps(results, indent=1))
    if args.json:
        record = {
            "command": "python benchmarks/flowmag_baselines.py --size "
            f"{args.size} --json {args.json}",
            "size_px": args.size,
            "results": results,
        }
        Path(args.json).write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
