"""Soak test of ``motionmag live``: a 640x360, 25 fps file played for minutes in real time.

The claim it checks (issue 5, "live input"): the live path keeps up with a 640x360 file
at 25 fps without growing memory or latency over a 5-minute run.

What it does:

1. Writes a clip of ``--seconds`` (+2) seconds, ``--size`` at ``--fps`` (default
   640x360, 25 fps) to a temporary folder as H.264 (.mp4): a real photo (skimage's
   astronaut) shifted sideways by a 0.5 px, 2 Hz sinusoid, as in bench_classical.py.
2. Runs the real command in this process, ``motionmag live CLIP -o OUT.mp4 --method M
   --duration SECONDS --every EVERY --report R.json``: the file is paced at its frame
   rate on the system clock, frames the magnifier cannot keep up with are dropped and
   counted, and every ``--every`` seconds the report records frames in, processed,
   dropped, processing fps, latency (capture to output, mean/p95/max ms over the
   interval) and the process RSS (MiB).
3. Summarises: dropped frames, RSS after a warm-up (``--warmup``) against the end and
   its fitted slope (MiB/min), latency per interval and its fitted slope (ms/min), and
   writes it all to ``--json`` with the machine, threads and load average (this 2-core
   machine is shared, so the load is part of the result).

Threads: torch and the BLAS pools get ``BENCH_THREADS`` (default 2), OpenCV runs in the
calling thread, as in bench_classical.py.

Run::

    BENCH_THREADS=1 nice -n 10 .venv/bin/python benchmarks/live_soak.py --seconds 60 \
        --method linear --json benchmarks/results/live_soak_linear.json
    .venv/bin/python benchmarks/live_soak.py             # the 5-minute run of the issue
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench_classical import THREADS, base_image, machine, parse_size, vibrating_frame

import numpy as np  # isort: skip  (after bench_classical, which pins the thread pools)

from motionmag.cli import main as motionmag_main
from motionmag.video import VideoWriter
from records import command_line  # benchmarks/records.py


def make_clip(path: Path, width: int, height: int, fps: float, seconds: float) -> int:
    """Write the vibrating photo clip; returns the frame count."""
    image = base_image(height, width)
    count = round(seconds * fps)
    with VideoWriter(path, fps, width, height) as writer:
        for t in range(count):
            writer.write(vibrating_frame(image, t, fps=fps))
    return count


def slope_per_min(times_s: list[float], values: list[float]) -> float | None:
    """Least-squares slope of values against time, per minute (None below 3 points)."""
    pairs = [(t, v) for t, v in zip(times_s, values, strict=True) if v is not None]
    if len(pairs) < 3:
        return None
    t, v = np.array(pairs, dtype=np.float64).T
    return float(np.polyfit(t / 60.0, v, 1)[0])


def summarise(report: dict, warmup_s: float) -> dict:
    """Memory and latency over time after ``warmup_s``: start, end, max and fitted slope."""
    steady = [i for i in report["intervals"] if i["elapsed_s"] >= warmup_s]
    times = [i["elapsed_s"] for i in steady]
    rss = [i["rss_mib"] for i in steady]
    mean = [i["latency_mean_ms"] for i in steady]
    p95 = [i["latency_p95_ms"] for i in steady]
    quarter = max(1, len(steady) // 4)
    summary = {
        "kept_up": report["frames_dropped"] == 0,
        "frames_in": report["frames_in"],
        "frames_processed": report["frames_processed"],
        "frames_dropped": report["frames_dropped"],
        "processing_fps": report["processing_fps"],
        "source_fps": report["source_fps"],
        "magnify_ms_mean": report["magnify_ms_mean"],
        "latency_ms": {
            "mean": report["latency_mean_ms"],
            "p95": report["latency_p95_ms"],
            "max": report["latency_max_ms"],
            "first_quarter_mean": float(np.mean(mean[:quarter])) if steady else None,
            "last_quarter_mean": float(np.mean(mean[-quarter:])) if steady else None,
            "interval_p95_max": max(p95) if p95 else None,
            "slope_ms_per_min": slope_per_min(times, mean),
        },
        "rss_mib": {
            "after_warmup": rss[0] if rss else None,
            "end": rss[-1] if rss else None,
            "max": max(r for r in rss if r is not None) if rss else None,
            "growth_after_warmup": (rss[-1] - rss[0]) if len(rss) >= 2 else None,
            "slope_mib_per_min": slope_per_min(times, rss),
        },
        "warmup_s": warmup_s,
    }
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="run length (default 300)")
    parser.add_argument("--method", default="linear")
    parser.add_argument("--mode", default="static", choices=("static", "dynamic", "temporal"))
    parser.add_argument("--alpha", type=float, default=10.0)
    parser.add_argument("--band", nargs=2, type=float, default=None, metavar=("LOW", "HIGH"))
    parser.add_argument("--size", default="640x360", help="WxH (default 640x360)")
    parser.add_argument("--fps", type=float, default=25.0, help="clip frame rate (default 25)")
    parser.add_argument("--every", type=float, default=5.0, help="sample period in s")
    parser.add_argument("--warmup", type=float, default=10.0, help="seconds before steady state")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument(
        "--set",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method option passed to motionmag live (repeatable), e.g. precision=bf16",
    )
    parser.add_argument(
        "--queue", dest="queue_frames", type=int, default=None, help="motionmag live's --queue"
    )
    parser.add_argument("--resize", default=None, help="motionmag live's --resize (W[xH], or auto)")
    parser.add_argument(
        "--writer-in-loop",
        action="store_true",
        help="encode the output in the magnifier's thread (before 2026-12-02), not in a "
        "thread of its own: for an A/B of the two",
    )
    parser.add_argument(
        "--codec-threads-auto",
        action="store_true",
        help="let FFmpeg choose the decoder's and encoder's threads at every size (before "
        "2026-12-02), not one each at small sizes: for an A/B of the two",
    )
    parser.add_argument(
        "--helper-nice",
        type=int,
        default=None,
        help="nice value added to the reader's and writer's threads (default: motionmag's, "
        "live/priority.py, 0: none): for an A/B",
    )
    args = parser.parse_args(argv)
    height, width = parse_size(args.size)
    if args.writer_in_loop:
        import motionmag.live.sinks as sinks

        sinks.ENCODE_IN_BACKGROUND = False
    if args.codec_threads_auto:
        import motionmag.video.live_source as live_source

        live_source.LIVE_SINGLE_CODEC_THREAD_MAX_PIXELS = None
    import motionmag.live.priority as priority

    if args.helper_nice is not None:
        priority.HELPER_NICENESS = args.helper_nice

    with tempfile.TemporaryDirectory(prefix="live_soak_") as folder:
        clip, out, raw = Path(folder, "clip.mp4"), Path(folder, "out.mp4"), Path(folder, "r.json")
        began = time.perf_counter()
        frames = make_clip(clip, width, height, args.fps, args.seconds + 2.0)
        print(
            f"clip: {frames} frames {width}x{height} at {args.fps:g} fps "
            f"({time.perf_counter() - began:.0f} s to write)",
            file=sys.stderr,
        )
        command = [
            "live",
            str(clip),
            "-o",
            str(out),
            "--method",
            args.method,
            "--mode",
            args.mode,
            "--alpha",
            str(args.alpha),
            "--duration",
            str(args.seconds),
            "--every",
            str(args.every),
            "--report",
            str(raw),
        ]
        extra = ["--band", *map(str, args.band)] if args.band else []
        extra += [word for option in args.options for word in ("--set", option)]
        if args.queue_frames is not None:
            extra += ["--queue", str(args.queue_frames)]
        if args.resize is not None:
            extra += ["--resize", args.resize]
        command[-2:-2] = extra  # before --report R.json, which the record leaves out
        load_before = os.getloadavg()
        code = motionmag_main(command)
        load_after = os.getloadavg()
        if code != 0:
            print(f"motionmag live failed with status {code}", file=sys.stderr)
            return code
        report = json.loads(raw.read_text())

    summary = summarise(report, args.warmup)
    result = {
        "benchmark": "live_soak",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "threads": THREADS,
        "load_average_1min": {"before": load_before[0], "after": load_after[0]},
        "writer": "in the magnifier's thread" if args.writer_in_loop else "own thread",
        "codec_threads": "FFmpeg's choice" if args.codec_threads_auto else "1 up to 960x540",
        "helper_nice": priority.HELPER_NICENESS,
        "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
        "command": command_line(),
        "live_command": " ".join(["motionmag", "live", "CLIP.mp4", "-o", "OUT.mp4",
                                  *command[4:-2]]),
        "clip": {"width": width, "height": height, "fps": args.fps, "frames": frames,
                 "content": "astronaut photo, 0.5 px 2 Hz sideways vibration, H.264 crf 18"},
        "summary": summary,
        "report": report,
    }  # fmt: skip
    print(json.dumps(summary, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
