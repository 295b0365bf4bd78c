"""`phase` with its per-coefficient phase step and rotation in real arithmetic (the
shipped ``phase_step`` / ``rotation_change``) against the complex forms they replaced
(``angle(c conj(p))``, ``polar(1, r) - 1``), alternated in one process: frames/s of
static-mode magnification, 2 threads::

    python benchmarks/bench_phase_elementwise.py [--size 1920x1080] [--frames 6] [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from motionmag import magnify_frames
from motionmag.allocator import keep_freed_memory
from motionmag.magnify import phase


def complex_step(current: torch.Tensor, previous: torch.Tensor) -> torch.Tensor:
    return torch.angle(current * previous.conj())


def complex_rotation(rotation: torch.Tensor) -> torch.Tensor:
    return torch.polar(torch.ones_like(rotation), rotation) - 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frames", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--fault-freed-memory",
        action="store_true",
        help="leave glibc returning freed blocks to the OS (the Python API's default)",
    )
    args = parser.parse_args()
    torch.set_num_threads(2)
    if not args.fault_freed_memory:
        keep_freed_memory()  # as the command line does (allocator.py)
    width, height = (int(v) for v in args.size.split("x"))
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, (args.frames, height, width, 3), dtype=np.uint8)
    shipped = (phase.phase_step, phase.rotation_change)
    variants = {"real arithmetic (shipped)": shipped, "complex": (complex_step, complex_rotation)}
    fps: dict[str, list[float]] = {name: [] for name in variants}
    outputs = {}
    for _ in range(args.rounds):
        for name, (step, rotation) in variants.items():
            phase.phase_step, phase.rotation_change = step, rotation
            magnify_frames(frames[:2], fps=30.0, method="phase", alpha=10, mode="static")
            start = time.perf_counter()
            outputs[name] = magnify_frames(
                frames, fps=30.0, method="phase", alpha=10, mode="static"
            )
            fps[name].append(args.frames / (time.perf_counter() - start))
    phase.phase_step, phase.rotation_change = shipped
    first, second = (statistics.median(v) for v in fps.values())
    for name, values in fps.items():
        print(f"{name}: {statistics.median(values):.3f} fps (median of {args.rounds})")
    difference = np.abs(
        outputs["real arithmetic (shipped)"].astype(int) - outputs["complex"].astype(int)
    ).max()
    print(f"speed-up x{first / second:.2f}; largest output difference {difference} grey levels")


if __name__ == "__main__":
    main()
