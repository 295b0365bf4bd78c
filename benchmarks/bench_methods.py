"""Frames per second of every registered method, for ``motionmag methods``.

Each method runs in temporal mode (band 1-3 Hz at 30 fps, Butterworth), except learned
and two-frame methods, which run in static mode (the reference frame's encoding computed
once and reused, the mode their papers time); on random frames at 640x360 and 1920x1080,
one after the other in one process, torch at 2 threads; the median of ``--runs`` timed
runs after a warm-up. Learned methods without installed weights are skipped. ``--write``
merges the measured methods into the record that ``motionmag methods`` shows
(``src/motionmag/magnify/speeds.json``, with each method's mode, date and command), so
every speed it prints can be reproduced:

    .venv/bin/python benchmarks/bench_methods.py --write
    .venv/bin/python benchmarks/bench_methods.py --methods linear,oh2018 --write
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from motionmag.magnify.config import MagnifyConfig
from motionmag.magnify.registry import build_magnifier, methods, weights_available

RECORD = Path(__file__).resolve().parents[1] / "src" / "motionmag" / "magnify" / "speeds.json"
SIZES = {"640x360": (640, 360, 20), "1080p": (1920, 1080, 4)}


def timed_mode(method: str) -> str:
    """Static for learned and two-frame methods, else temporal (see the module docstring)."""
    spec = next(s for s in methods() if s.name == method)
    if spec.kind == "learned" or "temporal" not in spec.modes:
        return "static" if "static" in spec.modes else spec.modes[0]
    return "temporal"


def measure(method: str, width: int, height: int, frames: int, runs: int) -> float:
    rng = np.random.default_rng(0)
    clip = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(4)]
    mode = timed_mode(method)
    config = MagnifyConfig(method=method, alpha=10, mode=mode, band=(1.0, 3.0), fps=30.0)
    magnifier = build_magnifier(config)
    for frame in clip:  # warm-up: plans, filters, caches
        magnifier.push(frame)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for i in range(frames):
            magnifier.push(clip[i % len(clip)])
        times.append(time.perf_counter() - start)
    return frames / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description="fps of every registered method")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--methods", help="comma-separated methods (default: all)")
    parser.add_argument("--write", action="store_true", help=f"merge into {RECORD.name}")
    args = parser.parse_args()
    torch.set_num_threads(2)
    wanted = args.methods.split(",") if args.methods else None
    command = "python benchmarks/bench_methods.py " + (
        f"--methods {args.methods} --write" if args.methods else "--write"
    )
    record = json.loads(RECORD.read_text()) if RECORD.is_file() else {"methods": {}}
    for spec in methods():
        if wanted is not None and spec.name not in wanted:
            continue
        if not weights_available(spec):
            print(f"{spec.name:<14} skipped: no installed weights", flush=True)
            continue
        row: dict[str, object] = {}
        for label, (width, height, frames) in SIZES.items():
            fps = measure(spec.name, width, height, frames, args.runs)
            row[label] = float(f"{fps:.3g}")
            print(f"{spec.name:<14} {label:>8} {fps:8.2f} fps", flush=True)
        row.update(mode=timed_mode(spec.name), date=datetime.date.today().isoformat())
        row["command"] = command
        record["methods"][spec.name] = row
    if args.write:
        record["machine"] = f"{platform.machine()}, {torch.get_num_threads()} torch threads, CPU"
        record["note"] = (
            "median of runs after warm-up; temporal mode (Butterworth 1-3 Hz) except "
            "learned and two-frame methods (static, reference encoding reused)"
        )
        RECORD.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {RECORD}")


if __name__ == "__main__":
    main()
