"""A learned method with and without ``allocator.keep_freed_memory``, side by side.

glibc hands large per-frame tensors back to the OS on free, so each new one costs a
page fault per 4 kB page (``src/motionmag/allocator.py``). This runs ``--method``
(static mode, default ha2024 in bf16 with batch 4, the live setting) at 640x360 in fresh
processes with ``MOTIONMAG_KEEP_FREED_MEMORY=0`` (glibc's defaults) and ``1`` (ours),
alternating, and prints each run's ms per frame and minor page faults per frame, the
median of each and the median per-round ratio (off / on).

    python benchmarks/bench_allocator.py --json benchmarks/results/bench_allocator.json
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

from records import write_record  # benchmarks/records.py


def child(method: str, options: dict, size: str, frames: int) -> dict:
    """Time ``frames`` pushes after 12 warm-up pushes; returns ms and faults per frame."""
    import torch

    from motionmag.allocator import keep_freed_memory
    from motionmag.magnify.stream import Stream

    torch.set_num_threads(2)
    width, height = (int(v) for v in size.split("x"))
    rng = np.random.default_rng(0)
    clip = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(8)]
    stream = Stream(method=method, alpha=10, mode="static", fps=25, device="cpu", **options)
    for i in range(12):
        stream.push(clip[i % len(clip)])
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    began = time.perf_counter()
    for i in range(frames):
        stream.push(clip[i % len(clip)])
    seconds = time.perf_counter() - began
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return {
        "kept": keep_freed_memory(),
        "ms_per_frame": 1000 * seconds / frames,
        "faults_per_frame": faults / frames,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default="ha2024")
    parser.add_argument(
        "--set",
        action="append",
        default=None,
        help="method option KEY=VALUE (default for ha2024: precision=bf16 and batch=4)",
    )
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--frames", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.set is None:
        args.set = ["precision=bf16", "batch=4"] if args.method == "ha2024" else []
    options = {}
    for item in args.set:
        key, value = item.split("=", 1)
        options[key] = int(value) if value.isdigit() else value
    if args.child:
        print(json.dumps(child(args.method, options, args.size, args.frames)))
        return 0
    runs: dict[str, list[dict]] = {"0": [], "1": []}
    command = [sys.executable, __file__, "--child", "--method", args.method, "--size", args.size]
    command += ["--frames", str(args.frames)] + [f"--set={item}" for item in args.set]
    for _ in range(args.rounds):
        for setting in runs:
            env = {**os.environ, "MOTIONMAG_KEEP_FREED_MEMORY": setting}
            out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            runs[setting].append(json.loads(out.stdout.strip().splitlines()[-1]))
            print(setting, runs[setting][-1], flush=True)
    pairs = zip(runs["0"], runs["1"], strict=True)
    ratios = [off["ms_per_frame"] / on["ms_per_frame"] for off, on in pairs]
    result = {
        name: {
            "ms_per_frame": round(statistics.median(r["ms_per_frame"] for r in rows), 2),
            "faults_per_frame": round(statistics.median(r["faults_per_frame"] for r in rows), 1),
        }
        for name, rows in (("glibc_default", runs["0"]), ("keep_freed_memory", runs["1"]))
    }
    result["speedup"] = round(statistics.median(ratios), 3)
    print(json.dumps(result))
    if args.json:
        write_record(
            args.json,
            method=args.method,
            options=options,
            size=args.size,
            threads=2,
            rounds=runs,
            result=result,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
