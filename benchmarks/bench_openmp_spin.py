"""torch's OpenMP spin (``GOMP_SPINCOUNT``) on a quiet and on a busy 2-core machine.

``src/motionmag/openmp_spin.py`` shortens how long torch's idle OpenMP threads spin
before they sleep. This measures why: ``--methods`` (default linear and phase in
temporal mode, ha2024-fast in static mode) at ``--size`` in fresh processes, with GNU
OpenMP's default spin (300,000), motionmag's (``SPIN_COUNT``) and one torch thread,
each on a quiet machine and beside a process that keeps one core busy (a Python loop),
alternating, ``--rounds`` times. Prints ms per frame per run and writes the medians.

    python benchmarks/bench_openmp_spin.py --json benchmarks/results/openmp_spin.json
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

from records import write_record  # benchmarks/records.py

#: the settings compared: name -> environment added to the child's
SETTINGS = {
    "libgomp_default_300000": {"GOMP_SPINCOUNT": "300000"},
    "motionmag_default": {},
    "one_thread": {"OMP_NUM_THREADS": "1"},
}
BUSY_LOOP = "while True: pass"


def child(methods: list[str], size: str, frames: int) -> dict:
    """ms per frame of each method over ``frames`` frames, after a 3-frame warm-up."""
    import numpy as np

    from motionmag import magnify_frames
    from motionmag.openmp_spin import SPIN_COUNT

    width, height = (int(v) for v in size.split("x"))
    clip = np.random.default_rng(0).integers(0, 256, (frames, height, width, 3), np.uint8)
    result: dict = {"GOMP_SPINCOUNT": os.environ.get("GOMP_SPINCOUNT"), "ours": SPIN_COUNT}
    for method in methods:
        learned = method not in ("linear", "phase", "riesz", "acceleration")
        mode = {"mode": "static"} if learned else {"mode": "temporal", "band": (1.0, 3.0)}
        magnify_frames(clip[:3], fps=30, method=method, alpha=10, **mode)
        began = time.perf_counter()
        magnify_frames(clip, fps=30, method=method, alpha=10, **mode)
        result[method] = round(1000 * (time.perf_counter() - began) / frames, 2)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", default="linear,phase,ha2024-fast")
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", default=None)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    methods = args.methods.split(",")
    if args.child:
        print(json.dumps(child(methods, args.size, args.frames)))
        return 0
    command = [sys.executable, __file__, "--child", "--methods", args.methods,
               "--size", args.size, "--frames", str(args.frames)]  # fmt: skip
    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "OMP_WAIT_POLICY")}
    runs: dict[str, dict[str, list[dict]]] = {
        load: {name: [] for name in SETTINGS} for load in ("quiet", "busy")
    }
    for _ in range(args.rounds):
        for load in runs:
            busy = subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) if load == "busy" else None
            try:
                for name, extra in SETTINGS.items():
                    out = subprocess.run(command, env={**base, **extra}, capture_output=True,
                                         text=True, check=True)  # fmt: skip
                    runs[load][name].append(json.loads(out.stdout.strip().splitlines()[-1]))
                    print(load, name, runs[load][name][-1], flush=True)
            finally:
                if busy is not None:
                    busy.kill()
                    busy.wait()
    medians = {
        load: {
            name: {m: statistics.median(r[m] for r in rows) for m in methods}
            for name, rows in by_setting.items()
        }
        for load, by_setting in runs.items()
    }
    print(json.dumps(medians, indent=1))
    if args.json:
        unit = "ms per frame, median over rounds"
        write_record(args.json, size=args.size, frames=args.frames, cpus=os.cpu_count(),
                     unit=unit, medians=medians, runs=runs)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
