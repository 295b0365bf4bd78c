"""Seconds per training step of oh2018, ha2024 and flowmag, fp32 against ``--precision bf16``.

One step = the trainer's task loss on one batch (``train.oh2018.task_loss``: encode the
four frames, manipulate, decode, Oh's loss; for flowmag ``train.flowmag.flowmag_loss``:
the U-Net, then the frozen flow on its output), backward and an Adam update, at the
default recipe (128 px crops, batch 4, channels-last; flowmag width 16). The two
precisions alternate (fp32, bf16, fp32, bf16) in one process, so the ratio is measured
side by side; the network starts from random weights (the speed does not depend on them).

    python benchmarks/bench_train_precision.py --json benchmarks/results/bench_train_precision.json
    python benchmarks/bench_train_precision.py --models flowmag \
        --json benchmarks/results/bench_train_precision_flowmag.json
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from functools import partial

import torch

from motionmag.train import oh2018 as trainer
from motionmag.train.oh2018 import Ha2024TrainConfig, Oh2018TrainConfig
from records import write_record  # benchmarks/records.py


def seconds_per_step(step_loss, optimizer, steps: int) -> float:
    """Median seconds of ``steps`` optimiser steps on ``step_loss()`` after one warm-up."""
    times = []
    for _ in range(steps + 1):  # the first is a warm-up
        start = time.perf_counter()
        loss = step_loss()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def compare(model: str, step_loss, optimizer, args) -> dict:
    """fp32 against bf16, alternating for ``args.rounds``; ``step_loss(precision)`` -> loss."""
    timed = {"fp32": [], "bf16": []}
    for _ in range(args.rounds):
        for precision in timed:
            timed[precision].append(
                seconds_per_step(partial(step_loss, precision), optimizer, args.steps)
            )
    row = {
        "model": model,
        "fp32_s_per_step": min(timed["fp32"]),
        "bf16_s_per_step": min(timed["bf16"]),
    }
    row["speedup"] = row["fp32_s_per_step"] / row["bf16_s_per_step"]
    fp32, bf16 = row["fp32_s_per_step"], row["bf16_s_per_step"]
    print(f"{model}: fp32 {fp32:.3f} s/step, bf16 {bf16:.3f} s/step, "
          f"{row['speedup']:.2f}x", flush=True)  # fmt: skip
    return row


def flowmag_row(args) -> dict:
    """FlowMag's step (the generator through the frozen flow, ``flowmag_loss``), fp32 vs bf16."""
    from motionmag.nets.flowmag import FlowMagNet
    from motionmag.train import flowmag as fm

    base = fm.FlowMagTrainConfig(workers=0, val_samples=4, validate_every=0)
    batch = fm._validation_batches(base, None)[0]
    torch.manual_seed(0)
    net = FlowMagNet(width=base.width, residual=base.residual, base=base.base).train()
    flow = fm.make_flow()
    optimizer = torch.optim.Adam(net.parameters(), lr=base.lr)
    alpha = fm.sample_alphas(batch["frame0"].shape[0], base.alpha_range)

    def step_loss(precision: str) -> torch.Tensor:
        frame0, frame_t = batch["frame0"], batch["frame_t"]
        return fm.flowmag_loss(net, flow, frame0, frame_t, alpha, base.color_weight, precision)[0]

    return compare("flowmag", step_loss, optimizer, args)


def oh2018_row(config_cls, args) -> dict:
    """oh2018 or ha2024: ``train.oh2018.task_loss`` on one validation batch, fp32 vs bf16."""
    base = config_cls(workers=0, val_samples=4, validate_every=0)
    batch = trainer._validation_batches(base)[0]
    torch.manual_seed(0)
    net = trainer.make_net(base).to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.Adam(net.parameters(), lr=base.lr)
    configs = {
        precision: config_cls.from_dict({**base.to_dict(), "precision": precision})
        for precision in ("fp32", "bf16")
    }
    cpu = torch.device("cpu")

    def step_loss(precision: str) -> torch.Tensor:
        return trainer.task_loss(net, batch, configs[precision], None, cpu)[0]

    return compare(base.MODEL, step_loss, optimizer, args)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=2, help="fp32/bf16 alternations")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--json", default=None)
    parser.add_argument("--models", default="oh2018,ha2024,flowmag")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = []
    models = args.models.split(",")
    if "flowmag" in models:
        results.append(flowmag_row(args))
    for config_cls in (Oh2018TrainConfig, Ha2024TrainConfig):
        if config_cls.MODEL in models:
            results.append(oh2018_row(config_cls, args))
    if args.json:
        write_record(
            args.json,
            indent=1,
            machine=f"{platform.machine()}, torch {torch.__version__}, {args.threads} thread(s)",
            settings={"size_px": 128, "batch": 4, **vars(args)},
            results=results,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
