"""FlowMag's validation loss (Eq. 3-5) of three generators that need no training.

The reference rows of the README's "FlowMag training" table, on the trainer's own
validation pairs (``FlowMagTrainConfig(max_motion_px=1)``: 16 synthetic pairs of its
validation seed, alpha log-uniform in 1-16): the identity (returns I_t), the untrained linear base
(I_t + (alpha - 1)(I_t - I_0)) and Warp Bilinear driven by the training flow itself
(I_t warped on by (alpha - 1) F(I_0, I_t); it sees the loss's own flow, so it is a
reference, not a fair competitor).

    OMP_NUM_THREADS=1 python benchmarks/flowmag_baselines.py
"""

from __future__ import annotations

import json

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
    torch.manual_seed(0)
    config = FlowMagTrainConfig(max_motion_px=1.0)
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


if __name__ == "__main__":
    main()
