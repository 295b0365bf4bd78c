"""KL-DNAS's latency lookup table and the LW-MM teacher's stage times on this machine.

What ``motionmag train kl-dnas`` measures when a run starts (``nets/kl_dnas_latency.py``),
written down for both teacher widths (``lwmm``, C = 24: student width 48; ``lwmm-light``,
C = 8: 16): ms per op for one 640x360 frame (features at 1/2 resolution), the fastest
of ``--runs`` after a warm-up, and the teacher's encoder / appearance + manipulator /
decoder time measured the same way (random weights: time does not depend on them)::

    python benchmarks/kl_dnas_latency.py --json benchmarks/results/kl_dnas_latency.json
"""

from __future__ import annotations

import argparse
import json
import platform

import torch

from motionmag.nets.kl_dnas_latency import measure_costs, teacher_latency_ms
from motionmag.nets.lwmm import LWMMNet
from motionmag.nets.thesis_widths import thesis_width
from records import write_record  # benchmarks/records.py


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", choices=("reduced", "full"), default="reduced")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = {}
    for teacher in ("lwmm", "lwmm-light"):
        c = thesis_width(teacher)
        results[teacher] = {
            "student_width": 2 * c,
            "teacher_ms": teacher_latency_ms(LWMMNet(c).eval(), runs=args.runs),
            "lookup_table_ms": measure_costs(2 * c, args.ops, runs=args.runs),
        }
    print(json.dumps(results, indent=1))
    if args.json:
        write_record(args.json, machine=platform.processor() or platform.machine(),
                     threads=args.threads, ops=args.ops, frame="640x360",
                     results=results)  # fmt: skip


if __name__ == "__main__":
    main()
