"""Does FlowMag's loss, through our frozen Lucas-Kanade flow, point at the right answer?

On N synthetic pairs of the trainer's validation seed (the first 16 are its validation
set; max motion 2 px per layer, alpha log-uniform in 1-16), each with its TRUE magnified
frame (``FlowMagPairs.with_truth``: the same sample rendered at its alpha, augmented with
the pair), this measures the paper's loss (Eq. 3-5, ``L_mag + 10 L_color``) and the L1 to
the truth of four outputs: the identity (I_t), the untrained net's linear base
(I_t + (alpha - 1)(I_t - I_0)), Warp Bilinear driven by the training flow itself, and the
true frame. A loss that can train a generator scores the true frame lowest. It also
measures the cosine between the loss's descent direction at the linear base and the
direction to the truth (1: straight at it; 0: no information). Rows bin the samples by
the largest layer motion times alpha (before the crop's zoom of 1-1.2).

    OMP_NUM_THREADS=1 python benchmarks/flowmag_signal.py --n 64 \
        --json benchmarks/results/flowmag_signal.json
"""

from __future__ import annotations

import argparse
import json
import math

import numpy as np
import torch
import torch.nn.functional as F

from motionmag.nets.flowmag import FlowMagNet
from motionmag.train.flowmag import (
    FlowMagPairs,
    FlowMagTrainConfig,
    _paper_terms,
    make_flow,
    sample_alphas,
    warp_target,
)

BINS_PX = ((0.0, 2.0), (2.0, 8.0), (8.0, math.inf))
OUTPUTS = ("identity", "linear base", "warp bilinear", "truth")


def per_sample(flow, frame0, frame_t, flow_src, out, alpha, truth) -> dict[str, float]:
    """Loss parts of one output (1, 3, S, S) of one sample, and its L1 to the truth."""
    mag, color = _paper_terms(flow, frame0, frame_t, flow_src, out, alpha)
    return {
        "loss": float(mag + 10 * color),
        "mag": float(mag),
        "color": float(color),
        "l1_truth": float((out - truth).abs().mean()),
    }


def descent_cosine(flow, frame0, frame_t, flow_src, start, alpha, truth) -> float:
    """cos(-dL/dY at ``start``, truth - start) for one sample."""
    y = start.detach().clone().requires_grad_()
    mag, color = _paper_terms(flow, frame0, frame_t, flow_src, y, alpha)
    (grad,) = torch.autograd.grad(mag + 10 * color, y)
    return float(F.cosine_similarity(-grad.flatten(), (truth - start).flatten(), dim=0))


def measure(n: int, max_motion_px: float) -> list[dict]:
    config = FlowMagTrainConfig(max_motion_px=max_motion_px)
    dataset = FlowMagPairs(n, config, config.val_seed)
    alphas = sample_alphas(n, config.alpha_range, torch.Generator().manual_seed(config.val_seed))
    flow = make_flow()
    linear = FlowMagNet(width=16, residual=True, base="linear").eval()  # untrained: the base
    rows = []
    for i in range(n):
        item = dataset.pair_item(i)
        truth = dataset.with_truth(i, float(alphas[i]))["target"][None]
        frame0, frame_t = item["frame0"][None], item["frame_t"][None]
        alpha = alphas[i : i + 1]
        with torch.no_grad():
            flow_src = flow(frame0, frame_t)
            outputs = {
                "identity": frame_t,
                "linear base": linear(frame0, frame_t, alpha),
                "warp bilinear": warp_target(frame_t, flow_src, alpha),
                "truth": truth,
            }
        motion = np.hypot(*np.array([layer.motion_px for layer in
                                     dataset.generator.params(i).layers]).T).max()  # fmt: skip
        row = {"index": i, "alpha": float(alpha), "amplitude_px": float(alpha) * float(motion)}
        for name, out in outputs.items():
            with torch.no_grad():
                row[name] = per_sample(flow, frame0, frame_t, flow_src, out, alpha, truth)
        row["cosine"] = descent_cosine(
            flow, frame0, frame_t, flow_src, outputs["linear base"], alpha, truth
        )
        rows.append(row)
    return rows


def summarise(rows: list[dict]) -> list[dict]:
    groups = [(f"{lo:g}-{hi:g} px", lambda r, lo=lo, hi=hi: lo <= r["amplitude_px"] < hi)
              for lo, hi in BINS_PX]  # fmt: skip
    groups += [("all", lambda r: True), ("first 16 (validation)", lambda r: r["index"] < 16)]
    table = []
    for label, keep in groups:
        chosen = [r for r in rows if keep(r)]
        if not chosen:
            continue
        entry = {"samples": label, "n": len(chosen)}
        for name in OUTPUTS:
            entry[name] = {
                key: round(float(np.mean([r[name][key] for r in chosen])), 4)
                for key in ("loss", "mag", "color", "l1_truth")
            }
        wins = sum(r["truth"]["loss"] < r["linear base"]["loss"] for r in chosen)
        entry["truth below linear base"] = f"{wins}/{len(chosen)}"
        entry["cosine"] = round(float(np.mean([r["cosine"] for r in chosen])), 3)
        table.append(entry)
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=64, help="pairs (default 64)")
    parser.add_argument("--max-motion", type=float, default=2.0, help="px per layer (2)")
    parser.add_argument("--json", default=None, help="write the table here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    table = summarise(measure(args.n, args.max_motion))
    print("loss (L_mag + 10 L_color) / L1 to the true frame, mean per bin")
    print(f"{'samples':>22} {'n':>3} " + " ".join(f"{name:>16}" for name in OUTPUTS)
          + "  truth<linear  cosine")  # fmt: skip
    for entry in table:
        cells = " ".join(
            f"{entry[name]['loss']:>8.3f}/{entry[name]['l1_truth']:.4f}" for name in OUTPUTS
        )
        print(f"{entry['samples']:>22} {entry['n']:>3} {cells}  "
              f"{entry['truth below linear base']:>12}  {entry['cosine']:>6.3f}")  # fmt: skip
    if args.json:
        with open(args.json, "w") as handle:
            json.dump({"command": "python benchmarks/flowmag_signal.py --n "
                       f"{args.n} --max-motion {args.max_motion:g}", "table": table},
                      handle, indent=1)  # fmt: skip
        print(f"results: {args.json}")


if __name__ == "__main__":
    main()
