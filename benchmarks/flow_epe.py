"""End-point error of motionmag's differentiable flow against OpenCV DIS and Farneback.

What is measured: the mean end-point error (EPE, px) of three estimators on held-out
synthetic pairs whose flow is known exactly, at motion magnitudes from 0.1 to 30 px,
plus the wall-clock time per pair (one CPU thread):

- ``torch-lk``: :class:`motionmag.flow.differentiable.DifferentiableFlow` (pyramidal dense
  Lucas-Kanade unrolled in torch, default :class:`FlowConfig`), float32, no gradients;
- ``dis`` and ``farneback``: ``motionmag.flow.opencv`` (the metric estimators), on the
  same uint8 frames.

The pairs: Oh et al. (2018) scenes from the evaluation generator
(``motionmag.eval.pairs.EvalScene``: a textured photo background and 7-15 pasted
objects, rendered at 4x, blurred, area-down-sampled and dithered to uint8), with EVERY
layer moving by the same amount, each object in its own direction and the background in
another, from A to B. The scene set is ``--seed`` (default 424242: generator seed
``EVAL_SEED_BASE + 424242``, not a training seed; pick another seed for any tuning);
scene ``i`` is the same at every motion level.

Ground truth and which pixels count (our choice, from the renderer's per-layer coverage
maps): a pixel ``x`` of A counts when one layer ``l`` covers at least 99 % of it in A
(so anti-aliased object edges are out), its destination ``x + m_l`` lies inside B, and
layer ``l`` also covers at least 99 % of B at ``x + m_l`` (bilinear look-up), i.e. it is
neither occluded nor leaves the frame. Its true flow is ``m_l``. ``EPE`` is the mean over
those pixels; ``EPE far`` the mean over those at least ``--far-px`` px from any pixel
that another layer covers in A (interiors, where a windowed method is not penalised for
blurring motion boundaries). Means are over all counted pixels of all pairs of a level.

A second, easier table (``translation``): one photo (scikit-image astronaut and camera,
96x128, Gaussian sigma 1 px) moved as a whole by an exact Fourier shift
(``synth.vibration.subpixel_shift``), EPE over the frame minus ``ceil(|d|) + 8`` px at
each side: the case of global or smooth motion, the pairs of
``tests/test_flow_differentiable.py``.

Run (about a minute on one busy core; results in ``benchmarks/README.md``)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/flow_epe.py --pairs 48 \
        --json benchmarks/results/flow_epe.json
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import platform
import sys
import time
from dataclasses import fields
from pathlib import Path

import cv2
import numpy as np
import torch

from motionmag.eval.pairs import EvalScene
from motionmag.flow.differentiable import DifferentiableFlow, FlowConfig, flow_torch
from motionmag.flow.opencv import flow_dis, flow_farneback
from motionmag.synth.textures import load_texture
from motionmag.synth.vibration import quantize, smooth_texture, subpixel_shift

MOTIONS_PX = (0.1, 0.5, 2.0, 8.0, 20.0, 30.0)
SHIFTS_PX = ((0.3, 0.0), (-0.2, 0.35), (2.5, 1.0), (17.3, -6.6), (-12.4, 19.7), (25.5, 10.2))
PHOTOS = ("astronaut", "camera")
ESTIMATORS = ("torch-lk", "dis", "farneback")
PURITY = 0.99  # a counted pixel is covered >= 99 % by one layer, in A and at its match in B


def ground_truth(case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(H, W, 2) true flow, (H, W) bool mask of counted pixels, (H, W) layer index in A."""
    vis_a, vis_b = case.visibility["A"], case.visibility["B"]
    motion = case.layer_motion_px.astype(np.float32)
    layer = vis_a.argmax(axis=0)
    flow = motion[layer]
    height, width = layer.shape
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    map_x, map_y = xs + flow[..., 0], ys + flow[..., 1]
    inside = (map_x >= 0) & (map_x <= width - 1) & (map_y >= 0) & (map_y <= height - 1)
    covered_b = np.zeros((height, width), np.float32)
    for index in range(vis_b.shape[0]):  # coverage of each pixel's own layer at x + m_l
        here = layer == index
        if not here.any():
            continue
        look = cv2.remap(
            vis_b[index].astype(np.float32),
            map_x,
            map_y,
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
            borderValue=0,
        )
        covered_b[here] = look[here]
    pure_a = vis_a.max(axis=0) >= PURITY
    valid = pure_a & inside & (covered_b >= PURITY)
    return flow, valid, layer


def far_from_others(layer: np.ndarray, far_px: int) -> np.ndarray:
    """(H, W) bool: no pixel of another layer within ``far_px`` (Chebyshev distance)."""
    kernel = np.ones((2 * far_px + 1, 2 * far_px + 1), np.uint8)
    far = np.ones(layer.shape, bool)
    for index in np.unique(layer):
        others = (layer != index).astype(np.uint8)
        near_other = cv2.dilate(others, kernel) > 0
        far[(layer == index) & near_other] = False
    return far


def parse_config(settings: list[str]) -> FlowConfig:
    """``FIELD=VALUE`` strings -> :class:`FlowConfig` (values as Python literals)."""
    types = {f.name: f.type for f in fields(FlowConfig)}
    overrides: dict[str, object] = {}
    for setting in settings:
        key, sep, value = setting.partition("=")
        if not sep or key not in types:
            raise SystemExit(f"--set {setting!r}: expected FIELD=VALUE, FIELD one of {list(types)}")
        overrides[key] = value if types[key] == "str" else ast.literal_eval(value)
    return FlowConfig(**overrides)  # type: ignore[arg-type]


def mean_or_nan(chunks: list[np.ndarray]) -> float:
    values = np.concatenate(chunks)
    return float(values.mean()) if values.size else float("nan")


def translation_rows(estimators: dict) -> list[dict]:
    """EPE (px) of each estimator on whole-photo Fourier shifts (see the module doc)."""
    rows = []
    for name in PHOTOS:
        texture = smooth_texture(load_texture(name), (96, 128), sigma_px=1.0)
        for dx, dy in SHIFTS_PX:
            a, b = quantize(texture), quantize(subpixel_shift(texture, dx, dy))
            margin = int(np.ceil(max(abs(dx), abs(dy)))) + 8
            row = {"photo": name, "shift_px": [dx, dy]}
            for estimator, estimate in estimators.items():
                flow = estimate(a, b)[margin:-margin, margin:-margin]
                row[estimator] = float(np.hypot(flow[..., 0] - dx, flow[..., 1] - dy).mean())
            rows.append(row)
            cells = "".join(f" | {row[n]:7.3f}" for n in ESTIMATORS)
            print(f"{name:>9} ({dx:6.2f}, {dy:6.2f}){cells}", flush=True)
    return rows


def run(args: argparse.Namespace) -> dict:
    torch.set_num_threads(1)
    cv2.setNumThreads(0)
    config = parse_config(args.set)
    model = DifferentiableFlow(config)
    estimators = {
        "torch-lk": lambda a, b: flow_torch(a, b, model),
        "dis": flow_dis,
        "farneback": flow_farneback,
    }
    scenes = [EvalScene(i, seed=args.seed, size_px=args.size) for i in range(args.pairs)]
    # warm-up (torch's first call allocates and JIT-selects kernels)
    warm = scenes[0].case(args.motions[0], 1.0)
    for estimate in estimators.values():
        estimate(warm.A, warm.B)
    rows = []
    for motion in args.motions:
        err = {name: [] for name in ESTIMATORS}
        err_far = {name: [] for name in ESTIMATORS}
        seconds = {name: [] for name in ESTIMATORS}
        counted = far_counted = total = 0
        for scene in scenes:
            case = scene.case(motion, 1.0, return_masks=True)
            truth, valid, layer = ground_truth(case)
            far = valid & far_from_others(layer, args.far_px)
            counted += int(valid.sum())
            far_counted += int(far.sum())
            total += valid.size
            for name, estimate in estimators.items():
                start = time.perf_counter()
                flow = estimate(case.A, case.B)
                seconds[name].append(time.perf_counter() - start)
                epe = np.hypot(*(flow - truth).transpose(2, 0, 1))
                err[name].append(epe[valid])
                err_far[name].append(epe[far])
        row = {
            "motion_px": motion,
            "counted_fraction": counted / total,
            "far_fraction": far_counted / total,
        }
        for name in ESTIMATORS:
            row[name] = {
                "epe_px": mean_or_nan(err[name]),
                "epe_far_px": mean_or_nan(err_far[name]),
                "seconds_per_pair": float(np.median(seconds[name])),
            }
        rows.append(row)
        print_row(row)
    print(f"\ntranslation of a photo, EPE px: {' | '.join(ESTIMATORS)}")
    translation = translation_rows(estimators)
    return {
        "benchmark": "flow_epe",
        "command": " ".join([Path(sys.argv[0]).as_posix(), *sys.argv[1:]]),
        "pairs_per_level": args.pairs,
        "size_px": args.size,
        "seed": args.seed,
        "far_px": args.far_px,
        "purity": PURITY,
        "torch_lk_config": config.to_dict(),
        "threads": {
            "torch": torch.get_num_threads(),
            "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS"),
        },
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "opencv": cv2.__version__,
            "numpy": np.__version__,
        },
        "machine": platform.machine(),
        "rows": rows,
        "translation": translation,
    }


def print_header() -> None:
    names = "".join(f" | {name:>24}" for name in ESTIMATORS)
    print(f"{'motion':>7} {'count':>6}{names}")
    sub = "".join(f" | {'EPE':>7} {'far':>7} {'ms':>6}" for _ in ESTIMATORS)
    print(f"{'px':>7} {'%':>6}{sub}")


def print_row(row: dict) -> None:
    cells = "".join(
        f" | {row[n]['epe_px']:7.3f} {row[n]['epe_far_px']:7.3f} "
        f"{1e3 * row[n]['seconds_per_pair']:6.1f}"
        for n in ESTIMATORS
    )
    print(f"{row['motion_px']:7.1f} {100 * row['counted_fraction']:6.1f}{cells}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=6, help="scenes per motion level")
    parser.add_argument("--size", type=int, default=192, help="frame side (px)")
    parser.add_argument("--seed", type=int, default=424242, help="evaluation scene set")
    parser.add_argument("--motions", type=float, nargs="+", default=list(MOTIONS_PX))
    parser.add_argument("--far-px", type=int, default=8, help="'far' margin to other layers")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FIELD=VALUE",
        help="override a FlowConfig field of torch-lk (tuning; e.g. window_sigma_px=4)",
    )
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    args = parser.parse_args(argv)
    print_header()
    result = run(args)
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
