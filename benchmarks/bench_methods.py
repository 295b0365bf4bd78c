"""Frames per second of every registered method, for ``motionmag methods``.

Each method runs in temporal mode (band 1-3 Hz at 30 fps, Butterworth; static mode for
methods without a temporal one would be chosen automatically) on random frames at
640x360 and 1920x1080, one after the other in one process, torch at 2 threads; the
median of ``--runs`` timed runs after a warm-up. Writes the record that
``motionmag methods`` shows (``src/motionmag/magnify/speeds.json``) with the machine and
command, so every speed it prints can be reproduced:

    .venv/bin/python benchmarks/bench_methods.py --write
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
from motionmag.magnify.registry import build_magnifier, methods

RECORD = Path(__file__).resolve().parents[1] / "src" / "motionmag" / "magnify" / "speeds.json"
SIZES = {"640x360": (640, 360, 20), "1080p": (1920, 1080, 4)}


def measure(method: str, width: int, height: int, frames: int, runs: int) -> float:
    rng = np.random.default_rng(0)
    clip = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(4)]
    spec_modes = next(s.modes for s in methods() if s.name == method)
    mode = "temporal" if "temporal" in spec_modes else spec_modes[0]
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
    parser.add_argument("--write", action="store_true", help=f"write {RECORD.name}")
    args = parser.parse_args()
    torch.set_num_threads(2)
    table: dict[str, dict[str, float]] = {}
    for spec in methods():
        table[spec.name] = {}
        for label, (width, height, frames) in SIZES.items():
            fps = measure(spec.name, width, height, frames, args.runs)
            table[spec.name][label] = float(f"{fps:.3g}")
            print(f"{spec.name:<14} {label:>8} {fps:8.2f} fps", flush=True)
    if args.write:
        record = {
            "methods": table,
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, CPU",
            "command": ".venv/bin/python benchmarks/bench_methods.py --write",
            "note": "temporal mode, Butterworth 1-3 Hz, median of runs after warm-up",
        }
        RECORD.write_text(json.dumps(record, indent=2) + "\n")
        print(f"wrote {RECORD}")


if __name__ == "__main__":
    main()
