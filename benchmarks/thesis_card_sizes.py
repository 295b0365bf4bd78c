"""Write each shipped thesis network's size at 720x720 into its model card, beside the
thesis's targets (THESIS.md s.8: "measured params and GFLOPs at 720^2 beside the thesis
targets").

Parameters are counted on the shipped network; FLOPs with ``torch.utils.flop_counter``
for one pair at 720x720 (2 per multiply-add, FFTs not counted: the thesis's convention,
THESIS.md s.2.4). The card gains ``network.size_720``::

    python benchmarks/thesis_card_sizes.py sigma-theta mdmm-d1 mdmm-d2
"""

from __future__ import annotations

import argparse
import json

import torch
from torch.utils.flop_counter import FlopCounterMode

from motionmag.models.registry import create_model, shipped_weights_path
from records import command_line  # benchmarks/records.py

#: the thesis's numbers (parameters in millions, GFLOPs at 720x720; THESIS.md s.3-7)
THESIS_TARGETS = {
    "sigma-theta": (0.085, 48.8),
    "mdmm-d1": (0.117, 65.4),
    "mdmm-d2": (0.053, 30.4),
    "lwmm": (1.10, 375.5),
    "lwmm-light": (0.12, 42.4),
    "hmn": (2.5, 602.5),
    "hmn-light": (0.28, 68.3),
}


def size_720(name: str) -> dict:
    """Parameters and GFLOPs of the shipped ``name`` for one 720x720 pair."""
    net = create_model(name, pretrained=True)
    frame = torch.rand(1, 3, 720, 720)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(frame, frame, 10.0)
    params_m, gflops = THESIS_TARGETS[name]
    return {
        "parameters": sum(p.numel() for p in net.parameters()),
        "gflops": round(counter.get_total_flops() / 1e9, 1),
        "thesis": {"parameters_millions": params_m, "gflops": gflops},
        "convention": "torch.utils.flop_counter, one pair, 2 FLOPs per multiply-add, FFTs "
        "not counted (THESIS.md s.2.4)",
        "command": command_line(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", choices=sorted(THESIS_TARGETS))
    args = parser.parse_args()
    for name in args.models:
        card_path = shipped_weights_path(name).with_suffix(".json")
        card = json.loads(card_path.read_text())
        card["network"]["size_720"] = size_720(name)
        card_path.write_text(json.dumps(card, indent=1) + "\n")
        print(name, card["network"]["size_720"])


if __name__ == "__main__":
    main()
