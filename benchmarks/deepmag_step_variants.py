"""What limits DeepMag's pulse on moving heads: the predictor's weights or the step's sign?

DeepMag's step is ``|G| sgn(X)`` per element (Eq. 3, sign correction): the predictor
decides *where* the change goes, the element's own frame difference decides its *sign*.
This script magnifies the physio test videos (``synth/physio``, test split) with
variants of the step and scores the motion-compensated pulse in the skin region, as the
physio suite does (``eval.physio_measures.pulse_scores``: gain and correlation with the
true pulse of the output minus a noise-free, pulse-free render):

- ``cnn``: the shipped ``deepmag-color`` predictor, the paper's step (blur 2 cells, the
  method's default);
- ``oracle``: a predictor with perfect spatial weights, ``y = sum(w X)`` with ``w`` the
  true skin cover of each 36 x 36 cell (mean over the clip) times the pulse's colour
  ratio 0.33 : 0.77 : 0.53; its gradient is ``w``, so its step is ``w sgn(X)``;
- ``gate K``: the CNN with the step's noise gate (``gate_sigmas = K``, ours,
  :func:`motionmag.deepmag.magnify.noise_gate`): elements with ``|X| > K sigma_c`` do not move.

Each variant runs at fixed steps (``N gamma``, N = 20) instead of a calibrated alpha,
since the variants change the gain per step; compare correlations at similar gains.

    python benchmarks/deepmag_step_variants.py --tasks AD --n 2 \\
        --json benchmarks/results/deepmag_step_variants.json

(2 videos of tasks A and D, 20 s, 128 px: about 25 minutes on 1 thread.)
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

import numpy as np
import torch
import torch.nn.functional as F

from motionmag.deepmag.magnify import SMOOTH_CELLS, magnify_color_details
from motionmag.deepmag.representations import SIZE_PX, to_uint8
from motionmag.eval.physio import pulse_references
from motionmag.eval.physio_measures import pulse_scores
from motionmag.models.registry import create_model
from motionmag.synth.physio import PBV_SIGNATURE, PhysioConfig


class SkinOracle(torch.nn.Module):
    """``y = sum(w X)`` per frame, ``w`` (3, L, L) = skin cover of each cell x the
    generator's pulse colour (``synth.physio.PBV_SIGNATURE``, R : G : B)."""

    def __init__(self, skin_mask: np.ndarray) -> None:
        super().__init__()
        cover = torch.from_numpy(np.asarray(skin_mask).mean(axis=0).astype(np.float32))
        cells = F.interpolate(cover[None, None], size=(SIZE_PX, SIZE_PX), mode="area")[0, 0]
        self.weight = cells[None] * torch.tensor(PBV_SIGNATURE)[:, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weight).flatten(1).sum(1)


def score_step(video, pulse_free, predictor, gamma: float, **options) -> dict:
    """Magnify one physio video at N = 20 and ``gamma`` (blur 2 cells, ``options`` for
    :func:`magnify_color_details`); its compensated pulse gain and r, and its SSIM."""
    out = magnify_color_details(
        video.frames, video.fps, predictor, 20, gamma, batch_size=4096,
        smooth_cells=SMOOTH_CELLS, **options,
    )["frames"]  # fmt: skip
    s = pulse_scores(video, to_uint8(out), pulse_free=pulse_free)
    return {"gamma": gamma, "gain": s["gain_compensated"], "r": s["correlation_compensated"],
            "r_input": s["correlation_compensated_input"], "ssim": s["ssim"]}  # fmt: skip


def frozen_cnn():
    """The shipped ``deepmag-color`` CNN, in eval mode, its weights frozen."""
    cnn = create_model("deepmag-color").eval()
    for p in cnn.parameters():
        p.requires_grad_(False)
    return cnn


def run_variants(args: argparse.Namespace, variants_for) -> list[dict]:
    """Score every variant on ``args.n`` test videos of each task in ``args.tasks``.

    ``variants_for(video)`` gives (name, predictor, gammas, options for
    :func:`score_step`) per variant; returns a row per video, variant and gamma."""
    rows = []
    for task in args.tasks:
        config = PhysioConfig(task=task, duration_s=args.duration)
        for index in range(args.n):
            video, (free, _) = pulse_references(index, 0, config, 3.0)
            for name, predictor, gammas, options in variants_for(video):
                for gamma in gammas:
                    row = score_step(video, free, predictor, gamma, **options)
                    rows.append({"task": task, "index": index, "variant": name, **row})
                    print(f"{task}{index} {name:22s} gamma {gamma:.1e}: gain {row['gain']:.2f} "
                          f"r {row['r']:.3f} ssim {row['ssim']:.4f}", flush=True)  # fmt: skip
    return rows


def summarise(rows: list[dict], args: argparse.Namespace, argv: list[str]) -> dict:
    """Print the mean gain and r per task, variant and gamma of ``rows``, and write them
    with every video's row to ``args.json`` (when given); returns the means."""
    means = {}
    for task in args.tasks:
        for name in dict.fromkeys(r["variant"] for r in rows):
            for gamma in dict.fromkeys(r["gamma"] for r in rows if r["variant"] == name):
                sel = [
                    r for r in rows if (r["task"], r["variant"], r["gamma"]) == (task, name, gamma)
                ]
                if not sel:
                    continue
                key = f"{task} {name} gamma {gamma:.1e}"
                means[key] = {k: float(np.mean([r[k] for r in sel])) for k in ("gain", "r")}
                print(f"mean {key}: gain {means[key]['gain']:.2f} r {means[key]['r']:.3f}")
    if args.json:
        record = {"command": "python " + shlex.join(argv), "settings": vars(args),
                  "means": means, "videos": rows}  # fmt: skip
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1)
    return means


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="AD", help="head-motion tasks (letters A-D)")
    parser.add_argument("--n", type=int, default=2, help="test videos per task")
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per video")
    parser.add_argument("--gammas", type=float, nargs="+", default=[1.2e-4, 2.4e-4])
    parser.add_argument("--gates", type=float, nargs="+", default=[1.5, 3.0])
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    cnn = frozen_cnn()

    def variants(video):
        out = [
            ("cnn", cnn, args.gammas, {}),
            ("oracle", SkinOracle(video.skin_mask), args.gammas, {}),
        ]
        out += [(f"gate {k:g}", cnn, args.gammas, {"gate_sigmas": k}) for k in args.gates]
        return out

    rows = run_variants(args, variants)
    summarise(rows, args, sys.argv)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
