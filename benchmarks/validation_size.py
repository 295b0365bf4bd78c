"""Validation SSIM of shipped learned weights at the paper's frame size as well as ours.

The trainers validate on 40 held-out scenes (seed 1,000,000, no noise) rendered at the
training crop, 128 px on our CPUs. Oh et al.'s dataset, on which Ha et al. set their
acceptability threshold of SSIM 0.91, is 384 px. Our generator scales the scene (photo
crop, object sizes) with the frame size but draws the motions in pixels, so at 384 px
the same motions cross a third as many object boundaries per pixel. This script scores
the same seed at several sizes with the trainer's own ``evaluate`` (mean SSIM of the
network's output against the true magnified frame; the input's SSIM to it is the floor).

    OMP_NUM_THREADS=1 python benchmarks/validation_size.py oh2018 ha2024 ha2024-fast \\
        --sizes 128 256 384 --json benchmarks/results/validation_size.json

``--views 1 2 4`` also scores the engine's self-ensemble (method option ``views``,
``magnify/learned.py``): the mean of the network's outputs on the frames and their
mirror images (left-right; up-down and both), mirrored back.

``--ensemble`` also scores the mean of all the models' outputs (at each ``--views``):
the target of a run distilled from several teachers (``motionmag train ha2024 --teacher
A B``):

    OMP_NUM_THREADS=1 python benchmarks/validation_size.py oh2018 ha2024 --sizes 128 \
        --views 1 4 --ensemble --json benchmarks/results/validation_ensemble.json
"""

from __future__ import annotations

import argparse
import itertools
import time

import torch

from motionmag.magnify.learned import MIRRORS, VIEWS, average_mirrored, mirrored
from motionmag.models import create_model
from motionmag.train.oh2018 import Oh2018TrainConfig, _validation_batches, evaluate
from records import write_record  # benchmarks/records.py


class MirrorEnsemble(torch.nn.Module):
    """``net`` averaged over the first ``views`` of ``learned.MIRRORS`` (what ``--set
    views=N`` computes in the engine; tests/test_learned_views.py holds the engine to it)."""

    def __init__(self, net: torch.nn.Module, views: int) -> None:
        super().__init__()
        self.net, self.mirrors = net, MIRRORS[:views]

    def forward(self, a: torch.Tensor, b: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        views = len(self.mirrors)
        a, b = mirrored(a, self.mirrors), mirrored(b, self.mirrors)
        return average_mirrored(self.net(a, b, alpha.repeat(views)).float(), self.mirrors)


class MeanOf(torch.nn.Module):
    """The mean of several magnifiers' outputs (an ensemble; what a run distilled from
    several teachers trains toward, ``train.oh2018._teacher_output``)."""

    def __init__(self, nets: list[torch.nn.Module]) -> None:
        super().__init__()
        self.nets = torch.nn.ModuleList(nets)

    def forward(self, a: torch.Tensor, b: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
        return torch.stack([net(a, b, alpha).float() for net in self.nets]).mean(dim=0)


def validation_batches(size_px: int, samples: int) -> list[dict]:
    """The trainers' validation scenes rendered at ``size_px``. The draw depends only on
    the size, the seed and the count (``train.oh2018.make_dataset``), not on the model,
    so one render serves every network."""
    return _validation_batches(Oh2018TrainConfig(size_px=size_px, val_samples=samples, batch=4))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("models", nargs="+", help="installed learned models (oh2018, ha2024, ...)")
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 384], help="frame sides, px")
    parser.add_argument("--samples", type=int, default=40, help="scenes (trainers: 40)")
    parser.add_argument(
        "--views", type=int, nargs="+", default=[1], choices=VIEWS, help="self-ensemble sizes"
    )
    parser.add_argument(
        "--ensemble", action="store_true", help="also score the mean of the models' outputs"
    )
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    nets = {model: create_model(model, pretrained=True) for model in args.models}
    if args.ensemble:
        nets["mean(" + "+".join(args.models) + ")"] = MeanOf(list(nets.values()))
    cpu = torch.device("cpu")
    results = []
    for size in args.sizes:
        started = time.perf_counter()
        batches = validation_batches(size, args.samples)
        rendered = time.perf_counter() - started
        for (model, net), views in itertools.product(nets.items(), args.views):
            started = time.perf_counter()
            scored = MirrorEnsemble(net, views) if views > 1 else net
            with torch.inference_mode():
                row = {"model": model, "size_px": size, **evaluate(scored, batches, cpu)}
            if views > 1:
                row["views"] = views
            row["seconds"] = round(time.perf_counter() - started, 1)
            results.append(row)
            print(
                f"{model:24s} x{views} {size:4d} px  SSIM {row['ssim']:.4f}"
                f"  input {row['input_ssim']:.4f}"
                f"  ({row['samples']} scenes, {row['seconds']} s; rendered in {rendered:.1f} s)",
                flush=True,
            )
    if args.json:
        write_record(args.json, seed=Oh2018TrainConfig().val_seed, results=results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
