"""FlowMag's speed at 640x360 for both widths (16, ours; 64, the paper's), beside oh2018.

Issue 6 asks for frames per second of both widths. ``motionmag bench`` times the
installed weights only, so this script saves random-weight FlowMag nets of each width
(speed does not depend on the values) and times ``magnify_frames`` end to end (static
mode, reference frame 0) for them and for ``oh2018`` in the same process, one after the
other, repeated ``--runs`` times; fps from the median run, and ratios to oh2018 (these
machines are noisy: only the ratios travel).

    python benchmarks/bench_flowmag_widths.py --json benchmarks/results/bench_flowmag_widths.json
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from motionmag import magnify_frames
from motionmag.nets.flowmag import FlowMagNet
from records import command_line  # benchmarks/records.py


def save_random(width: int, folder: Path) -> Path:
    """A random-weight FlowMag net of ``width`` as safetensors + card; returns the path."""
    from safetensors.torch import save_file

    torch.manual_seed(0)
    net = FlowMagNet(width=width, residual=True, base="linear")
    path = folder / f"flowmag-w{width}.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    card = {"network": {"config": net.config}}
    path.with_suffix(".json").write_text(json.dumps(card))
    return path


def gflops_per_frame(width: int, height: int = 360, frame_width: int = 640) -> float:
    """GFLOPs (2 x multiply-add, ``torch.utils.flop_counter``) of one forward pass of a
    width-``width`` FlowMag net on a ``frame_width`` x ``height`` frame pair."""
    from torch.utils.flop_counter import FlopCounterMode

    net = FlowMagNet(width=width, residual=True, base="linear").eval()
    frame = torch.zeros(1, 3, height, frame_width)
    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        net(frame, frame, 10.0)
    return counter.get_total_flops() / 1e9


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    clip = rng.integers(0, 256, (args.frames, 360, 640, 3), dtype=np.uint8)
    with tempfile.TemporaryDirectory() as folder:
        cases: dict[str, dict] = {"oh2018": {"method": "oh2018"}}
        for width in (16, 64):
            weights = str(save_random(width, Path(folder)))
            cases[f"flowmag width {width}"] = {"method": "flowmag", "weights": weights}
        seconds: dict[str, list[float]] = {name: [] for name in cases}
        for settings in cases.values():  # warm-up pass (allocations, caches)
            magnify_frames(clip[:2], fps=30.0, alpha=10.0, mode="static", **settings)
        for _ in range(args.runs):
            for name, settings in cases.items():
                start = time.perf_counter()
                magnify_frames(clip, fps=30.0, alpha=10.0, mode="static", **settings)
                seconds[name].append(time.perf_counter() - start)
    fps = {name: args.frames / statistics.median(runs) for name, runs in seconds.items()}
    result = {
        "command": command_line(),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}",
        "size": "640x360",
        "frames_per_run": args.frames,
        "runs": args.runs,
        "fps": fps,
        "x_oh2018": {name: value / fps["oh2018"] for name, value in fps.items()},
        "gflops_per_frame": {f"flowmag width {w}": gflops_per_frame(w) for w in (16, 64)},
        "run_seconds": seconds,
    }
    print(json.dumps(result, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")


if __name__ == "__main__":
    main()
