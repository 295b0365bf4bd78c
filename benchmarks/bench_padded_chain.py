"""ha2024 / oh2018 with and without ``nets/fused.py``'s padded chains (or its sub-pixel
upsampling, ``--toggle subpixel``), side by side.

A padded chain runs a run of 3x3 reflect-padded convolutions on activations that keep
their 1 px padding, instead of ``F.pad`` copying every activation (``_PaddedChain``).
This builds two static-mode ``Stream``s of each method (fused, bf16 by default, batch
4: the live setting), one with the chains and one without, pushes the same 640x360
frames through each in alternating rounds, and prints ms per frame and the per-round
ratio (chains off / on), the median of which is the speed-up.

    python benchmarks/bench_padded_chain.py --json benchmarks/results/bench_padded_chain.json

``--toggle subpixel`` compares with and without ``nets/subpixel.py`` instead (each
nearest x2 upsampling and the convolutions after it run at the low resolution):

    python benchmarks/bench_padded_chain.py --toggle subpixel --methods ha2024-fast,ha2024,oh2018 \
        --json benchmarks/results/bench_subpixel.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import cv2
import numpy as np
import torch

import motionmag.nets.fused as fused
from motionmag.eval.bench import machine
from motionmag.magnify.stream import Stream
from records import write_record  # benchmarks/records.py


def frames(width: int, height: int, n: int) -> list[np.ndarray]:
    """A smooth random texture shifted by 0.1 px per frame (content does not set the speed)."""
    rng = np.random.default_rng(0)
    base = rng.random((height // 8 + 2, width // 8 + 2, 3))
    texture = cv2.resize(base, (width + 64, height + 64), interpolation=cv2.INTER_CUBIC)
    out = []
    for i in range(n):
        shift = np.float32([[1, 0, 0.1 * i], [0, 1, 0]])
        moved = cv2.warpAffine(texture, shift, (width + 64, height + 64))
        out.append((np.clip(moved[32 : 32 + height, 32 : 32 + width], 0, 1) * 255).astype(np.uint8))
    return out


#: what ``--toggle`` switches off: the pass of ``nets/fused.py`` that builds it
TOGGLES = {"chains": "_chain_rings", "subpixel": "_fold_subpixel"}


def stream(method: str, precision: str, batch: int, on: bool, warm: list, toggle: str) -> Stream:
    name = TOGGLES[toggle]
    original = getattr(fused, name)
    if not on:
        setattr(fused, name, lambda steps: steps)
    try:
        made = Stream(
            method=method,
            alpha=10,
            mode="static",
            fps=25,
            device="cpu",
            precision=precision,
            batch=batch,
        )
    finally:
        setattr(fused, name, original)
    for frame in warm:
        made.push(frame)
    return made


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="ha2024,oh2018")
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--frames", type=int, default=40, help="timed pushes per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--toggle", choices=sorted(TOGGLES), default="chains")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    width, height = (int(v) for v in args.size.split("x"))
    clip = frames(width, height, 12 + args.frames)
    # the keys of the padded-chain results written before --toggle existed
    on_label, off_label = ("chains", "plain") if args.toggle == "chains" else ("on", "off")
    rows = []
    for method in args.methods.split(","):
        streams = {
            chains: stream(method, args.precision, args.batch, chains, clip[:12], args.toggle)
            for chains in (True, False)
        }
        ms: dict[bool, list[float]] = {True: [], False: []}
        for _ in range(args.rounds):
            for chains, st in streams.items():
                began = time.perf_counter()
                for frame in clip[12:]:
                    st.push(frame)
                ms[chains].append(1000 * (time.perf_counter() - began) / args.frames)
        ratios = [off / on for on, off in zip(ms[True], ms[False], strict=True)]
        row = {
            "method": method,
            f"ms_per_frame_{on_label}": round(statistics.median(ms[True]), 2),
            f"ms_per_frame_{off_label}": round(statistics.median(ms[False]), 2),
            "speedup": round(statistics.median(ratios), 3),
            "ratios": [round(r, 3) for r in ratios],
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
    if args.json:
        write_record(
            args.json,
            machine=machine(),
            toggle=args.toggle,
            size=args.size,
            precision=args.precision,
            batch=args.batch,
            threads=args.threads,
            rounds=args.rounds,
            results=rows,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
